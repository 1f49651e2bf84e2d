/**
 * Protocol upgrades over plain HTTP (WebSocket's `Upgrade: websocket`, h2c…): the handshake is
 * forwarded and recorded as an exchange; after a `101 Switching Protocols` both connections are
 * spliced and relayed untouched until either side closes. For a WebSocket, a copy of each
 * direction is also read into messages (`ws-frames.ts`), emitted on `wsMessage`; the relay writes
 * every chunk before it is parsed, so reading never delays or alters a byte.
 */
import http from 'node:http';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { headerValue, headerValues, type FlowError } from '../../src-common/flow';
import type { EngineContext } from './context';
import { errorBody, statusFor, tunnelIdleError, upstreamError } from './errors';
import {
  forwardHeaders,
  rawHead,
  rawTextResponse,
  responseRecord,
  toFlat,
  withHost,
} from './headers';
import type { Exchange } from './hooks';
import { bareHost, originForm, type UpstreamProxy } from './upstream';
import { WsSession } from './ws-frames';

/** A message reader for the connection when its handshake asked for a WebSocket. */
function webSocketSession(ctx: EngineContext, ex: Exchange): WsSession | undefined {
  const upgrade = headerValue(ex.request.headers, 'upgrade') ?? '';
  if (!upgrade.split(',').some((p) => p.trim().toLowerCase() === 'websocket')) return undefined;
  // Nobody listening (capture off): relay only, read nothing.
  if (!ctx.hooks.has('wsMessage')) return undefined;
  const extensions = headerValues(ex.response?.headers ?? [], 'sec-websocket-extensions');
  const session = new WsSession({
    ...(extensions.length ? { extensions: extensions.join(', ') } : {}),
    onMessage: (msg) => ctx.hooks.emit('wsMessage', ex, msg),
  });
  ex.websocket = session.summary;
  return session;
}

export function handleUpgrade(
  ctx: EngineContext,
  ex: Exchange,
  req: IncomingMessage,
  client: Socket,
  head: Buffer,
  target: URL,
): void {
  ex.server = { host: bareHost(target.hostname), port: target.port ? Number(target.port) : 80 };
  ex.tags.push('upgrade');
  let done = false;
  const finish = (error?: FlowError): void => {
    if (done) return;
    done = true;
    if (error) {
      ex.error = error;
      ctx.hooks.emit('error', ex);
    } else {
      ctx.hooks.emit('response', ex);
    }
  };

  // Upgraded connections are long-lived: each gets its own, outside the pool.
  let upReq: http.ClientRequest;
  let via: UpstreamProxy | undefined;
  try {
    ({ req: upReq, via } = ctx.upstream.request(
      target,
      ex.request.method,
      withHost(forwardHeaders(ex.request.headers, { keepUpgrade: true }), target.host),
      { pooled: false, path: originForm(req.url ?? '', target) },
    ));
  } catch (err) {
    const message = `The request cannot be forwarded: ${(err as Error).message}.`;
    client.end(rawTextResponse(400, `${message}\n`));
    ex.error = { code: 'bad_request', message, phase: 'request' };
    ctx.hooks.emit('error', ex);
    return;
  }
  upReq.once('socket', (socket) => {
    socket.once('connect', () => {
      if (socket.remoteAddress) ex.server = { ...ex.server!, address: socket.remoteAddress };
    });
  });
  upReq.once('upgrade', (upRes, upSocket, upHead) => {
    ex.response = responseRecord(upRes);
    client.write(rawHead(ex.response.status, ex.response.statusText, upRes.rawHeaders));
    // Count only what flows after the handshake: the heads are not payload.
    const sentBefore = upSocket.bytesWritten;
    const readBefore = upSocket.bytesRead - upHead.length;
    const ws = upRes.statusCode === 101 ? webSocketSession(ctx, ex) : undefined;
    if (upHead.length) client.write(upHead);
    if (head.length) upSocket.write(head);
    ws?.fromServer(upHead);
    ws?.fromClient(head);
    /** Set when the tunnel idle limit closed the connection (off by default). */
    let idled: FlowError | undefined;
    const close = (): void => {
      ex.request.bodySize = upSocket.bytesWritten - sentBefore;
      ex.response!.bodySize = upSocket.bytesRead - readBefore;
      client.destroy();
      upSocket.destroy();
      // The exchange ends once messages still being decompressed have been emitted.
      if (!ws) {
        finish(idled);
        return;
      }
      void ws.settled().then(() => {
        ws.dispose();
        finish(idled);
      });
    };
    // A WebSocket may rightly be quiet for hours: only the tunnel limit applies, off by default.
    const idle = ctx.options.tunnelIdleTimeoutMs;
    if (idle > 0) {
      client.setTimeout(idle, () => {
        const asked = headerValue(ex.request.headers, 'upgrade') ?? '';
        idled = tunnelIdleError(idle, /websocket/i.test(asked) ? 'WebSocket' : 'connection');
        close();
      });
    }
    upSocket.on('error', close);
    client.on('error', close);
    upSocket.on('close', close);
    client.on('close', close);
    upSocket.pipe(client);
    client.pipe(upSocket);
    // Added after pipe(): each chunk is written on before it is read here.
    if (ws) {
      upSocket.on('data', (chunk: Buffer) => ws.fromServer(chunk));
      client.on('data', (chunk: Buffer) => ws.fromClient(chunk));
    }
  });
  upReq.once('response', (upRes) => {
    // The server declined the upgrade: relay its answer and end the exchange.
    ex.response = responseRecord(upRes);
    // A client gone before the end leaves nobody to relay to: the server's answer is cut.
    const clientGone = (): void => {
      if (done) return;
      upReq.destroy();
      finish({
        code: 'client_aborted',
        message: 'The client closed the connection before the exchange finished.',
        phase: 'response',
      });
    };
    if (client.destroyed) return clientGone();
    client.once('close', clientGone);
    // Close-delimited, so no framing needs rewriting whatever the server used.
    const relayed = forwardHeaders(ex.response.headers).filter(([n]) => {
      const lower = n.toLowerCase();
      return lower !== 'transfer-encoding' && lower !== 'content-length';
    });
    relayed.push(['Connection', 'close']);
    client.write(rawHead(ex.response.status, ex.response.statusText, toFlat(relayed)));
    // Read no faster than the client takes the bytes: the answer may be endless.
    upRes.on('data', (chunk: Buffer) => {
      ex.response!.bodySize += chunk.length;
      ctx.hooks.emit('responseBody', ex, chunk);
      if (!client.write(chunk)) {
        upRes.pause();
        client.once('drain', () => upRes.resume());
      }
    });
    upRes.on('end', () => {
      client.end();
      finish();
    });
    // A server that resets before its answer ended: the client is cut too, and told nothing more.
    upRes.on('error', () => undefined);
    upRes.once('close', () => {
      if (upRes.complete || done) return;
      client.destroy();
      const reset = Object.assign(new Error('reset'), { code: 'ECONNRESET' });
      finish(upstreamError(reset, target.host, 'response', via?.display));
    });
  });
  upReq.once('error', (err) => {
    if (!ex.response && client.writable) {
      const error = upstreamError(err, target.host, 'connect', via?.display);
      client.end(
        rawTextResponse(statusFor(error), errorBody(error), ['X-Loupe-Error', error.code]),
      );
    } else {
      client.destroy();
    }
    finish(upstreamError(err, target.host, ex.response ? 'response' : 'connect', via?.display));
  });
  ctx.hooks.emit('request', ex);
  upReq.end();
}
