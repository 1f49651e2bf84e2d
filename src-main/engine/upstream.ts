/**
 * Everything about reaching the next hop: name resolution (OS resolver, with `--resolve`
 * overrides), the keep-alive connection pool, chaining through an upstream proxy (HTTP or HTTPS)
 * with a no-proxy predicate, and raw TCP connections for tunnels.
 */
import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { Socket } from 'node:net';
import http2 from 'node:http2';
import tls from 'node:tls';
import type { CertSummary, HeaderPair, TlsInfo } from '../../src-common/flow';
import { toFlat } from './headers';

/** When each step of a fresh upstream connection completed (performance.now() values). */
export interface ConnectMarks {
  start: number;
  lookup?: number;
  connect?: number;
  secure?: number;
}

/**
 * How a request to an HTTPS origin goes: on the origin's HTTP/2 session, or over HTTP/1.1 (on
 * the connection that just learned the origin's protocol, when there is one, else the pool).
 */
export type Route =
  | {
      kind: 'h2';
      session: http2.ClientHttp2Session;
      socket: tls.TLSSocket;
      reused: boolean;
      marks?: ConnectMarks;
    }
  | { kind: 'h1'; socket?: tls.TLSSocket; marks?: ConnectMarks };

interface Probe {
  socket: tls.TLSSocket;
  marks: ConnectMarks;
  session?: http2.ClientHttp2Session;
}

/** How long a connection made for a request outside the pool may take to be established. */
const TUNNEL_TIMEOUT_MS = 120_000;

export type LookupFn = NonNullable<net.TcpSocketConnectOpts['lookup']>;

export interface UpstreamProxy {
  url: URL;
  host: string;
  port: number;
  secure: boolean;
  /** Value of `Proxy-Authorization` when the URL carries credentials. */
  authorization?: string;
  /** The URL without credentials, safe to show. */
  display: string;
}

export interface UpstreamConfig {
  /** Lower-case host name → address (or another host name) to connect to instead. */
  resolve: ReadonlyMap<string, string>;
  upstreamProxy?: UpstreamProxy;
  /** Hosts that go direct even when an upstream proxy is set. */
  noProxy?: (host: string, port: number) => boolean;
  /**
   * Trusted roots for upstream TLS (servers and an https:// upstream proxy); undefined means
   * Node's defaults.
   */
  ca?: string[];
  /** Hosts whose invalid certificates are accepted (the user's per-host exception). */
  allowInvalidCertificate?: (host: string, port: number) => boolean;
}

/** Parses `--upstream-proxy`; throws an Error whose message says what is wrong. */
export function parseUpstreamProxy(text: string): UpstreamProxy {
  let url: URL;
  try {
    url = new URL(text.includes('://') ? text : `http://${text}`);
  } catch {
    throw new Error(`'${text}' is not a proxy URL; write it like http://HOST:PORT`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`'${text}': the upstream proxy must be http:// or https://`);
  }
  if (url.pathname !== '/' || url.search || url.hash) {
    throw new Error(`'${text}': an upstream proxy URL has no path`);
  }
  const secure = url.protocol === 'https:';
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = url.port ? Number(url.port) : secure ? 443 : 80;
  const user = decodeURIComponent(url.username);
  const pass = decodeURIComponent(url.password);
  const authorization =
    user || pass ? `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}` : undefined;
  const display = `${url.protocol}//${url.host}`;
  return { url, host, port, secure, display, ...(authorization ? { authorization } : {}) };
}

/**
 * The path and query of an absolute-form request target exactly as the client wrote them:
 * `http://h/a/../b?q='x'` gives `/a/../b?q='x'`, where URL parsing would remove the dot
 * segments and percent-encode the quotes. A proxy forwards what it was given. Falls back to the
 * parsed URL when the authority is not followed by `/`, `?`, `#` or the end.
 */
export function originForm(raw: string, target: URL): string {
  const authority = /^[a-z][a-z0-9+.-]*:\/\/[^/?#\\]*/i.exec(raw);
  const rest = authority && raw.slice(authority[0].length).split('#', 1)[0]!;
  if (rest === null || rest.startsWith('\\')) return target.pathname + target.search;
  return rest.startsWith('/') ? rest : `/${rest}`;
}

/** Strips the brackets of an IPv6 literal as URLs write it. */
export function bareHost(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** How `Upstream.request` sends a request; see there. */
interface RequestOptions {
  pooled: boolean;
  maxHeaderSize?: number;
  path?: string;
  socket?: tls.TLSSocket;
}

/**
 * Node writes the head of a request that carries `Expect` as soon as the request is made, as a
 * string without an encoding, which the socket then encodes as UTF-8: header bytes outside ASCII
 * (parsed as latin1, one character a byte) would reach the server changed. Marks that queued
 * head latin1, as Node writes every other head. Nothing else can be queued yet.
 */
function latin1Head(req: http.ClientRequest): void {
  const queued = (req as unknown as { outputData?: { data: unknown; encoding?: unknown }[] })
    .outputData;
  for (const entry of queued ?? []) {
    if (typeof entry.data === 'string' && !entry.encoding) entry.encoding = 'latin1';
  }
}

export class Upstream {
  readonly lookup: LookupFn;
  private readonly agent: http.Agent;
  private readonly tlsAgent: https.Agent;
  private readonly proxyAgent?: http.Agent;
  /** Built once: a `ca` option per request would be re-read and made part of the pool key. */
  private readonly secureContext: tls.SecureContext;
  private readonly ids = new WeakMap<Socket, string>();
  private readonly summaries = new WeakMap<Socket, NonNullable<TlsInfo['upstream']>>();
  /** Origins known to answer ALPN with http/1.1 (or nothing). */
  private readonly h1Origins = new Set<string>();
  private readonly sessions = new Map<
    string,
    { session: http2.ClientHttp2Session; socket: tls.TLSSocket }
  >();
  private readonly probes = new Map<string, Promise<Probe>>();
  private nextId = 1;

  constructor(private readonly config: UpstreamConfig) {
    this.lookup = makeLookup(config.resolve);
    const poolOptions = {
      keepAlive: true,
      keepAliveMsecs: 1000,
      maxFreeSockets: 256,
      scheduling: 'lifo' as const,
      noDelay: true,
    };
    this.agent = new http.Agent(poolOptions);
    this.secureContext = tls.createSecureContext(config.ca ? { ca: config.ca } : {});
    this.tlsAgent = new https.Agent(poolOptions);
    const proxy = config.upstreamProxy;
    if (proxy) {
      this.proxyAgent = proxy.secure
        ? new https.Agent({ ...poolOptions, ...(config.ca ? { ca: config.ca } : {}) })
        : new http.Agent(poolOptions);
    }
  }

  /** The upstream proxy to use for host:port, or undefined to go direct. */
  proxyFor(host: string, port: number): UpstreamProxy | undefined {
    const proxy = this.config.upstreamProxy;
    if (!proxy) return undefined;
    return this.config.noProxy?.(host, port) ? undefined : proxy;
  }

  /**
   * Starts a request for an absolute http:// URL, directly (origin-form) or through the upstream
   * proxy (absolute-form, with its credentials; TLS to an https:// proxy, verified against the
   * trusted roots). `pooled: false` gives the request a connection of its own (upgrades keep it).
   * `path` is the request target's path and query as the client wrote it (see `originForm`).
   * Throws synchronously when Node refuses a header name or value.
   */
  request(
    target: URL,
    method: string,
    headers: readonly HeaderPair[],
    opts: RequestOptions,
  ): { req: http.ClientRequest; via?: UpstreamProxy } {
    const made = this.open(target, method, headers, opts);
    latin1Head(made.req);
    return made;
  }

  private open(
    target: URL,
    method: string,
    headers: readonly HeaderPair[],
    opts: RequestOptions,
  ): { req: http.ClientRequest; via?: UpstreamProxy } {
    const path = opts.path ?? target.pathname + target.search;
    const host = bareHost(target.hostname);
    const secure = target.protocol === 'https:';
    const port = target.port ? Number(target.port) : secure ? 443 : 80;
    const proxy = this.proxyFor(host, port);
    const common = {
      method,
      lookup: this.lookup,
      setHost: false,
      ...(opts.maxHeaderSize ? { maxHeaderSize: opts.maxHeaderSize } : {}),
    };
    if (secure) {
      const tlsOptions = this.tlsOptions(host, port);
      const flat = toFlat(headers) as unknown as http.OutgoingHttpHeaders;
      const given = opts.socket;
      if (given) {
        // The connection that learned this origin's protocol carries its first request.
        const req = http.request({
          ...common,
          host,
          port,
          path,
          headers: flat,
          createConnection: () => given,
        } as http.RequestOptions);
        return { req, ...(proxy ? { via: proxy } : {}) };
      }
      if (!proxy) {
        const req = https.request({
          ...common,
          ...tlsOptions,
          host,
          port,
          path,
          headers: flat,
          agent: opts.pooled ? this.tlsAgent : new https.Agent({ keepAlive: false }),
        });
        return { req };
      }
      // Through the upstream proxy: CONNECT, then TLS to the server inside the tunnel.
      const req = http.request({
        ...common,
        host,
        port,
        path,
        headers: flat,
        createConnection: (_opts: unknown, done: (err: Error | null, socket?: Socket) => void) => {
          this.openTls(host, port, TUNNEL_TIMEOUT_MS, ['http/1.1']).then(
            (socket) => done(null, socket),
            (err: Error) => done(err),
          );
          return undefined;
        },
      } as http.RequestOptions);
      return { req, via: proxy };
    }
    if (!proxy) {
      const flat = toFlat(headers) as unknown as http.OutgoingHttpHeaders;
      const req = http.request({
        ...common,
        host,
        port,
        path,
        headers: flat,
        agent: opts.pooled ? this.agent : false,
      });
      return { req };
    }
    const withAuth: HeaderPair[] = proxy.authorization
      ? [...headers, ['Proxy-Authorization', proxy.authorization]]
      : [...headers];
    const options = {
      ...common,
      host: proxy.host,
      port: proxy.port,
      path: `${target.protocol}//${target.host}${path}`,
      headers: toFlat(withAuth) as unknown as http.OutgoingHttpHeaders,
      agent: opts.pooled ? this.proxyAgent : false,
    };
    const req = proxy.secure
      ? https.request({
          ...options,
          ...(this.config.ca ? { ca: this.config.ca } : {}),
          ...(net.isIP(proxy.host) ? {} : { servername: proxy.host }),
        })
      : http.request(options);
    return { req, via: proxy };
  }

  /**
   * Decides how a request to https://host:port travels. The first request to an origin opens a
   * TLS connection offering h2 and http/1.1; the answer is remembered, an h2 connection becomes
   * the origin's shared session, an http/1.1 one carries this request. Rejects with the
   * connection's error (certificate problems included).
   */
  async route(host: string, port: number, timeoutMs: number): Promise<Route> {
    const key = `${host}|${port}|${this.tlsOptions(host, port).rejectUnauthorized}`;
    if (this.h1Origins.has(key)) return { kind: 'h1' };
    const live = this.sessions.get(key);
    if (live && !live.session.closed && !live.session.destroyed) {
      return { kind: 'h2', session: live.session, socket: live.socket, reused: true };
    }
    let probe = this.probes.get(key);
    const first = !probe;
    if (!probe) {
      probe = this.probe(host, port, timeoutMs).then((found) => {
        if (found.socket.alpnProtocol !== 'h2') {
          this.h1Origins.add(key);
          return found;
        }
        const session = http2.connect(`https://${net.isIPv6(host) ? `[${host}]` : host}:${port}`, {
          createConnection: () => found.socket,
          settings: { enablePush: false },
          maxSessionMemory: 64,
        });
        const forget = (): void => {
          if (this.sessions.get(key)?.session === session) this.sessions.delete(key);
        };
        // An idle session is closed after a minute, as the HTTP/1.1 pool lets sockets go.
        session.setTimeout(60_000, () => session.close());
        session.on('error', forget);
        session.on('goaway', forget);
        session.on('close', forget);
        this.sessions.set(key, { session, socket: found.socket });
        return { ...found, session };
      });
      this.probes.set(key, probe);
      const clear = (): void => void this.probes.delete(key);
      probe.then(clear, clear);
    }
    const found = await probe;
    if (found.session) {
      return {
        kind: 'h2',
        session: found.session,
        socket: found.socket,
        reused: !first,
        ...(first ? { marks: found.marks } : {}),
      };
    }
    return first ? { kind: 'h1', socket: found.socket, marks: found.marks } : { kind: 'h1' };
  }

  /**
   * A verified TLS connection to host:port offering `alpn` (none when empty), for relaying
   * decrypted bytes that are not HTTP.
   */
  async openTls(
    host: string,
    port: number,
    timeoutMs: number,
    alpn: string[],
  ): Promise<tls.TLSSocket> {
    return (await this.probe(host, port, timeoutMs, alpn)).socket;
  }

  /** A TLS connection to host:port offering h2 and http/1.1, direct or through the proxy. */
  private probe(
    host: string,
    port: number,
    timeoutMs: number,
    alpn: string[] = ['h2', 'http/1.1'],
  ): Promise<Probe> {
    const marks: ConnectMarks = { start: performance.now() };
    const proxy = this.proxyFor(host, port);
    const base = this.tlsOptions(host, port);
    delete base.ALPNProtocols;
    const options = { ...base, ...(alpn.length ? { ALPNProtocols: alpn } : {}) };
    return new Promise((resolve, reject) => {
      const go = (raw?: Socket): void => {
        const socket = raw
          ? tls.connect({ ...options, socket: raw })
          : tls.connect({ ...options, host, port, lookup: this.lookup });
        socket.setNoDelay(true);
        const timer = setTimeout(
          () => socket.destroy(codedError('UPSTREAM_TIMEOUT', 'timed out')),
          timeoutMs,
        );
        socket.once('lookup', () => (marks.lookup = performance.now()));
        socket.once('connect', () => (marks.connect = performance.now()));
        socket.once('secureConnect', () => {
          clearTimeout(timer);
          marks.secure = performance.now();
          marks.connect ??= marks.start;
          socket.removeListener('error', onError);
          resolve({ socket, marks });
        });
        const onError = (err: Error): void => {
          clearTimeout(timer);
          reject(err);
        };
        socket.once('error', onError);
      };
      if (proxy) {
        this.tunnelThroughProxy(proxy, host, port, timeoutMs).then(({ socket }) => {
          marks.connect = performance.now();
          go(socket);
        }, reject);
      } else {
        go();
      }
    });
  }

  /** TLS options for a connection to a server: trusted roots, SNI, ALPN, verification. */
  private tlsOptions(host: string, port: number): tls.ConnectionOptions {
    return {
      secureContext: this.secureContext,
      ...(net.isIP(host) ? {} : { servername: host }),
      ALPNProtocols: ['http/1.1'],
      rejectUnauthorized: !(this.config.allowInvalidCertificate?.(host, port) ?? false),
    };
  }

  /**
   * What a secure upstream socket negotiated and the server's chain, leaf first; computed once
   * per connection. Undefined for a plain socket or before the handshake completed.
   */
  tlsSummary(socket: Socket): NonNullable<TlsInfo['upstream']> | undefined {
    const secure = socket as tls.TLSSocket;
    if (typeof secure.getPeerCertificate !== 'function' || !secure.encrypted) return undefined;
    let summary = this.summaries.get(socket);
    if (summary) return summary;
    const chain: CertSummary[] = [];
    let cert = secure.getPeerCertificate(true) as tls.DetailedPeerCertificate | undefined;
    const seen = new Set<string>();
    while (cert && cert.fingerprint256 && !seen.has(cert.fingerprint256) && chain.length < 10) {
      seen.add(cert.fingerprint256);
      chain.push(summariseCert(cert));
      cert = cert.issuerCertificate;
    }
    const cipher = secure.getCipher?.();
    const protocol = secure.getProtocol?.();
    summary = {
      ...(protocol ? { version: protocol } : {}),
      ...(cipher?.name ? { cipher: cipher.standardName ?? cipher.name } : {}),
      ...(secure.alpnProtocol ? { alpn: secure.alpnProtocol } : {}),
      ...(typeof (secure as { servername?: unknown }).servername === 'string'
        ? { sni: (secure as unknown as { servername: string }).servername }
        : {}),
      chain,
      verified: secure.authorized,
    };
    this.summaries.set(socket, summary);
    return summary;
  }

  /** A stable id for an upstream socket, for HAR's `connection` and reuse display. */
  connectionId(socket: Socket): string {
    let id = this.ids.get(socket);
    if (!id) {
      id = `u${this.nextId++}`;
      this.ids.set(socket, id);
    }
    return id;
  }

  /**
   * Opens a raw TCP connection to host:port for a tunnel, directly or with CONNECT through the
   * upstream proxy. Resolves once the connection is usable.
   */
  openTunnel(
    host: string,
    port: number,
    timeoutMs: number,
  ): Promise<{ socket: Socket; address?: string }> {
    const proxy = this.proxyFor(host, port);
    return proxy
      ? this.tunnelThroughProxy(proxy, host, port, timeoutMs)
      : this.connectDirect(host, port, timeoutMs);
  }

  destroy(): void {
    for (const { session } of this.sessions.values()) session.destroy();
    this.sessions.clear();
    this.agent.destroy();
    this.tlsAgent.destroy();
    this.proxyAgent?.destroy();
  }

  private connectDirect(
    host: string,
    port: number,
    timeoutMs: number,
  ): Promise<{ socket: Socket; address?: string }> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port, lookup: this.lookup, noDelay: true });
      const timer = setTimeout(
        () => socket.destroy(codedError('UPSTREAM_TIMEOUT', 'timed out')),
        timeoutMs,
      );
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeListener('error', onError);
        resolve({ socket, ...(socket.remoteAddress ? { address: socket.remoteAddress } : {}) });
      });
      const onError = (err: Error) => {
        clearTimeout(timer);
        reject(err);
      };
      socket.once('error', onError);
    });
  }

  private tunnelThroughProxy(
    proxy: UpstreamProxy,
    host: string,
    port: number,
    timeoutMs: number,
  ): Promise<{ socket: Socket; address?: string }> {
    return new Promise((resolve, reject) => {
      const authority = net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
      const headers = ['Host', authority];
      if (proxy.authorization) headers.push('Proxy-Authorization', proxy.authorization);
      const request = (proxy.secure ? https : http).request({
        host: proxy.host,
        port: proxy.port,
        method: 'CONNECT',
        path: authority,
        headers,
        setHost: false,
        agent: false,
        lookup: this.lookup,
        timeout: timeoutMs,
        ...(proxy.secure && this.config.ca ? { ca: this.config.ca } : {}),
      });
      request.once('connect', (res, socket, head) => {
        if (res.statusCode !== 200) {
          socket.destroy();
          reject(
            codedError(
              'UPSTREAM_PROXY_FAILED',
              `The upstream proxy ${proxy.display} refused CONNECT ${authority} with ${res.statusCode} ${res.statusMessage ?? ''}`.trim(),
            ),
          );
          return;
        }
        socket.setTimeout(0);
        if (head.length) socket.unshift(head);
        resolve({ socket });
      });
      request.once('timeout', () => request.destroy(codedError('UPSTREAM_TIMEOUT', 'timed out')));
      request.once('error', reject);
      request.end();
    });
  }
}

function nameOf(fields: Record<string, string | string[] | undefined> | undefined): string {
  if (!fields) return '';
  return Object.entries(fields)
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('+') : v}`)
    .join(', ');
}

function summariseCert(cert: tls.PeerCertificate): CertSummary {
  const san = (cert.subjectaltname ?? '')
    .split(/,\s*/)
    .map((entry) => entry.replace(/^(DNS|IP Address):/, ''))
    .filter(Boolean);
  const iso = (text: string): string => {
    const d = new Date(text);
    return Number.isNaN(d.getTime()) ? text : d.toISOString();
  };
  return {
    subject: nameOf(cert.subject as unknown as Record<string, string>),
    issuer: nameOf(cert.issuer as unknown as Record<string, string>),
    validFrom: iso(cert.valid_from),
    validTo: iso(cert.valid_to),
    san,
    fingerprint256: cert.fingerprint256,
  };
}

function makeLookup(overrides: ReadonlyMap<string, string>): LookupFn {
  const lookup = ((
    hostname: string,
    options: dns.LookupOptions,
    callback: (...args: unknown[]) => void,
  ) => {
    const mapped = overrides.get(hostname.toLowerCase().replace(/\.$/, ''));
    const family = mapped ? net.isIP(mapped) : 0;
    if (mapped && family) {
      if (options.all) process.nextTick(callback, null, [{ address: mapped, family }]);
      else process.nextTick(callback, null, mapped, family);
      return;
    }
    dns.lookup(mapped ?? hostname, options, callback as never);
  }) as LookupFn;
  return lookup;
}

export function codedError(code: string, message: string): Error & { code: string } {
  return Object.assign(new Error(message), { code });
}
