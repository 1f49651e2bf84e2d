/**
 * What every part of the engine needs to handle a connection: shared per process. Only the
 * limits (`setLimits`) and `stripAltSvcH3` change while it runs; each is read when it is used.
 */
import type { SecureContext } from 'node:tls';
import type { Hooks } from './hooks';
import type { Upstream } from './upstream';

export interface EngineOptions {
  /** Idle time (no bytes either way) after which an upstream exchange fails with 504. */
  upstreamTimeoutMs: number;
  /** An HTTP/1 request head must be whole this long after its first byte; else 408. */
  headersTimeoutMs: number;
  /**
   * A new client connection (plain, after CONNECT, or decrypted once its TLS handshake is done)
   * must start its first request this soon; else it is closed.
   */
  firstRequestTimeoutMs: number;
  /** A client connection with no exchange in flight is closed after this long without one. */
  keepAliveTimeoutMs: number;
  /** Raw tunnels and upgraded connections (WebSockets) idle this long are closed; 0: never. */
  tunnelIdleTimeoutMs: number;
  /** Largest request head accepted; larger gets 431. */
  maxHeaderSize: number;
}

/** The limits on client connections, which the settings may change while the proxy runs. */
export type ClientLimits = Pick<
  EngineOptions,
  'headersTimeoutMs' | 'firstRequestTimeoutMs' | 'keepAliveTimeoutMs' | 'tunnelIdleTimeoutMs'
>;

export interface CaForPage {
  certPem: string;
  certDer: Buffer;
  /** Shown on the page so the user can compare before trusting. */
  fingerprint256: string;
}

export interface EngineContext {
  hooks: Hooks;
  upstream: Upstream;
  options: EngineOptions;
  /** True when host:port is this proxy itself (or the magic host `loupe.local`). */
  isSelf(host: string, port: number): boolean;
  /** True when host:port is on the SSL bypass list (never decrypted). */
  isBypassed(host: string, port: number): boolean;
  /**
   * HTTPS interception: a secure context presenting a leaf for a host (throws when no
   * certificate can name it). Absent: every CONNECT is relayed raw.
   */
  tls?: { contextFor(host: string): SecureContext };
  /** Strip `h3` entries from `Alt-Svc` so browsers stay on TCP, where Loupe sees them. */
  stripAltSvcH3: boolean;
  /** The CA certificate offered on the `loupe.local` page, when one is loaded. */
  ca?: CaForPage;
  /** A new id for a flow (exchange or tunnel). */
  newId(): string;
  /** A stable id for a client socket. */
  clientConnectionId(socket: import('node:net').Socket): string;
}
