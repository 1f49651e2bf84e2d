/**
 * CONNECT: opens a TCP connection to the requested host (directly or through the upstream
 * proxy), answers 200, and relays bytes both ways untouched. The relay is recorded as a tunnel
 * flow: target, whether the client spoke TLS, bytes each way, duration.
 */
import net from 'node:net';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { EngineContext } from './context';
import { errorBody, statusFor, upstreamError } from './errors';
import { rawTextResponse } from './headers';
import type { Tunnel } from './hooks';

/** Parses a CONNECT authority (`host:port`, `[v6]:port`); undefined when malformed. */
export function parseAuthority(authority: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([0-9a-fA-F:.%]+)\]|([^\s:/[\]@]+)):(\d{1,5})$/.exec(authority);
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return undefined;
  const host = m[1] ?? m[2]!;
  if (m[1] !== undefined && !net.isIPv6(host)) return undefined;
  return { host, port };
}

/**
 * Handles a CONNECT request. `reenter` feeds a socket back to the listener as if it were a new
 * connection; it is used when the client CONNECTs to the proxy itself.
 */
export function handleConnect(
  ctx: EngineContext,
  req: IncomingMessage,
  client: Socket,
  head: Buffer,
  reenter: (socket: Socket) => void,
): void {
  const target = parseAuthority(req.url ?? '');
  if (!target) {
    client.end(
      rawTextResponse(
        400,
        `CONNECT needs a target of the form host:port; '${req.url}' is not one.\n`,
      ),
    );
    return;
  }
  if (ctx.isSelf(target.host, target.port)) {
    client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    if (head.length) client.unshift(head);
    reenter(client);
    return;
  }

  const tunnel: Tunnel = {
    id: ctx.newId(),
    startedAt: Date.now(),
    client: { address: client.remoteAddress ?? '', port: client.remotePort ?? 0 },
    target: { host: target.host, port: target.port },
    protocol: 'unknown',
    bytesUp: 0,
    bytesDown: 0,
    tags: [],
  };
  const t0 = performance.now();
  ctx.hooks.emit('tunnelOpen', tunnel);

  let upstream: Socket | undefined;
  let closed = false;
  const report = (): void => {
    closed = true;
    tunnel.durationMs = Math.round(performance.now() - t0);
    ctx.hooks.emit('tunnelClose', tunnel);
  };
  const close = (err?: unknown): void => {
    if (closed) return;
    if (upstream) {
      tunnel.bytesUp = upstream.bytesWritten;
      tunnel.bytesDown = upstream.bytesRead;
    }
    if (err && !tunnel.error) tunnel.error = upstreamError(err, req.url ?? '', 'tunnel');
    client.destroy();
    upstream?.destroy();
    report();
  };

  const bypassed = ctx.isBypassed(target.host, target.port);
  if (bypassed) tunnel.tags.push('bypassed');
  const sniff = (chunk: Buffer): void => {
    tunnel.protocol = chunk[0] === 0x16 ? 'tls' : 'unknown';
    tunnel.reason = bypassed
      ? 'On the SSL bypass list: relayed without decryption.'
      : tunnel.protocol === 'tls'
        ? 'TLS relayed without decryption: HTTPS interception is not enabled in this build.'
        : 'The client did not start TLS; the bytes were relayed as they are.';
  };
  if (head.length) sniff(head);
  else client.once('data', sniff);
  client.pause();
  client.on('error', () => close());

  ctx.upstream.openTunnel(target.host, target.port, ctx.options.upstreamTimeoutMs).then(
    ({ socket, address }) => {
      upstream = socket;
      if (address) tunnel.target.address = address;
      if (ctx.upstream.proxyFor(target.host, target.port)) tunnel.tags.push('upstream-proxy');
      if (client.destroyed) {
        close();
        return;
      }
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) socket.write(head);
      socket.on('error', (err) => close(err));
      socket.on('close', () => close());
      client.on('close', () => close());
      client.pipe(socket);
      socket.pipe(client);
      client.resume();
    },
    (err: unknown) => {
      const error = upstreamError(err, `${target.host}:${target.port}`, 'connect');
      tunnel.error = error;
      if (!client.destroyed) {
        client.end(
          rawTextResponse(statusFor(error), errorBody(error), ['X-Loupe-Error', error.code]),
        );
      }
      if (!closed) report();
    },
  );
}
