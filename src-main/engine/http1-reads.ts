/**
 * Seeing each read of a client connection that Node's HTTP/1 server parses, without taking the
 * parsing out of C++.
 *
 * Node's server gives a socket's handle to its native parser, which reads it directly, until
 * anything listens for 'data' on the socket: from then on every read becomes a Buffer and a
 * stream event in JavaScript, and the parser is fed from there, for the rest of the connection.
 * Watching heads with a 'data' listener cost keep-alive HTTPS through Loupe some 5-10% more CPU
 * per request (bench/README.md). The native parser calls back into JavaScript after each read
 * anyway (the server's `kOnExecute` callback, during which `getCurrentBuffer()` copies that read);
 * wrapping the callback sees every read for the price of a function call. Those are Node
 * internals, so they are checked: without them a 'data' listener does the same job, slower.
 */
import type { Socket } from 'node:net';

/** What this module uses of Node's internal HTTPParser, as the server leaves it on `socket.parser`. */
interface NativeParser {
  constructor: { kOnExecute?: unknown };
  getCurrentBuffer?: () => Buffer;
  [key: number]: unknown;
}

/** Called after a read was parsed; `bytes()` copies that read, and only during the call. */
export type OnRead = (bytes: () => Buffer) => void;

/**
 * Calls `onRead` for each read the HTTP server parses from `socket`, which it must have been
 * given (its 'connection' event) with `first`, the read before, unshifted and not yet resumed:
 * `first` is reported now, before the server parses it, later reads once parsed. Returns a
 * function that stops the calls.
 */
export function watchReads(socket: Socket, first: Buffer, onRead: OnRead): () => void {
  const parser = (socket as { parser?: NativeParser }).parser;
  const key = parser?.constructor.kOnExecute;
  const parsed = typeof key === 'number' ? parser![key] : undefined;
  if (typeof parsed !== 'function' || typeof parser!.getCurrentBuffer !== 'function') {
    // Once the server has parsed it, as every later read.
    const onData = (chunk: Buffer): void => onRead(() => chunk);
    socket.on('data', onData);
    return () => void socket.removeListener('data', onData);
  }
  const copy = (): Buffer => parser!.getCurrentBuffer!();
  let watching = true;
  // The server freeing the parser (close, upgrade, CONNECT) drops this wrapper with it.
  const wrapper = (...args: unknown[]): unknown => {
    const result: unknown = (parsed as (...a: unknown[]) => unknown)(...args);
    if (watching) onRead(copy);
    return result;
  };
  parser![key as number] = wrapper;
  onRead(() => first);
  return () => {
    watching = false;
    if (parser![key as number] === wrapper) parser![key as number] = parsed;
  };
}
