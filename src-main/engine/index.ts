/**
 * The engine's public face: start a proxy, subscribe to its hooks, close it. Runs on plain Node;
 * nothing here knows of flows, UI or Electron.
 */
import type { SecureContext } from 'node:tls';
import type { CaForPage, ClientLimits, EngineOptions } from './context';
import { Hooks } from './hooks';
import { ProxyServer } from './proxy-server';
import { Upstream, parseUpstreamProxy } from './upstream';

export { Hooks } from './hooks';
export type {
  Exchange,
  Tunnel,
  HookHandlers,
  HookName,
  HandshakeReport,
  HandshakeFailureKind,
} from './hooks';
export type { CaForPage, ClientLimits } from './context';
export { parseUpstreamProxy } from './upstream';

export interface ProxyOptions {
  /** Address to listen on; loopback unless the user asks otherwise. */
  host?: string;
  /** Port to listen on; 0 picks a free one. */
  port?: number;
  hooks?: Hooks;
  /** `--resolve HOST=ADDR`: connect HOST to ADDR instead of resolving it. */
  resolve?: Iterable<[string, string]>;
  /** `--upstream-proxy URL`: chain through another proxy. */
  upstreamProxy?: string;
  /** The SSL bypass list: hosts that are never decrypted, only tunnelled. */
  isBypassed?: (host: string, port: number) => boolean;
  /** Hosts that bypass the upstream proxy. */
  noProxy?: (host: string, port: number) => boolean;
  /** Extra trusted roots (PEM) for TLS to an upstream proxy; added to Node's and the OS's. */
  trustedCa?: string[];
  /** Offered on the `loupe.local` page. */
  ca?: CaForPage;
  /**
   * HTTPS interception: secure contexts presenting Loupe's leaf per host (certs/leaf.ts's
   * LeafMinter). Absent: every CONNECT is relayed raw.
   */
  tls?: { contextFor(host: string): SecureContext };
  /** Strip `h3` from `Alt-Svc` on relayed responses (default true). */
  stripAltSvcH3?: boolean;
  /** Hosts whose invalid upstream certificates are accepted (the user's exceptions). */
  allowInvalidCertificate?: (host: string, port: number) => boolean;
  upstreamTimeoutMs?: number;
  headersTimeoutMs?: number;
  firstRequestTimeoutMs?: number;
  keepAliveTimeoutMs?: number;
  /** 0 (the default): tunnels and WebSockets are never closed for being idle. */
  tunnelIdleTimeoutMs?: number;
  maxHeaderSize?: number;
}

export interface RunningProxy {
  readonly host: string;
  readonly port: number;
  /** `http://HOST:PORT`, IPv6 in brackets. */
  readonly url: string;
  readonly hooks: Hooks;
  /**
   * Call after the bypass predicate's answers changed: closes decrypted connections whose host
   * is now bypassed and bypassed tunnels whose host no longer is. Returns how many closed.
   */
  bypassChanged(): number;
  /** Turns the stripping of `h3` from `Alt-Svc` on or off, from the next response on. */
  setStripAltSvcH3(on: boolean): void;
  /** Changes limits on client connections, each from the next time it starts counting. */
  setLimits(limits: Partial<ClientLimits>): void;
  /**
   * Moves the proxy to another port of the same address. `beforeCommit` runs once the new port
   * listens and before the old one stops (the caller saves the setting there); if it throws,
   * the new listener is closed and the proxy stays where it was. Connections open on the old
   * port go on until they end. Rejects (with `code` EADDRINUSE, EACCES…) when the port cannot
   * be had, nothing changed.
   */
  moveTo(port: number, beforeCommit?: (port: number) => Promise<void>): Promise<void>;
  close(): Promise<void>;
}

export const DEFAULT_ENGINE_OPTIONS: EngineOptions = {
  upstreamTimeoutMs: 120_000,
  headersTimeoutMs: 60_000,
  firstRequestTimeoutMs: 60_000,
  // Not Node's 5 s, which suits a server behind a load balancer: browsers keep connections to
  // their proxy and reuse them for minutes, and a close that crosses a new request makes them
  // retry it (or fail it, when it is not idempotent). Above Firefox's 115 s keep-alive.
  keepAliveTimeoutMs: 120_000,
  tunnelIdleTimeoutMs: 0,
  maxHeaderSize: 64 * 1024,
};

/** Starts a proxy. Rejects with a plain-words Error on a bad option or a port in use. */
export async function startProxy(opts: ProxyOptions = {}): Promise<RunningProxy> {
  const host = opts.host ?? '127.0.0.1';
  const hooks = opts.hooks ?? new Hooks();
  const upstreamProxy = opts.upstreamProxy ? parseUpstreamProxy(opts.upstreamProxy) : undefined;
  const resolve = new Map<string, string>();
  for (const [name, addr] of opts.resolve ?? [])
    resolve.set(name.toLowerCase().replace(/\.$/, ''), addr);
  const upstream = new Upstream({
    resolve,
    ...(upstreamProxy ? { upstreamProxy } : {}),
    ...(opts.noProxy ? { noProxy: opts.noProxy } : {}),
    ...(opts.trustedCa ? { ca: opts.trustedCa } : {}),
    ...(opts.allowInvalidCertificate
      ? { allowInvalidCertificate: opts.allowInvalidCertificate }
      : {}),
  });
  const server = new ProxyServer({
    hooks,
    upstream,
    isBypassed: opts.isBypassed ?? (() => false),
    stripAltSvcH3: opts.stripAltSvcH3 ?? true,
    ...(opts.tls ? { tls: opts.tls } : {}),
    options: {
      upstreamTimeoutMs: opts.upstreamTimeoutMs ?? DEFAULT_ENGINE_OPTIONS.upstreamTimeoutMs,
      headersTimeoutMs: opts.headersTimeoutMs ?? DEFAULT_ENGINE_OPTIONS.headersTimeoutMs,
      firstRequestTimeoutMs:
        opts.firstRequestTimeoutMs ?? DEFAULT_ENGINE_OPTIONS.firstRequestTimeoutMs,
      keepAliveTimeoutMs: opts.keepAliveTimeoutMs ?? DEFAULT_ENGINE_OPTIONS.keepAliveTimeoutMs,
      tunnelIdleTimeoutMs: opts.tunnelIdleTimeoutMs ?? DEFAULT_ENGINE_OPTIONS.tunnelIdleTimeoutMs,
      maxHeaderSize: opts.maxHeaderSize ?? DEFAULT_ENGINE_OPTIONS.maxHeaderSize,
    },
    ...(opts.ca ? { ca: opts.ca } : {}),
  });
  const bound = await server.listen(host, opts.port ?? 0);
  if (upstreamProxy && server.ctx.isSelf(upstreamProxy.host, upstreamProxy.port)) {
    await server.close();
    throw new Error(
      `The upstream proxy ${upstreamProxy.display} is this Loupe itself; chaining to it would loop.`,
    );
  }
  const urlHost = bound.host.includes(':') ? `[${bound.host}]` : bound.host;
  let port = bound.port;
  let moving: Promise<void> = Promise.resolve();
  return {
    host: bound.host,
    get port() {
      return port;
    },
    get url() {
      return `http://${urlHost}:${port}`;
    },
    hooks,
    bypassChanged: () => server.bypassChanged(),
    setStripAltSvcH3(on) {
      server.ctx.stripAltSvcH3 = on;
    },
    setLimits: (limits) => server.setLimits(limits),
    moveTo(to, beforeCommit) {
      // One move at a time: a second waits for the first, then starts from where it left.
      const run = moving.then(async () => {
        const next = await server.prepareMove(host, to);
        try {
          await beforeCommit?.(next.port);
        } catch (err) {
          await next.cancel();
          throw err;
        }
        next.commit();
        port = next.port;
      });
      moving = run.catch(() => undefined);
      return run;
    },
    close: () => server.close(),
  };
}
