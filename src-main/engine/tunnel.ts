/**
 * CONNECT, and TLS arriving directly on the proxy port. When HTTPS interception is on (a CA is
 * loaded), Loupe answers CONNECT at once, reads the client's ClientHello and decides:
 *
 * - the CONNECT host, then the SNI, is on the SSL bypass list → a raw tunnel (TCP flow);
 * - the client does not speak TLS, offers only non-HTTP protocols (ALPN), or names a host no
 *   certificate can carry → a raw tunnel, with the reason in words;
 * - otherwise → TLS is terminated with a leaf for the SNI (else the CONNECT host) and the
 *   decrypted connection is handed to the proxy's HTTP server for that origin.
 *
 * A failed client handshake becomes a "TLS handshake failed" flow saying in words what most
 * likely happened, and is reported on the `tlsHandshake` hook (the bypass-learning addon's
 * input). Without a CA every CONNECT is a raw tunnel, connected before it is answered.
 */
import net from 'node:net';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type tls from 'node:tls';
import { parseClientHello, type ClientHello } from './client-hello';
import type { EngineContext } from './context';
import { errorBody, statusFor, upstreamError } from './errors';
import { rawTextResponse } from './headers';
import type { Tunnel } from './hooks';
import { failedHandshake, intercept, type TlsDeps } from './intercept';
import { spliceTunnel } from './splice';

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

function newTunnel(ctx: EngineContext, client: Socket, host: string, port: number): Tunnel {
  return {
    id: ctx.newId(),
    startedAt: Date.now(),
    client: { address: client.remoteAddress ?? '', port: client.remotePort ?? 0 },
    target: { host, port },
    protocol: 'unknown',
    bytesUp: 0,
    bytesDown: 0,
    tags: [],
  };
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
  deps: TlsDeps,
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
  const tunnel = newTunnel(ctx, client, target.host, target.port);
  if (ctx.isBypassed(target.host, target.port)) {
    tunnel.tags.push('bypassed');
    relayRaw(
      ctx,
      tunnel,
      client,
      head,
      false,
      deps,
      'On the SSL bypass list: relayed without decryption.',
    );
    return;
  }
  if (!ctx.tls) {
    relayRaw(ctx, tunnel, client, head, false, deps, undefined);
    return;
  }
  client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
  readHello(ctx, tunnel, client, head, deps, target);
}

/** TLS sent straight to the proxy port (a transparent or `--resolve`d client): SNI decides. */
export function handleDirectTls(ctx: EngineContext, client: Socket, deps: TlsDeps): void {
  const tunnel = newTunnel(ctx, client, '', 443);
  readHello(ctx, tunnel, client, Buffer.alloc(0), deps, undefined);
}

/** Buffers the client's first bytes until its ClientHello is complete, then decides. */
function readHello(
  ctx: EngineContext,
  tunnel: Tunnel,
  client: Socket,
  head: Buffer,
  deps: TlsDeps,
  target: { host: string; port: number } | undefined,
): void {
  let buffered = head;
  // A client that CONNECTs and then says nothing is closed like any connection that never asks.
  const timer = setTimeout(() => client.destroy(), ctx.options.firstRequestTimeoutMs);
  const stop = (): void => {
    clearTimeout(timer);
    client.removeListener('data', onData);
    client.removeListener('end', onEnd);
    client.pause();
  };
  const onEnd = (): void => {
    stop();
    client.destroy();
  };
  /** Not something Loupe decrypts: relayed raw after CONNECT, closed when sent to the port. */
  const giveUp = (reason: string): true => {
    stop();
    if (target) relayRaw(ctx, tunnel, client, buffered, true, deps, reason);
    else client.destroy();
    return true;
  };
  const decide = (): boolean => {
    if (buffered.length === 0) return false;
    if (buffered[0] !== 0x16) {
      return giveUp('The client did not start TLS; the bytes were relayed as they are.');
    }
    tunnel.protocol = 'tls';
    const result = parseClientHello(buffered);
    if (result.kind === 'more') return false;
    if (result.kind === 'invalid') {
      return giveUp(`TLS relayed without decryption: ${result.reason}.`);
    }
    stop();
    onHello(ctx, tunnel, client, buffered, result.hello, deps, target);
    return true;
  };
  const onData = (chunk: Buffer): void => {
    buffered = buffered.length ? Buffer.concat([buffered, chunk]) : chunk;
    decide();
  };
  client.on('error', () => client.destroy());
  if (decide()) return;
  client.on('data', onData);
  client.once('end', onEnd);
  client.resume();
}

const HTTP_ALPN = new Set(['http/1.1', 'http/1.0', 'h2']);

function onHello(
  ctx: EngineContext,
  tunnel: Tunnel,
  client: Socket,
  buffered: Buffer,
  hello: ClientHello,
  deps: TlsDeps,
  target: { host: string; port: number } | undefined,
): void {
  tunnel.hello = {
    ...(hello.serverName ? { sni: hello.serverName } : {}),
    alpn: hello.alpn,
    versions: hello.versions,
  };
  const sni = hello.serverName;
  const raw = (reason: string): void => relayRaw(ctx, tunnel, client, buffered, true, deps, reason);
  if (!target) {
    // Straight to the port: the SNI is the only address there is.
    if (!sni) {
      // No server name: the flow is named after the address the client connected to (Loupe's
      // own), a real URL that HAR readers accept, and its reason says why.
      tunnel.target.host = client.localAddress ?? '';
      tunnel.target.port = client.localPort ?? tunnel.target.port;
      tunnel.reason =
        'No server name (SNI) in the ClientHello: the address shown is the one the client connected to, the proxy port itself.';
      failedHandshake(
        ctx,
        tunnel,
        client,
        'other',
        'TLS arrived directly on the proxy port without a server name (SNI), so Loupe cannot tell which server it is for. Configure the client to use Loupe as its proxy instead.',
      );
      return;
    }
    tunnel.target.host = sni;
    if (ctx.isSelf(sni, tunnel.target.port) === false && ctx.isBypassed(sni, tunnel.target.port)) {
      tunnel.tags.push('bypassed');
      raw('Its server name (SNI) is on the SSL bypass list: relayed without decryption.');
      return;
    }
  } else if (sni && sni !== target.host.toLowerCase() && ctx.isBypassed(sni, target.port)) {
    tunnel.tags.push('bypassed');
    raw(`Its server name (SNI ${sni}) is on the SSL bypass list: relayed without decryption.`);
    return;
  }
  if (hello.alpn.length > 0 && !hello.alpn.some((p) => HTTP_ALPN.has(p))) {
    raw(
      `The client asked for ${hello.alpn.join(', ')} over TLS, not HTTP; relayed without decryption.`,
    );
    return;
  }
  const host = sni ?? tunnel.target.host;
  let context: tls.SecureContext;
  try {
    context = ctx.tls!.contextFor(host);
  } catch (err) {
    raw(`Not decrypted: ${(err as Error).message}.`);
    return;
  }
  intercept(ctx, tunnel, client, buffered, hello, context, host, deps);
}

/**
 * Relays a connection as raw bytes. `answered`: the client already has its 200 (interception
 * was on and the ClientHello decided against it); `head` is what it sent so far.
 */
function relayRaw(
  ctx: EngineContext,
  tunnel: Tunnel,
  client: Socket,
  head: Buffer,
  answered: boolean,
  deps: TlsDeps,
  reason: string | undefined,
): void {
  const t0 = performance.now();
  const { host, port } = tunnel.target;
  if (reason) tunnel.reason = reason;
  ctx.hooks.emit('tunnelOpen', tunnel);

  let upstream: Socket | undefined;
  let closed = false;
  const forget = deps.track({
    host,
    port,
    ...(tunnel.hello?.sni ? { sni: tunnel.hello.sni } : {}),
    intercepted: false,
    bypassed: tunnel.tags.includes('bypassed'),
    close: () => close(),
  });
  const report = (): void => {
    closed = true;
    forget();
    tunnel.durationMs = Math.round(performance.now() - t0);
    ctx.hooks.emit('tunnelClose', tunnel);
  };
  const close = (err?: unknown): void => {
    if (closed) return;
    if (upstream) {
      tunnel.bytesUp = upstream.bytesWritten;
      tunnel.bytesDown = upstream.bytesRead;
    }
    if (err && !tunnel.error) tunnel.error = upstreamError(err, `${host}:${port}`, 'tunnel');
    client.destroy();
    upstream?.destroy();
    report();
  };

  const sniff = (chunk: Buffer): void => {
    tunnel.protocol = chunk[0] === 0x16 ? 'tls' : 'unknown';
    tunnel.reason ??=
      tunnel.protocol === 'tls'
        ? 'TLS relayed without decryption: HTTPS interception is off (no CA loaded).'
        : 'The client did not start TLS; the bytes were relayed as they are.';
  };
  if (head.length) sniff(head);
  else client.once('data', sniff);
  client.pause();
  client.on('error', () => close());

  ctx.upstream.openTunnel(host, port, ctx.options.upstreamTimeoutMs).then(
    ({ socket, address }) => {
      upstream = socket;
      if (address) tunnel.target.address = address;
      if (ctx.upstream.proxyFor(host, port)) tunnel.tags.push('upstream-proxy');
      if (client.destroyed) {
        close();
        return;
      }
      if (!answered) client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) socket.write(head);
      spliceTunnel(ctx, tunnel, client, socket, close);
    },
    (err: unknown) => {
      const error = upstreamError(err, `${host}:${port}`, 'connect');
      tunnel.error = error;
      if (!client.destroyed) {
        if (answered) client.destroy();
        else {
          client.end(
            rawTextResponse(statusFor(error), errorBody(error), ['X-Loupe-Error', error.code]),
          );
        }
      }
      if (!closed) report();
    },
  );
}
