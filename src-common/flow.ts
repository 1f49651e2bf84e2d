/**
 * The flow model: what Loupe records about one exchange or one tunnel.
 *
 * Glossary
 * - flow: one recorded unit of traffic. An `HttpFlow` is a request and (maybe) its response; a
 *   `TunnelFlow` is a connection relayed as raw bytes (a CONNECT tunnel that was not decrypted).
 * - raw headers: ordered `[name, value]` pairs exactly as received. Case and order are data and
 *   are never normalised.
 * - body reference: bodies are not part of a flow; a flow carries a `BodyInfo` whose `bodyId`
 *   names the bytes in the body store, fetched on demand.
 * - timings: milliseconds per phase, `-1` where the phase did not happen (HAR's convention).
 *
 * Everything here is plain, serializable data: it crosses IPC and WebSocket unchanged.
 */
import type { WebSocketRecord } from './websocket';

export type HeaderPair = [name: string, value: string];

/** Stable error codes. Tests, the UI and HAR comments rely on these strings; never rename one. */
export const FLOW_ERROR_CODES = [
  'dns_failed',
  'connection_refused',
  'connection_failed',
  'upstream_timeout',
  'upstream_reset',
  'malformed_response',
  'client_aborted',
  'bad_request',
  'upstream_proxy_failed',
  'tunnel_failed',
  'internal_error',
  'upstream_certificate_invalid',
  'tls_handshake_failed',
] as const;
export type FlowErrorCode = (typeof FLOW_ERROR_CODES)[number];

export interface FlowError {
  code: FlowErrorCode;
  /** Plain words: what happened and, where it helps, what to do. */
  message: string;
  /** Where in the exchange it happened. */
  phase: 'connect' | 'request' | 'response' | 'tunnel';
  /** The underlying system or parser code (ECONNRESET, HPE_INVALID_CONSTANT…), for the curious. */
  detail?: string;
}

export interface BodyInfo {
  /** Bytes of the body as sent on the wire (after transfer decoding, before content decoding). */
  size: number;
  /** Bytes kept in the body store: min(size, capture cap). */
  captured: number;
  /** True when `captured < size` because the capture cap was reached. Forwarding is unaffected. */
  truncated: boolean;
  /**
   * Why fewer bytes were kept than the cap allows, in words: set when Loupe stopped keeping the
   * body before the cap (`truncated` too). Forwarding is unaffected.
   */
  truncatedReason?: string;
  /** Body-store key; absent when the body is empty or capture was off. */
  bodyId?: string;
  /**
   * Bytes after Content-Encoding is undone, set once known for an encoded body (computed after
   * the exchange, off the forwarding path). Absent for unencoded bodies, where it equals `size`,
   * and where decoding failed or stopped at its cap.
   */
  decodedSize?: number;
  /**
   * The stored bytes are already decoded, as an imported HAR's text is; nothing to undo. `size`
   * stays the wire size the file gave, where it gave one.
   */
  contentDecoded?: true;
}

export interface FlowTimings {
  /** Waiting for a pooled connection or a queued pipelined request. */
  blocked: number;
  dns: number;
  connect: number;
  /** TLS handshake; part of `connect` as HAR defines it. */
  ssl: number;
  send: number;
  wait: number;
  receive: number;
}

export interface RequestRecord {
  method: string;
  /** Absolute URL as the client meant it (scheme, host, port, path and query). */
  url: string;
  /** `HTTP/1.1`, `HTTP/1.0`, later `HTTP/2`. */
  httpVersion: string;
  headers: HeaderPair[];
  trailers: HeaderPair[];
  body: BodyInfo;
}

export interface ResponseRecord {
  status: number;
  statusText: string;
  httpVersion: string;
  headers: HeaderPair[];
  trailers: HeaderPair[];
  body: BodyInfo;
}

export interface Endpoint {
  host: string;
  port: number;
  /** The IP address actually used, when known. */
  address?: string;
}

/** One certificate of a chain, summarised for display. */
export interface CertSummary {
  subject: string;
  issuer: string;
  /** ISO dates. */
  validFrom: string;
  validTo: string;
  /** DNS names and IP addresses of the subjectAltName. */
  san: string[];
  fingerprint256: string;
}

/** One leg of a TLS connection as negotiated. */
export interface TlsLeg {
  /** `TLSv1.3`, `TLSv1.2`… */
  version?: string;
  /** OpenSSL's cipher name (`TLS_AES_128_GCM_SHA256`). */
  cipher?: string;
  /** The negotiated application protocol (`h2`, `http/1.1`); absent when none was. */
  alpn?: string;
  /** The server name the client sent (client leg) or Loupe sent (upstream leg). */
  sni?: string;
}

/** TLS on both legs of a decrypted exchange. */
export interface TlsInfo {
  /** Between the client and Loupe (Loupe's own certificate). */
  client?: TlsLeg;
  /** Between Loupe and the server, with the server's certificate chain, leaf first. */
  upstream?: TlsLeg & { chain?: CertSummary[]; verified?: boolean };
}

/** What a client offered in its ClientHello, for tunnels and failed handshakes. */
export interface ClientHelloSummary {
  sni?: string;
  alpn: string[];
  versions: string[];
}

export type FlowState = 'pending' | 'complete' | 'error';

interface FlowBase {
  id: string;
  /** Order of arrival, 1-based, per session. */
  seq: number;
  /** Wall-clock start, ms since the epoch. */
  startedAt: number;
  state: FlowState;
  client: { address: string; port: number };
  error?: FlowError;
  /** Free-form markers set by addons (`loupe-page`, `upstream-proxy`, …). */
  tags: string[];
}

export interface HttpFlow extends FlowBase {
  kind: 'http';
  request: RequestRecord;
  response?: ResponseRecord;
  server?: Endpoint;
  /** Set for HTTPS exchanges Loupe decrypted. */
  tls?: TlsInfo;
  timings: FlowTimings;
  connection: {
    /** Stable id of the client connection, for grouping keep-alive and pipelined requests. */
    clientConnectionId: string;
    /** Stable id of the upstream connection; absent when none was made. */
    upstreamConnectionId?: string;
    /** True when the upstream connection came from the pool. */
    reused: boolean;
  };
  /** Set after a WebSocket handshake's 101: the messages that followed. */
  websocket?: WebSocketRecord;
}

export interface TunnelFlow extends FlowBase {
  kind: 'tunnel';
  /** What the client asked for in CONNECT. */
  target: Endpoint;
  /** What the first client bytes looked like: TLS that was not decrypted, or something else. */
  protocol: 'tls' | 'unknown';
  bytesUp: number;
  bytesDown: number;
  durationMs: number;
  /** Why the tunnel was not decrypted, in words (e.g. "on the SSL bypass list"). */
  reason?: string;
  /** The client's ClientHello, when it started TLS. */
  hello?: ClientHelloSummary;
}

export type Flow = HttpFlow | TunnelFlow;

/** Timings of a flow where no phase has happened yet. */
export function emptyTimings(): FlowTimings {
  return { blocked: -1, dns: -1, connect: -1, ssl: -1, send: -1, wait: -1, receive: -1 };
}

export function emptyBody(): BodyInfo {
  return { size: 0, captured: 0, truncated: false };
}

/** First value of a header, case-insensitively, or undefined. */
export function headerValue(headers: readonly HeaderPair[], name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const [n, v] of headers) if (n.toLowerCase() === lower) return v;
  return undefined;
}

/** Every value of a header, case-insensitively, in order. */
export function headerValues(headers: readonly HeaderPair[], name: string): string[] {
  const lower = name.toLowerCase();
  const out: string[] = [];
  for (const [n, v] of headers) if (n.toLowerCase() === lower) out.push(v);
  return out;
}

/** Total duration of an HTTP flow in ms from its timings, ignoring phases that did not happen. */
export function totalTime(t: FlowTimings): number {
  let sum = 0;
  for (const key of ['blocked', 'dns', 'connect', 'send', 'wait', 'receive'] as const) {
    if (t[key] > 0) sum += t[key];
  }
  return sum;
}
