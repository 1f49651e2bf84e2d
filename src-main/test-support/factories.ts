/**
 * One factory per model type: a valid value with every field set, overridable per test. Flows
 * (`makeFlow`, `makeTunnel`, with `makeRequest`, `makeResponse`, `makeBody` for their parts) are
 * what the stores and HAR export see; `makeExchange` and `makeLiveTunnel` are the engine's live
 * views, for driving hooks without sockets.
 */
import { randomUUID } from 'node:crypto';
import type {
  BodyInfo,
  HttpFlow,
  RequestRecord,
  ResponseRecord,
  TunnelFlow,
} from '../../src-common/flow';
import { emptyTimings } from '../../src-common/flow';
import type { Exchange, Tunnel } from '../engine/hooks';

let seq = 0;

export function makeBody(overrides: Partial<BodyInfo> = {}): BodyInfo {
  return { size: 0, captured: 0, truncated: false, ...overrides };
}

export function makeRequest(overrides: Partial<RequestRecord> = {}): RequestRecord {
  return {
    method: 'GET',
    url: 'http://api.example.test/items?page=2&q=a%20b',
    httpVersion: 'HTTP/1.1',
    headers: [
      ['Host', 'api.example.test'],
      ['Accept', 'application/json'],
    ],
    trailers: [],
    body: makeBody(),
    ...overrides,
  };
}

export function makeResponse(overrides: Partial<ResponseRecord> = {}): ResponseRecord {
  return {
    status: 200,
    statusText: 'OK',
    httpVersion: 'HTTP/1.1',
    headers: [
      ['Content-Type', 'application/json'],
      ['Content-Length', '2'],
    ],
    trailers: [],
    body: makeBody({ size: 2, captured: 2 }),
    ...overrides,
  };
}

/**
 * A complete HTTP/1.1 GET with a 2-byte JSON answer whose body id is `<id>:res` (nothing is put
 * in a body store); `response: undefined` makes one without an answer.
 */
export function makeFlow(overrides: Partial<HttpFlow> = {}): HttpFlow {
  const id = overrides.id ?? randomUUID();
  return {
    kind: 'http',
    id,
    seq: ++seq,
    startedAt: Date.UTC(2026, 10, 24, 12, 0, 0, 123),
    state: 'complete',
    client: { address: '127.0.0.1', port: 50000 },
    request: makeRequest(),
    response: makeResponse({ body: makeBody({ size: 2, captured: 2, bodyId: `${id}:res` }) }),
    server: { host: 'api.example.test', port: 80, address: '127.0.0.1' },
    timings: { blocked: 0.1, dns: 1, connect: 2, ssl: -1, send: 0.2, wait: 5, receive: 0.5 },
    connection: { clientConnectionId: 'c1', upstreamConnectionId: 'u1', reused: false },
    tags: [],
    ...overrides,
  };
}

/** A closed TLS tunnel that was relayed without decryption. */
export function makeTunnel(overrides: Partial<TunnelFlow> = {}): TunnelFlow {
  return {
    kind: 'tunnel',
    id: randomUUID(),
    seq: ++seq,
    startedAt: Date.UTC(2026, 10, 24, 12, 0, 1),
    state: 'complete',
    client: { address: '127.0.0.1', port: 50001 },
    target: { host: 'secure.example.test', port: 443, address: '127.0.0.1' },
    protocol: 'tls',
    bytesUp: 517,
    bytesDown: 4096,
    durationMs: 250,
    reason: 'TLS relayed without decryption.',
    tags: [],
    ...overrides,
  };
}

/** The engine's view of an exchange whose request head has just been parsed. */
export function makeExchange(overrides: Partial<Exchange> = {}): Exchange {
  return {
    id: randomUUID(),
    startedAt: Date.UTC(2026, 10, 24, 12, 0, 2),
    client: { address: '127.0.0.1', port: 50002 },
    clientConnectionId: 'c1',
    request: {
      method: 'GET',
      url: 'http://api.example.test/items',
      httpVersion: 'HTTP/1.1',
      headers: [['Host', 'api.example.test']],
      trailers: [],
      bodySize: 0,
    },
    timings: emptyTimings(),
    reused: false,
    tags: [],
    ...overrides,
  };
}

/** The engine's view of a tunnel that has just opened. */
export function makeLiveTunnel(overrides: Partial<Tunnel> = {}): Tunnel {
  return {
    id: randomUUID(),
    startedAt: Date.UTC(2026, 10, 24, 12, 0, 3),
    client: { address: '127.0.0.1', port: 50003 },
    target: { host: 'secure.example.test', port: 443 },
    protocol: 'tls',
    bytesUp: 0,
    bytesDown: 0,
    tags: [],
    ...overrides,
  };
}
