/**
 * The raw relay of a tunnel Loupe does not read: a bypassed or undecryptable CONNECT
 * (tunnel.ts), and decrypted bytes that are not HTTP (intercept.ts).
 */
import type { Duplex } from 'node:stream';
import type { EngineContext } from './context';
import { tunnelIdleError } from './errors';
import type { Tunnel } from './hooks';

/**
 * Joins `client` and `upstream` both ways until either closes. Each direction is a pipe, so a
 * side is read no faster than the other side's writes drain (backpressure both ways), and an
 * end is passed on as an end (half-close). `close` runs on an upstream error (with it) and on
 * either socket's close; it may run more than once and must act only the first time. The
 * client's errors stay with the caller, which listens for them before it connects upstream.
 */
export function splice(client: Duplex, upstream: Duplex, close: (err?: unknown) => void): void {
  upstream.on('error', (err) => close(err));
  upstream.on('close', () => close());
  client.on('close', () => close());
  client.pipe(upstream);
  upstream.pipe(client);
  // A client the caller paused while it connected upstream starts flowing again.
  client.resume();
}

/**
 * A tunnel's splice with its idle limit (`tunnelIdleTimeoutMs`, off at 0): past that long with
 * no bytes either way, the tunnel says so and is closed.
 */
export function spliceTunnel(
  ctx: EngineContext,
  tunnel: Tunnel,
  client: Duplex & { setTimeout(ms: number, cb: () => void): unknown },
  upstream: Duplex,
  close: (err?: unknown) => void,
): void {
  splice(client, upstream, close);
  // Off by default: a tunnel may rightly be quiet for hours (a chat app, a push channel).
  const idle = ctx.options.tunnelIdleTimeoutMs;
  if (idle > 0) {
    client.setTimeout(idle, () => {
      tunnel.error ??= tunnelIdleError(idle, 'tunnel');
      close();
    });
  }
}
