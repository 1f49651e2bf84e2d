/**
 * TLS termination for a connection the ClientHello decided to decrypt (tunnel.ts decides):
 * Loupe's leaf is presented, the decrypted connection is handed to the proxy's HTTP servers,
 * and a failed client handshake becomes a "TLS handshake failed" flow in words plus a
 * `tlsHandshake` report (pinning detection's input). Decrypted bytes that are not HTTP are
 * relayed over Loupe's own TLS connection to the server.
 */
import type { Socket } from 'node:net';
import tls from 'node:tls';
import type { TlsLeg } from '../../src-common/flow';
import type { ClientHello } from './client-hello';
import type { EngineContext } from './context';
import { upstreamError } from './errors';
import type { HandshakeFailureKind, Tunnel } from './hooks';
import { spliceTunnel } from './splice';

/** How long a client may take to complete its TLS handshake with Loupe. */
export const HANDSHAKE_TIMEOUT_MS = 10_000;
/**
 * A client that completes the handshake and closes within this window without sending a byte
 * most likely checked the certificate after the handshake and disliked it (pinning).
 */
export const SILENT_CLOSE_WINDOW_MS = 2_000;

/** A decrypted client connection: where its requests go and how its TLS was negotiated. */
export interface TlsOrigin {
  host: string;
  port: number;
  client: TlsLeg;
  /** Requests (or upgrades) seen on the connection; 0 until the first arrives. */
  requests: number;
  /** Called by the HTTP side when the first request arrives (the interception succeeded). */
  onFirstRequest(): void;
  /**
   * Set when Loupe closed the connection for a limit (no request in time, idle): a close
   * without a request then says nothing about the certificate.
   */
  closedByLimit?: boolean;
}

/** A CONNECT tunnel or decrypted connection in progress, for re-deciding on bypass changes. */
export interface ActiveConnection {
  host: string;
  port: number;
  sni?: string;
  /** Decrypted by Loupe. */
  intercepted: boolean;
  /** Relayed raw because the bypass list said so. */
  bypassed: boolean;
  close(): void;
}

/** What the engine's TLS side needs from the proxy server. */
export interface TlsDeps {
  /** Hands a decrypted connection (HTTP/2 or HTTP/1.x, by its ALPN) to the HTTP servers. */
  serve(socket: tls.TLSSocket, origin: TlsOrigin): void;
  /** Tracks a connection for bypass changes; returns the function that forgets it. */
  track(conn: ActiveConnection): () => void;
  /**
   * Hosts that have had a request on a decrypted connection. A silent close from a client of
   * such a host is a spare connection (browsers open them speculatively), not a rejection.
   */
  intercepted: { has(host: string): boolean; add(host: string): void };
  /**
   * Decrypted connections open per host. A silent close while another connection to the same
   * host is open is a spare one (browsers race two), not a rejection.
   */
  live: Map<string, number>;
}

export function intercept(
  ctx: EngineContext,
  tunnel: Tunnel,
  client: Socket,
  buffered: Buffer,
  hello: ClientHello,
  context: tls.SecureContext,
  host: string,
  deps: TlsDeps,
): void {
  client.unshift(buffered);
  const port = tunnel.target.port;
  const secure = new tls.TLSSocket(client, {
    isServer: true,
    secureContext: context,
    // HTTP/2 or HTTP/1.1, as the client prefers; the server leg is chosen independently.
    ALPNProtocols: ['h2', 'http/1.1'],
  });
  let secured = false;
  let failed = false;
  deps.live.set(host, (deps.live.get(host) ?? 0) + 1);
  let counted = true;
  const uncount = (): void => {
    if (!counted) return;
    counted = false;
    const n = (deps.live.get(host) ?? 1) - 1;
    if (n > 0) deps.live.set(host, n);
    else deps.live.delete(host);
  };
  /** True when this silent close says nothing about the certificate. */
  const spare = (): boolean => deps.intercepted.has(host) || (deps.live.get(host) ?? 0) > 1;
  const forget0 = deps.track({
    host: tunnel.target.host,
    port,
    ...(hello.serverName ? { sni: hello.serverName } : {}),
    intercepted: true,
    bypassed: false,
    close: () => secure.destroy(),
  });
  const forget = (): void => {
    forget0();
    uncount();
  };
  const fail = (kind: HandshakeFailureKind, detail?: string): void => {
    if (failed) return;
    failed = true;
    clearTimeout(timer);
    secure.destroy();
    ctx.hooks.emit('tlsHandshake', {
      host,
      port,
      ok: false,
      failure: kind,
      clientAddress: tunnel.client.address,
    });
    failedHandshake(ctx, tunnel, client, kind, handshakeWords(kind, host, detail), detail);
  };
  const timer = setTimeout(() => fail('timeout'), HANDSHAKE_TIMEOUT_MS);
  secure.once('secure', () => {
    secured = true;
    // Node clears this only for sockets a tls.Server made; HTTP/2 waits for it otherwise.
    (secure as { secureConnecting?: boolean }).secureConnecting = false;
    clearTimeout(timer);
    const securedAt = performance.now();
    const cipher = secure.getCipher();
    const origin: TlsOrigin = {
      host,
      port,
      client: {
        ...(secure.getProtocol() ? { version: secure.getProtocol()! } : {}),
        ...(cipher ? { cipher: cipher.standardName ?? cipher.name } : {}),
        ...(secure.alpnProtocol ? { alpn: secure.alpnProtocol } : {}),
        ...(hello.serverName ? { sni: hello.serverName } : {}),
      },
      requests: 0,
      onFirstRequest: () => {
        deps.intercepted.add(host);
        ctx.hooks.emit('tlsHandshake', {
          host,
          port,
          ok: true,
          clientAddress: tunnel.client.address,
        });
      },
    };
    secure.once('close', () => {
      const silent =
        origin.requests === 0 &&
        !origin.closedByLimit &&
        performance.now() - securedAt < SILENT_CLOSE_WINDOW_MS;
      const isSpare = spare();
      forget();
      if (silent && !isSpare) fail('closed_after_handshake');
    });
    deps.serve(secure, origin);
  });
  secure.on('error', (err: NodeJS.ErrnoException) => {
    if (secured) return;
    fail(classifyHandshakeError(err), err.code ?? err.message);
  });
  // The listener's sockets are half-open; a client that finishes mid-handshake is gone.
  // A clean close after Loupe's certificate went out, without an alert, is how some clients
  // (Node's, for one) reject a certificate; a close before it is just a hang-up.
  secure.once('end', () => {
    if (!secured) {
      fail(client.bytesWritten > 0 && !spare() ? 'closed_after_handshake' : 'reset');
    }
  });
  secure.once('close', () => {
    if (!secured) {
      forget();
      fail('reset');
    }
  });
}

/** Sorts a server-side handshake error into what most likely happened. */
export function classifyHandshakeError(err: NodeJS.ErrnoException): HandshakeFailureKind {
  const code = err.code ?? '';
  const text = `${code} ${err.message}`.toUpperCase();
  if (
    /ALERT_(UNKNOWN_CA|BAD_CERTIFICATE|CERTIFICATE_UNKNOWN|UNSUPPORTED_CERTIFICATE|CERTIFICATE_EXPIRED|CERTIFICATE_REVOKED|ACCESS_DENIED)/.test(
      text,
    )
  ) {
    return 'certificate_rejected';
  }
  if (
    /NO_SHARED_CIPHER|UNSUPPORTED_PROTOCOL|VERSION_TOO_LOW|NO_PROTOCOLS_AVAILABLE|WRONG_VERSION|HANDSHAKE_FAILURE|INAPPROPRIATE_FALLBACK|NO_APPLICATION_PROTOCOL/.test(
      text,
    )
  ) {
    return 'no_shared_cipher';
  }
  if (code === 'ECONNRESET' || code === 'EPIPE' || /SOCKET HANG UP|DISCONNECTED/.test(text)) {
    return 'reset';
  }
  return 'other';
}

function handshakeWords(kind: HandshakeFailureKind, host: string, detail?: string): string {
  switch (kind) {
    case 'certificate_rejected':
      return `The client rejected Loupe's certificate for ${host}${detail ? ` (${alertName(detail)})` : ''}: it pins its certificates, or it does not trust the Loupe CA. Trust the CA (open http://loupe.local/ through the proxy) or add ${host} to the SSL bypass list.`;
    case 'closed_after_handshake':
      return `The client received Loupe's certificate for ${host} and hung up without sending a request or saying why: it most likely pins its certificates, or does not trust the Loupe CA.`;
    case 'no_shared_cipher':
      return `The client and Loupe have no TLS version or cipher in common for ${host}${detail ? ` (${detail})` : ''}.`;
    case 'reset':
      return `The client closed the connection to ${host} during the TLS handshake without saying why.`;
    case 'timeout':
      return `The client did not finish the TLS handshake for ${host} within ${HANDSHAKE_TIMEOUT_MS / 1000} s.`;
    default:
      return `The TLS handshake with the client for ${host} failed${detail ? ` (${detail})` : ''}.`;
  }
}

/** `ERR_SSL_TLSV1_ALERT_UNKNOWN_CA` → `alert unknown_ca`. */
function alertName(detail: string): string {
  const m = /ALERT_([A-Z_]+)/.exec(detail.toUpperCase());
  return m ? `alert ${m[1]!.toLowerCase()}` : detail;
}

/** Reports a failed client handshake as a tunnel flow with `tls_handshake_failed`. */
export function failedHandshake(
  ctx: EngineContext,
  tunnel: Tunnel,
  client: Socket,
  kind: HandshakeFailureKind,
  message: string,
  detail?: string,
): void {
  tunnel.protocol = 'tls';
  tunnel.tags.push('handshake-failed');
  tunnel.error = {
    code: 'tls_handshake_failed',
    message,
    phase: 'tunnel',
    detail: detail ? `${kind}: ${detail}` : kind,
  };
  tunnel.bytesUp = client.bytesRead;
  tunnel.bytesDown = client.bytesWritten;
  tunnel.durationMs = Date.now() - tunnel.startedAt;
  client.destroy();
  ctx.hooks.emit('tunnelOpen', tunnel);
  ctx.hooks.emit('tunnelClose', tunnel);
}

/**
 * A decrypted connection whose bytes are not HTTP (another protocol inside TLS): relayed as it
 * is to the server over a verified TLS connection of Loupe's own, recorded as a TLS flow with
 * byte counts.
 */
export function relayDecrypted(ctx: EngineContext, client: tls.TLSSocket, origin: TlsOrigin): void {
  origin.requests++;
  origin.onFirstRequest();
  const tunnel: Tunnel = {
    id: ctx.newId(),
    startedAt: Date.now(),
    client: { address: client.remoteAddress ?? '', port: client.remotePort ?? 0 },
    target: { host: origin.host, port: origin.port },
    protocol: 'tls',
    bytesUp: 0,
    bytesDown: 0,
    tags: ['decrypted'],
    reason:
      'Decrypted, but what the client sent inside TLS is not HTTP; relayed as it is over a new TLS connection to the server.',
    ...(origin.client.sni ? { hello: { sni: origin.client.sni, alpn: [], versions: [] } } : {}),
  };
  const t0 = performance.now();
  ctx.hooks.emit('tunnelOpen', tunnel);
  let closed = false;
  let upstream: tls.TLSSocket | undefined;
  const close = (err?: unknown): void => {
    if (closed) return;
    closed = true;
    if (err && !tunnel.error) {
      tunnel.error = upstreamError(err, `${origin.host}:${origin.port}`, 'tunnel');
    }
    client.destroy();
    upstream?.destroy();
    tunnel.durationMs = Math.round(performance.now() - t0);
    ctx.hooks.emit('tunnelClose', tunnel);
  };
  client.on('error', () => close());
  client.on('data', (d: Buffer) => (tunnel.bytesUp += d.length));
  ctx.upstream
    .openTls(
      origin.host,
      origin.port,
      ctx.options.upstreamTimeoutMs,
      origin.client.alpn ? [origin.client.alpn] : [],
    )
    .then(
      (socket) => {
        upstream = socket;
        if (client.destroyed) return close();
        if (socket.remoteAddress) tunnel.target.address = socket.remoteAddress;
        socket.on('data', (d: Buffer) => (tunnel.bytesDown += d.length));
        spliceTunnel(ctx, tunnel, client, socket, close);
      },
      (err: unknown) => close(err),
    );
}
