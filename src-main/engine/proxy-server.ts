/**
 * The listener: one port for HTTP/1.x proxy requests and CONNECT. Each new connection's first
 * bytes are sniffed before any parser sees them (TLS arriving directly on the port is the HTTPS
 * issue's; everything else goes to Node's strict HTTP/1 parser, which answers smuggling-prone
 * framing, bare LF and obsolete folding with 400 and an oversized head with 431).
 */
import http from 'node:http';
import http2 from 'node:http2';
import type { IncomingMessage, ServerResponse } from 'node:http';
import net from 'node:net';
import type { Socket } from 'node:net';
import os from 'node:os';
import { randomUUID } from 'node:crypto';
import { emptyTimings } from '../../src-common/flow';
import type { FlowError } from '../../src-common/flow';
import type { ClientLimits, EngineContext } from './context';
import { headTimeoutError } from './errors';
import { rawTextResponse, toPairs } from './headers';
import type { Exchange } from './hooks';
import { forward } from './http-exchange';
import { admitted, ConnectionLimits, limitsOf } from './connection-limits';
import { localPage, MAGIC_HOST, type LocalResponse } from './local-page';
import { relayDecrypted, type ActiveConnection, type TlsDeps, type TlsOrigin } from './intercept';
import { handleConnect, handleDirectTls } from './tunnel';
import { handleUpgrade } from './upgrade';
import { bareHost, originForm } from './upstream';

type ContextBase = Omit<EngineContext, 'isSelf' | 'newId' | 'clientConnectionId'>;

export class ProxyServer {
  readonly ctx: EngineContext;
  /** The listener; replaced by `prepareMove`'s when the proxy moves to another port. */
  private net: net.Server;
  private readonly http: http.Server;
  /** Serves decrypted HTTP/1.x connections; their origin is stored on the socket. */
  private readonly tlsHttp: http.Server;
  /** Serves decrypted HTTP/2 connections (compatibility API: the same request handler). */
  private readonly tlsH2: http2.Http2Server;
  private readonly active = new Set<ActiveConnection>();
  private readonly deps: TlsDeps;
  private readonly sockets = new Set<Socket>();
  private readonly clientIds = new WeakMap<Socket, string>();
  private nextClientId = 1;
  private selfHosts = new Set<string>();
  private port = 0;

  constructor(base: ContextBase) {
    this.ctx = {
      ...base,
      isSelf: (host, port) => this.isSelf(host, port),
      newId: () => randomUUID(),
      clientConnectionId: (socket) => this.clientId(socket),
    };
    const serverOptions: http.ServerOptions = {
      maxHeaderSize: base.options.maxHeaderSize,
      // Node enforces its head and request deadlines only on a server that listens itself, and
      // its keep-alive clock, once a body outlives its response, is never re-armed: Loupe keeps
      // these limits itself (ConnectionLimits). Uploads may take long; only heads have one.
      requestTimeout: 0,
      keepAliveTimeout: 0,
      noDelay: true,
    };
    this.deps = {
      serve: (socket, origin) => {
        (socket as OriginCarrier)[ORIGIN] = origin;
        this.sockets.add(socket);
        socket.once('close', () => this.sockets.delete(socket));
        const limits = this.limit(socket, () => {
          origin.closedByLimit = true;
          closeQuietly(socket);
        });
        limits.awaitFirst();
        if (socket.alpnProtocol === 'h2') {
          this.tlsH2.emit('connection', socket);
          return;
        }
        // HTTP/1.x or no ALPN: the first decrypted bytes say whether it is HTTP at all.
        // A client that finishes before saying anything is gone (these sockets are half-open).
        const silent = (): void => void socket.destroy();
        socket.once('end', silent);
        socket.once('data', (chunk: Buffer) => {
          socket.removeListener('end', silent);
          socket.pause();
          socket.unshift(chunk);
          if (looksLikeHttp(chunk)) {
            this.tlsHttp.emit('connection', socket);
            limits.timeHeads(chunk);
            socket.resume();
          } else {
            limits.release();
            relayDecrypted(this.ctx, socket, origin);
          }
        });
      },
      intercepted: boundedSet(10_000),
      live: new Map(),
      track: (conn) => {
        this.active.add(conn);
        return () => this.active.delete(conn);
      },
    };
    this.http = http.createServer(serverOptions);
    // Node drops headers past a count limit without a word; the head is already bounded by
    // maxHeaderSize, and a proxy forwards every header it was given.
    this.http.maxHeadersCount = 0;
    this.http.on('request', (req, res) => this.onRequest(req, res));
    this.http.on('checkContinue', (req, res) => this.onRequest(req, res));
    this.http.on('connect', (req, socket, head) => {
      limitsOf(socket)?.release();
      handleConnect(this.ctx, req, socket as Socket, head, (s) => this.accept(s), this.deps);
    });
    this.tlsHttp = http.createServer(serverOptions);
    this.tlsHttp.maxHeadersCount = 0;
    this.tlsHttp.on('request', (req, res) => this.onTlsRequest(req, res));
    this.tlsHttp.on('checkContinue', (req, res) => this.onTlsRequest(req, res));
    this.tlsHttp.on('upgrade', (req, socket, head) =>
      this.onTlsUpgrade(req, socket as Socket, head),
    );
    this.tlsHttp.on('connect', (_req, socket) => {
      limitsOf(socket)?.release();
      (socket as Socket).end(
        rawTextResponse(405, 'CONNECT inside an HTTPS connection is not supported.\n'),
      );
    });
    this.tlsH2 = http2.createServer({
      maxSessionMemory: 64,
      // A proxy forwards every header it was given; the head is bounded by maxHeaderSize.
      maxHeaderListPairs: 100_000,
      settings: { maxHeaderListSize: base.options.maxHeaderSize },
    });
    this.tlsH2.on('request', (req, res) =>
      this.onTlsRequest(req as unknown as IncomingMessage, res as unknown as ServerResponse),
    );
    // As on HTTP/1: the server's own 100 Continue is relayed; Node must not answer for it.
    this.tlsH2.on('checkContinue', (req, res) =>
      this.onTlsRequest(req as unknown as IncomingMessage, res as unknown as ServerResponse),
    );
    this.tlsH2.on('sessionError', () => undefined);
    // HTTP/2 closes with GOAWAY first, so the client knows not to open another stream here.
    this.tlsH2.on('session', (session) => {
      const limits = limitsOf(session.socket);
      const origin = originOf(session.socket);
      if (!limits) return;
      const quietly = limits.close;
      limits.close = () => {
        if (origin) origin.closedByLimit = true;
        // A session already closing (the client's GOAWAY) would not call back: end it now.
        if (session.closed || session.destroyed) quietly();
        else session.close(quietly);
      };
    });
    this.tlsHttp.on('clientError', (err, socket) => {
      const origin = originOf(socket);
      if (origin && origin.requests++ === 0) origin.onFirstRequest();
      this.onClientError(err, socket as Socket);
    });
    this.http.on('upgrade', (req, socket, head) => this.onUpgrade(req, socket as Socket, head));
    this.http.on('clientError', (err, socket) => this.onClientError(err, socket as Socket));
    // Half-open sockets, as Node's own http.Server uses: the HTTP layer decides what a client's
    // FIN means, and a tunnel keeps relaying the other direction after one side has finished.
    this.net = net.createServer({ noDelay: true, allowHalfOpen: true }, (socket) =>
      this.accept(socket),
    );
  }

  /** Starts listening; rejects with a plain-words error when the port is taken. */
  async listen(host: string, port: number): Promise<{ host: string; port: number }> {
    const bound = await listenOn(this.net, host, port);
    this.port = bound.port;
    this.selfHosts = selfHostsFor(host);
    return bound;
  }

  /**
   * Starts listening on `port` beside the current listener, so a move can fail without losing
   * the working one. `commit()` makes the new listener the proxy's and stops accepting on the
   * old port (connections already open there go on until they end); `cancel()` closes the new
   * one. Rejects like `listen` when the port cannot be had.
   */
  async prepareMove(
    host: string,
    port: number,
  ): Promise<{ port: number; commit(): void; cancel(): Promise<void> }> {
    const next = net.createServer({ noDelay: true, allowHalfOpen: true }, (socket) =>
      this.accept(socket),
    );
    const bound = await listenOn(next, host, port);
    return {
      port: bound.port,
      commit: () => {
        const old = this.net;
        this.net = next;
        this.port = bound.port;
        old.close();
      },
      cancel: () => new Promise<void>((resolve) => next.close(() => resolve())),
    };
  }

  /**
   * Changes the limits on client connections. Each applies from the next time it starts: a
   * connection's next wait, or the next tunnel.
   */
  setLimits(limits: Partial<ClientLimits>): void {
    Object.assign(this.ctx.options, limits);
  }

  /** Stops listening and closes every client connection. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.net.close(() => resolve());
      for (const socket of this.sockets) socket.destroy();
      this.ctx.upstream.destroy();
    });
  }

  private accept(socket: Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    // A connection that never says anything is closed once the first-request limit passes.
    socket.setTimeout(this.ctx.options.firstRequestTimeoutMs, () => socket.destroy());
    const silent = (): void => void socket.destroy();
    socket.once('end', silent);
    socket.once('data', (chunk: Buffer) => {
      socket.pause();
      socket.setTimeout(0);
      socket.removeListener('end', silent);
      socket.unshift(chunk);
      if (chunk[0] === 0x16) {
        // TLS straight to the proxy port: its server name (SNI) says where it is going.
        if (this.ctx.tls) handleDirectTls(this.ctx, socket, this.deps);
        else socket.destroy();
        return;
      }
      this.http.emit('connection', socket);
      // The chunk just read is the first of a head.
      this.limit(socket, () => closeQuietly(socket)).timeHeads(chunk);
      socket.resume();
    });
  }

  /** Puts a client connection under the limits while the HTTP servers read it. */
  private limit(socket: Socket, close: () => void): ConnectionLimits {
    return new ConnectionLimits(socket, this.ctx.options, close, (head) =>
      this.headTimedOut(socket, head),
    );
  }

  /** A request head not whole in time: 408 with words, recorded as a refused request. */
  private headTimedOut(socket: Socket, head: Buffer): void {
    if (!socket.writable) return;
    // A decrypted client that started a request trusted the certificate, as after a 400.
    const origin = originOf(socket);
    if (origin && origin.requests++ === 0) origin.onFirstRequest();
    const error = headTimeoutError(this.ctx.options.headersTimeoutMs);
    socket.end(rawTextResponse(408, `${error.message}\n`), () => socket.destroy());
    this.ctx.hooks.emit('error', this.refused(socket, head, error));
  }

  /**
   * Re-applies the SSL bypass list to open connections after it changed: decrypted connections
   * whose host is now bypassed, and tunnels bypassed for a host no longer listed, are closed so
   * the client reconnects under the new rule. Returns how many were closed.
   */
  bypassChanged(): number {
    let closed = 0;
    for (const conn of [...this.active]) {
      const bypass =
        this.ctx.isBypassed(conn.host, conn.port) ||
        (conn.sni !== undefined && this.ctx.isBypassed(conn.sni, conn.port));
      if ((conn.intercepted && bypass) || (conn.bypassed && !bypass)) {
        this.active.delete(conn);
        conn.close();
        closed++;
      }
    }
    return closed;
  }

  private onTlsRequest(req: IncomingMessage, res: ServerResponse): void {
    res.sendDate = false;
    const origin = originOf(req.socket);
    if (!origin) {
      res.destroy();
      return;
    }
    if (!admitted(req, res)) return;
    if (origin.requests++ === 0) origin.onFirstRequest();
    const url = tlsUrl(origin, req.url ?? '/');
    const ex = this.newExchange(req, url ?? `https://${authorityOf(origin)}/`);
    ex.tls = { client: { ...origin.client } };
    if (!url) {
      const why = `'${(req.url ?? '').slice(0, 200)}' is not a request target Loupe can forward.`;
      this.answerLocally(ex, req, res, plain(400, 'Bad Request', `${why}\n`), {
        code: 'bad_request',
        message: why,
        phase: 'request',
      });
      return;
    }
    this.serve(ex, req, res, new URL(url), this.isSelf(origin.host, origin.port));
  }

  private onTlsUpgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
    // An upgraded connection is a tunnel from here: only the tunnel limit applies to it.
    limitsOf(socket)?.release();
    const origin = originOf(socket);
    if (!origin) {
      socket.destroy();
      return;
    }
    if (origin.requests++ === 0) origin.onFirstRequest();
    const url = tlsUrl(origin, req.url ?? '/');
    if (!url || this.isSelf(origin.host, origin.port)) {
      socket.end(rawTextResponse(400, 'Loupe cannot relay this upgrade.\n'));
      return;
    }
    const target = new URL(url);
    const ex = this.newExchange(req, url);
    ex.tls = { client: { ...origin.client } };
    const run = (): void => handleUpgrade(this.ctx, ex, req, socket, head, target);
    const paused = this.ctx.hooks.emitPausable('requestHeaders', ex);
    if (paused) void paused.then(run);
    else run();
  }

  private clientId(socket: Socket): string {
    let id = this.clientIds.get(socket);
    if (!id) {
      id = `c${this.nextClientId++}`;
      this.clientIds.set(socket, id);
    }
    return id;
  }

  private isSelf(host: string, port: number): boolean {
    const h = bareHost(host).toLowerCase().replace(/\.$/, '');
    if (h === MAGIC_HOST) return true;
    return port === this.port && (this.selfHosts.has(h) || isLoopback(h));
  }

  private newExchange(req: IncomingMessage, url: string): Exchange {
    const socket = req.socket;
    return {
      id: this.ctx.newId(),
      startedAt: Date.now(),
      client: { address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 },
      clientConnectionId: this.clientId(socket),
      request: {
        method: req.method ?? 'GET',
        url,
        httpVersion: `HTTP/${req.httpVersion}`,
        headers: toPairs(req.rawHeaders),
        trailers: [],
        bodySize: 0,
      },
      timings: emptyTimings(),
      reused: false,
      tags: [],
    };
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    // A proxy passes the origin's Date (or its absence) through; it does not invent one.
    res.sendDate = false;
    if (!admitted(req, res)) return;
    const raw = req.url ?? '/';
    if (raw.startsWith('/')) {
      // Origin form: addressed to us as a web server, not as a proxy.
      const hostHeader = req.headers.host ?? '';
      const url = `http://${hostHeader || 'unknown'}${raw}`;
      const ex = this.newExchange(req, url);
      const [host, port] = splitHostHeader(hostHeader);
      if (hostHeader && this.isSelf(host, port ?? 80)) {
        ex.tags.push('loupe-page');
        this.answerLocally(ex, req, res, localPage(ex.request.method, raw, this.ctx.ca));
      } else {
        const text = `Loupe is a proxy. Configure your client to use http://127.0.0.1:${this.port} as its HTTP proxy (for example curl -x http://127.0.0.1:${this.port} URL), or open http://${MAGIC_HOST}/ through it.\n`;
        this.answerLocally(ex, req, res, plain(400, 'Bad Request', text), {
          code: 'bad_request',
          message:
            'The request was sent to Loupe as if it were the web server (no absolute URL); a proxy needs the full URL.',
          phase: 'request',
        });
      }
      return;
    }
    let target: URL | undefined;
    try {
      target = new URL(raw);
    } catch {
      target = undefined;
    }
    const ex = this.newExchange(
      req,
      target?.protocol === 'http:'
        ? target.origin + originForm(raw, target)
        : (target?.href ?? raw),
    );
    if (!target || target.protocol !== 'http:' || !target.hostname) {
      const why = target
        ? `Loupe forwards http:// URLs; '${target.protocol}' requests need CONNECT.`
        : `'${raw}' is not a URL Loupe can forward.`;
      this.answerLocally(ex, req, res, plain(400, 'Bad Request', `${why}\n`), {
        code: 'bad_request',
        message: why,
        phase: 'request',
      });
      return;
    }
    this.serve(ex, req, res, target, this.isSelf(target.hostname, Number(target.port) || 80));
  }

  /** Answers a request for Loupe's own page locally and forwards every other one. */
  private serve(
    ex: Exchange,
    req: IncomingMessage,
    res: ServerResponse,
    target: URL,
    self: boolean,
  ): void {
    if (req.httpVersionMajor !== 1 && !(req instanceof http2.Http2ServerRequest)) {
      // Node's HTTP/1 parser takes any one-digit version; forwarding needs 1.0 or 1.1.
      const why = `The request line asks for HTTP/${req.httpVersion}, which Loupe cannot forward. Send the request as HTTP/1.1; HTTP/2 is agreed inside HTTPS (ALPN), never written in a request line.`;
      const page = plain(505, 'HTTP Version Not Supported', `${why}\n`);
      page.headers.push(['Connection', 'close']);
      this.answerLocally(ex, req, res, page, {
        code: 'bad_request',
        message: why,
        phase: 'request',
      });
      return;
    }
    if (!self) {
      forward(this.ctx, ex, req, res, target);
      return;
    }
    ex.tags.push('loupe-page');
    const page = localPage(ex.request.method, target.pathname + target.search, this.ctx.ca);
    this.answerLocally(ex, req, res, page);
  }

  private onUpgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
    // An upgraded connection is a tunnel from here: only the tunnel limit applies to it.
    limitsOf(socket)?.release();
    let target: URL | undefined;
    try {
      target = new URL(req.url ?? '');
    } catch {
      target = undefined;
    }
    if (
      !target ||
      target.protocol !== 'http:' ||
      this.isSelf(target.hostname, target.port ? Number(target.port) : 80)
    ) {
      socket.end(
        rawTextResponse(
          400,
          'Loupe relays protocol upgrades only for absolute http:// URLs of other hosts.\n',
        ),
      );
      return;
    }
    const ex = this.newExchange(req, target.origin + originForm(req.url ?? '', target));
    const run = (): void => handleUpgrade(this.ctx, ex, req, socket, head, target);
    const paused = this.ctx.hooks.emitPausable('requestHeaders', ex);
    if (paused) void paused.then(run);
    else run();
  }

  /** Answers without any upstream, reporting the exchange on the hooks like a forwarded one. */
  private answerLocally(
    ex: Exchange,
    req: IncomingMessage,
    res: ServerResponse,
    local: LocalResponse,
    error?: FlowError,
  ): void {
    const hooks = this.ctx.hooks;
    const run = (): void => {
      req.on('data', (chunk: Buffer) => {
        ex.request.bodySize += chunk.length;
        hooks.emit('requestBody', ex, chunk);
      });
      req.once('end', () => {
        hooks.emit('request', ex);
        ex.response = {
          status: local.status,
          statusText: local.statusText,
          httpVersion: 'HTTP/1.1',
          headers: local.headers,
          trailers: [],
          bodySize: ex.request.method === 'HEAD' ? 0 : local.body.length,
        };
        const respond = (): void => {
          res.writeHead(local.status, local.statusText, local.headers.flat());
          res.end(local.body);
          if (ex.response!.bodySize) hooks.emit('responseBody', ex, local.body);
          if (error) {
            ex.error = error;
            hooks.emit('error', ex);
          } else {
            hooks.emit('response', ex);
          }
        };
        const paused = hooks.emitPausable('responseHeaders', ex);
        if (paused) void paused.then(respond);
        else respond();
      });
    };
    const paused = hooks.emitPausable('requestHeaders', ex);
    if (paused) void paused.then(run);
    else run();
  }

  private onClientError(
    err: NodeJS.ErrnoException & { rawPacket?: Buffer; reason?: string },
    socket: Socket,
  ): void {
    limitsOf(socket)?.release();
    const code = err.code ?? '';
    // More requests after one that asked to close: that one is answered, then the connection
    // closes, and what followed it is not processed (RFC 9112 §9.6). Nothing to refuse.
    if (code === 'HPE_CLOSED_CONNECTION') return;
    // HPE_INVALID_EOF_STATE: the client closed in the middle of a message. That is an abort, not
    // a bad request; an exchange in progress reports it as client_aborted.
    if (code === 'ECONNRESET' || code === 'HPE_INVALID_EOF_STATE' || !socket.writable) {
      socket.destroy();
      return;
    }
    if (code === 'ERR_HTTP_REQUEST_TIMEOUT' || code === 'HPE_HEADER_TIMEOUT') {
      socket.end(rawTextResponse(408, 'The request head did not arrive in time.\n'));
      return;
    }
    const tooLarge = code === 'HPE_HEADER_OVERFLOW';
    const message = describeParseError(code, err.reason, this.ctx.options.maxHeaderSize);
    const ex = this.refused(socket, err.rawPacket, {
      code: 'bad_request',
      message,
      phase: 'request',
      ...(code ? { detail: code } : {}),
    });
    socket.end(rawTextResponse(tooLarge ? 431 : 400, `${message}\n`));
    this.ctx.hooks.emit('error', ex);
  }

  /** A request Loupe refused before it was whole, named after its request line where it can be. */
  private refused(socket: Socket, raw: Buffer | undefined, error: FlowError): Exchange {
    const first = raw?.subarray(0, 2048).toString('latin1').split(/\r?\n/, 1)[0] ?? '';
    const m = /^([A-Z][A-Z0-9_-]{0,31}) (\S{1,2000}) HTTP\/\d\.\d$/.exec(first);
    return {
      id: this.ctx.newId(),
      startedAt: Date.now(),
      client: { address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 },
      clientConnectionId: this.clientId(socket),
      request: {
        method: m?.[1] ?? '-',
        url: m?.[2] ?? '',
        httpVersion: 'HTTP/1.1',
        headers: [],
        trailers: [],
        bodySize: 0,
      },
      timings: emptyTimings(),
      reused: false,
      tags: ['rejected'],
      error,
    };
  }
}

/** Listens on host:port; rejects with a plain-words error when that cannot be. */
function listenOn(
  server: net.Server,
  host: string,
  port: number,
): Promise<{ host: string; port: number }> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      const fail = (message: string): void =>
        reject(Object.assign(new Error(message), { code: err.code }));
      if (err.code === 'EADDRINUSE') {
        fail(
          `Port ${port} on ${host} is already in use. Choose another with --port, or --port 0 for a free one.`,
        );
      } else if (err.code === 'EACCES') {
        fail(
          `Not allowed to listen on ${host}:${port}; ports below 1024 need privileges. Choose another with --port.`,
        );
      } else if (err.code === 'EADDRNOTAVAIL') {
        fail(`${host} is not an address of this machine; choose another with --host.`);
      } else {
        reject(err);
      }
    };
    server.once('error', onError);
    server.listen({ host, port }, () => {
      server.removeListener('error', onError);
      const addr = server.address() as net.AddressInfo;
      resolve({ host: addr.address, port: addr.port });
    });
  });
}

/** True when a connection's first bytes can be the start of an HTTP/1.x request line. */
function looksLikeHttp(chunk: Buffer): boolean {
  const text = chunk.subarray(0, 8192).toString('latin1');
  const eol = text.indexOf('\n');
  if (eol < 0) return /^[A-Z][A-Z0-9_-]{0,19}( |$)/.test(text);
  return /^[A-Z][A-Z0-9_-]{0,19} \S+ HTTP\/\d\.\d\r?$/.test(text.slice(0, eol));
}

/** A set that forgets its oldest entries beyond `max`. */
function boundedSet(max: number): { has(key: string): boolean; add(key: string): void } {
  const set = new Set<string>();
  return {
    has: (key) => set.has(key),
    add(key) {
      set.delete(key);
      set.add(key);
      if (set.size > max) set.delete(set.values().next().value!);
    },
  };
}

/** Ends a connection that has nothing in flight, then lets it go once that is sent. */
function closeQuietly(socket: Socket): void {
  socket.end(() => socket.destroy());
}

/** Where a decrypted connection's origin is kept: on its socket, which HTTP/2 reaches by proxy. */
const ORIGIN = Symbol('loupe.origin');
type OriginCarrier = { [ORIGIN]?: TlsOrigin };

function originOf(socket: unknown): TlsOrigin | undefined {
  return socket ? (socket as OriginCarrier)[ORIGIN] : undefined;
}

function authorityOf(origin: TlsOrigin): string {
  const host = origin.host.includes(':') ? `[${origin.host}]` : origin.host;
  return origin.port === 443 ? host : `${host}:${origin.port}`;
}

/**
 * The absolute URL of a request on a decrypted connection: the connection's origin (from SNI or
 * CONNECT, never the Host header) and the request target as the client wrote it.
 */
function tlsUrl(origin: TlsOrigin, raw: string): string | undefined {
  let path = raw;
  if (!raw.startsWith('/')) {
    // Absolute form inside TLS is legal but rare; only its path and query are used.
    const m = /^https?:\/\/[^/?#]*(.*)$/i.exec(raw);
    if (!m) return undefined;
    path = m[1] ? (m[1].startsWith('/') ? m[1] : `/${m[1]}`) : '/';
  }
  const url = `https://${authorityOf(origin)}${path.split('#', 1)[0]}`;
  try {
    new URL(url);
    return url;
  } catch {
    return undefined;
  }
}

function plain(status: number, statusText: string, text: string): LocalResponse {
  const body = Buffer.from(text);
  return {
    status,
    statusText,
    headers: [
      ['Content-Type', 'text/plain; charset=utf-8'],
      ['Content-Length', String(body.length)],
    ],
    body,
  };
}

/** Words for the parser errors a client can provoke. */
function describeParseError(
  code: string,
  reason: string | undefined,
  maxHeaderSize: number,
): string {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return `The request's header section is larger than ${Math.round(maxHeaderSize / 1024)} KiB; Loupe refused it.`;
    case 'HPE_UNEXPECTED_CONTENT_LENGTH':
    case 'HPE_INVALID_TRANSFER_ENCODING':
      // llhttp reports Content-Length beside Transfer-Encoding under either code.
      return /content-length/i.test(reason ?? '') || code === 'HPE_UNEXPECTED_CONTENT_LENGTH'
        ? 'The request has both Content-Length and Transfer-Encoding. Loupe refuses it rather than guess which one the server would obey (request smuggling).'
        : 'The request has a Transfer-Encoding that does not end in chunked; Loupe refused it.';
    case 'HPE_INVALID_CONTENT_LENGTH':
      return 'The request has an invalid Content-Length, or several that disagree; Loupe refused it.';
    case 'HPE_LF_EXPECTED':
    case 'HPE_CR_EXPECTED':
    case 'HPE_STRICT':
      return 'The request ends its lines with a bare LF instead of CRLF; Loupe refused it.';
    case 'HPE_INVALID_HEADER_TOKEN':
      return 'The request has a malformed header line (an invalid character, or an obsolete folded continuation line); Loupe refused it.';
    case 'HPE_INVALID_VERSION':
      return reason?.includes('CRLF')
        ? 'The request ends its lines with a bare LF instead of CRLF; Loupe refused it.'
        : 'The request line does not end in a valid HTTP version (HTTP/1.0 or HTTP/1.1); Loupe refused it.';
    case 'HPE_INVALID_METHOD':
      return 'The connection did not start with an HTTP request; Loupe refused it.';
    default:
      return `The request is not valid HTTP/1.1 (${reason ?? code}); Loupe refused it.`;
  }
}

function splitHostHeader(value: string): [string, number | undefined] {
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(value.trim());
  if (!m) return [value, undefined];
  return [m[1]!, m[2] ? Number(m[2]) : undefined];
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** The names this machine answers to on the listening address. */
function selfHostsFor(listenHost: string): Set<string> {
  const hosts = new Set<string>([bareHost(listenHost).toLowerCase()]);
  if (listenHost === '0.0.0.0' || listenHost === '::') {
    hosts.add(os.hostname().toLowerCase());
    for (const list of Object.values(os.networkInterfaces())) {
      for (const info of list ?? []) hosts.add(info.address.toLowerCase());
    }
  }
  return hosts;
}
