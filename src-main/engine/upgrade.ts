/**
 * Protocol upgrades over plain HTTP (WebSocket's `Upgrade: websocket`, h2c…): the handshake is
 * forwarded and recorded as an exchange; after a `101 Switching Protocols` both connections are
 * spliced and relayed untouched until either side closes. Message capture arrives with the
 * WebSocket work of the HTTPS issue.
 */
import http from 'node:http';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { EngineContext } from './context';
import { errorBody, statusFor, upstreamError } from './errors';
import { forwardHeaders, toFlat, toPairs } from './headers';
import type { Exchange } from './hooks';
import { bareHost } from './upstream';

/** Writes an HTTP/1.1 response head (and optional body) on a raw socket. */
function writeHead(
  socket: Socket,
  status: number,
  statusText: string,
  rawHeaders: string[],
  body?: string,
): void {
  let head = `HTTP/1.1 ${status} ${statusText}\r\n`;
  for (let i = 0; i < rawHeaders.length; i += 2)
    head += `${rawHeaders[i]}: ${rawHeaders[i + 1]}\r\n`;
  socket.write(`${head}\r\n`);
  if (body) socket.write(body);
}

export function handleUpgrade(
  ctx: EngineContext,
  ex: Exchange,
  req: IncomingMessage,
  client: Socket,
  head: Buffer,
  target: URL,
): void {
  const opts = ctx.upstream.requestOptions(target, ex.request.method);
  const via = opts.via;
  delete opts.via;
  const headers = forwardHeaders(ex.request.headers, { keepUpgrade: true });
  if (via?.authorization) headers.push(['Proxy-Authorization', via.authorization]);
  ex.server = { host: bareHost(target.hostname), port: target.port ? Number(target.port) : 80 };
  ex.tags.push('upgrade');
  let done = false;
  const finish = (err?: unknown): void => {
    if (done) return;
    done = true;
    if (err) {
      ex.error = upstreamError(
        err,
        target.host,
        ex.response ? 'response' : 'connect',
        via?.display,
      );
      ctx.hooks.emit('error', ex);
    } else {
      ctx.hooks.emit('response', ex);
    }
  };

  // Upgraded connections are long-lived: no pooling, no idle timeout from the pool.
  const upReq = http.request({
    ...opts,
    agent: false,
    headers: toFlat(headers) as unknown as http.OutgoingHttpHeaders,
  });
  upReq.once('socket', (socket) => {
    socket.once('connect', () => {
      if (socket.remoteAddress) ex.server = { ...ex.server!, address: socket.remoteAddress };
    });
  });
  upReq.once('upgrade', (upRes, upSocket, upHead) => {
    ex.response = {
      status: upRes.statusCode ?? 101,
      statusText: upRes.statusMessage ?? 'Switching Protocols',
      httpVersion: `HTTP/${upRes.httpVersion}`,
      headers: toPairs(upRes.rawHeaders),
      trailers: [],
      bodySize: 0,
    };
    writeHead(client, ex.response.status, ex.response.statusText, upRes.rawHeaders);
    // Count only what flows after the handshake: the heads are not payload.
    const sentBefore = upSocket.bytesWritten;
    const readBefore = upSocket.bytesRead - upHead.length;
    if (upHead.length) client.write(upHead);
    if (head.length) upSocket.write(head);
    const close = (): void => {
      ex.request.bodySize = upSocket.bytesWritten - sentBefore;
      ex.response!.bodySize = upSocket.bytesRead - readBefore;
      client.destroy();
      upSocket.destroy();
      finish();
    };
    upSocket.on('error', close);
    client.on('error', close);
    upSocket.on('close', close);
    client.on('close', close);
    upSocket.pipe(client);
    client.pipe(upSocket);
  });
  upReq.once('response', (upRes) => {
    // The server declined the upgrade: relay its answer and end the exchange.
    ex.response = {
      status: upRes.statusCode ?? 0,
      statusText: upRes.statusMessage ?? '',
      httpVersion: `HTTP/${upRes.httpVersion}`,
      headers: toPairs(upRes.rawHeaders),
      trailers: [],
      bodySize: 0,
    };
    // Close-delimited, so no framing needs rewriting whatever the server used.
    const relayed = forwardHeaders(ex.response.headers).filter(([n]) => {
      const lower = n.toLowerCase();
      return lower !== 'transfer-encoding' && lower !== 'content-length';
    });
    relayed.push(['Connection', 'close']);
    writeHead(client, ex.response.status, ex.response.statusText, toFlat(relayed));
    upRes.on('data', (chunk: Buffer) => {
      ex.response!.bodySize += chunk.length;
      ctx.hooks.emit('responseBody', ex, chunk);
      client.write(chunk);
    });
    upRes.on('end', () => {
      client.end();
      finish();
    });
  });
  upReq.once('error', (err) => {
    if (!ex.response && client.writable) {
      const error = upstreamError(err, target.host, 'connect', via?.display);
      const body = errorBody(error);
      const status = statusFor(error);
      writeHead(
        client,
        status,
        http.STATUS_CODES[status] ?? 'Bad Gateway',
        [
          'Content-Type',
          'text/plain; charset=utf-8',
          'Content-Length',
          String(Buffer.byteLength(body)),
          'Connection',
          'close',
        ],
        body,
      );
      client.end();
    } else {
      client.destroy();
    }
    finish(err);
  });
  ctx.hooks.emit('request', ex);
  upReq.end();
}
