/**
 * Typed hooks: the engine's only way of telling the rest of Loupe what happens. The engine knows
 * nothing of flows, UI or Electron; addons (capture, breakpoints, bypass learning, rules)
 * subscribe here.
 *
 * Handlers of `requestHeaders` and `responseHeaders` may return a promise; the engine awaits it
 * before forwarding (this is where a breakpoint pauses). Every other hook is fire-and-forget and
 * must not throw: a throwing handler is reported on `internalError` and never breaks traffic.
 */
import type {
  ClientHelloSummary,
  Endpoint,
  FlowError,
  FlowTimings,
  HeaderPair,
  TlsInfo,
} from '../../src-common/flow';
import type { WebSocketSummary, WsMessage } from '../../src-common/websocket';

/** The engine's live view of one HTTP exchange. Addons read it; only the engine writes it. */
export interface Exchange {
  /** Unique id, also the flow id. */
  readonly id: string;
  readonly startedAt: number;
  readonly client: { address: string; port: number };
  readonly clientConnectionId: string;
  request: {
    method: string;
    url: string;
    httpVersion: string;
    headers: HeaderPair[];
    trailers: HeaderPair[];
    /** Bytes of request body forwarded so far. */
    bodySize: number;
  };
  response?: {
    status: number;
    statusText: string;
    httpVersion: string;
    headers: HeaderPair[];
    trailers: HeaderPair[];
    bodySize: number;
  };
  server?: Endpoint;
  /** TLS on both legs, for exchanges inside a decrypted connection. */
  tls?: TlsInfo;
  timings: FlowTimings;
  upstreamConnectionId?: string;
  reused: boolean;
  tags: string[];
  error?: FlowError;
  /** Set after a WebSocket handshake's 101: what is known beyond its messages. */
  websocket?: WebSocketSummary;
}

/** A connection relayed as raw bytes. */
export interface Tunnel {
  readonly id: string;
  readonly startedAt: number;
  readonly client: { address: string; port: number };
  readonly target: Endpoint;
  protocol: 'tls' | 'unknown';
  bytesUp: number;
  bytesDown: number;
  /** Set when the tunnel has closed. */
  durationMs?: number;
  reason?: string;
  /** The client's ClientHello, when it started TLS. */
  hello?: ClientHelloSummary;
  tags: string[];
  error?: FlowError;
}

/** Why a client's TLS handshake with Loupe failed, as far as Loupe can tell. */
export type HandshakeFailureKind =
  /** A certificate alert (unknown_ca, bad_certificate, certificate_unknown…). */
  | 'certificate_rejected'
  /**
   * The client received Loupe's certificate and closed cleanly without an alert or a request
   * (pinning checked after the handshake, or a client that rejects silently).
   */
  | 'closed_after_handshake'
  /** No cipher or version both sides accept. */
  | 'no_shared_cipher'
  /** The client reset or closed the connection mid-handshake without an alert. */
  | 'reset'
  | 'timeout'
  | 'other';

/** The outcome of a TLS handshake between a client and Loupe. */
export interface HandshakeReport {
  /** The host the leaf was minted for (SNI, else the CONNECT host). */
  host: string;
  port: number;
  ok: boolean;
  failure?: HandshakeFailureKind;
  /** The client's address, for telling several clients apart. */
  clientAddress: string;
}

export interface HookHandlers {
  /** Request head parsed; not yet forwarded. May pause by returning a promise. */
  requestHeaders(ex: Exchange): void | Promise<void>;
  /** A chunk of request body, as forwarded. The buffer must not be kept beyond the call unless copied. */
  requestBody(ex: Exchange, chunk: Buffer): void;
  /** Request body complete (trailers known). */
  request(ex: Exchange): void;
  /** Response head received; not yet forwarded. May pause by returning a promise. */
  responseHeaders(ex: Exchange): void | Promise<void>;
  responseBody(ex: Exchange, chunk: Buffer): void;
  /** Response complete: the exchange is done. */
  response(ex: Exchange): void;
  /** The exchange failed; `ex.error` says how. The exchange is done. */
  error(ex: Exchange): void;
  tunnelOpen(t: Tunnel): void;
  /** The tunnel closed (cleanly or with `t.error`). */
  tunnelClose(t: Tunnel): void;
  /** A client finished (or failed) a TLS handshake with Loupe's certificate. */
  tlsHandshake(report: HandshakeReport): void;
  /** A handler threw or rejected; reported so a bug in an addon is visible, never fatal. */
  internalError(err: unknown, hook: string): void;
  /**
   * A WebSocket message completed, in either direction (after the 101 of `ex`). The exchange's
   * `response` hook comes once the connection has closed and every message has been emitted.
   */
  wsMessage(ex: Exchange, msg: WsMessage): void;
}

export type HookName = keyof HookHandlers;

type HandlerList = { [K in HookName]: HookHandlers[K][] };

/** A small typed emitter. Subscribing returns the function that unsubscribes. */
export class Hooks {
  private readonly handlers: HandlerList = {
    requestHeaders: [],
    requestBody: [],
    request: [],
    responseHeaders: [],
    responseBody: [],
    response: [],
    error: [],
    tunnelOpen: [],
    tunnelClose: [],
    tlsHandshake: [],
    internalError: [],
    wsMessage: [],
  };

  on<K extends HookName>(name: K, handler: HookHandlers[K]): () => void {
    const list = this.handlers[name] as HookHandlers[K][];
    list.push(handler);
    return () => {
      const i = list.indexOf(handler);
      if (i >= 0) list.splice(i, 1);
    };
  }

  /** True when someone listens; lets the engine skip work on the hot path. */
  has(name: HookName): boolean {
    return this.handlers[name].length > 0;
  }

  /** Calls fire-and-forget handlers; errors are routed to `internalError`. */
  emit<K extends Exclude<HookName, 'requestHeaders' | 'responseHeaders' | 'internalError'>>(
    name: K,
    ...args: Parameters<HookHandlers[K]>
  ): void {
    const list = this.handlers[name] as ((...a: Parameters<HookHandlers[K]>) => void)[];
    for (const handler of list) {
      try {
        handler(...args);
      } catch (err) {
        this.reportError(err, name);
      }
    }
  }

  /**
   * Calls a pausable hook and resolves when every handler has finished. Resolves synchronously
   * (returns undefined) when no handler returned a promise, keeping the hot path free of
   * microtask hops.
   */
  emitPausable(
    name: 'requestHeaders' | 'responseHeaders',
    ex: Exchange,
  ): Promise<void> | undefined {
    let pending: Promise<void>[] | undefined;
    for (const handler of this.handlers[name]) {
      try {
        const result = handler(ex);
        if (result)
          (pending ??= []).push(result.catch((err: unknown) => this.reportError(err, name)));
      } catch (err) {
        this.reportError(err, name);
      }
    }
    return pending ? Promise.all(pending).then(() => undefined) : undefined;
  }

  private reportError(err: unknown, hook: string): void {
    for (const handler of this.handlers.internalError) {
      try {
        handler(err, hook);
      } catch {
        // An error reporter that throws has nowhere left to report to.
      }
    }
  }
}
