/** One factory per model type: a valid flow with every field set, overridable per test. */
import { randomUUID } from 'node:crypto';
import type { HttpFlow, TunnelFlow } from '../../src-common/flow';

let seq = 0;

export function makeFlow(overrides: Partial<HttpFlow> = {}): HttpFlow {
  const id = overrides.id ?? randomUUID();
  return {
    kind: 'http',
    id,
    seq: ++seq,
    startedAt: Date.UTC(2026, 10, 24, 12, 0, 0, 123),
    state: 'complete',
    client: { address: '127.0.0.1', port: 50000 },
    request: {
      method: 'GET',
      url: 'http://api.example.test/items?page=2&q=a%20b',
      httpVersion: 'HTTP/1.1',
      headers: [
        ['Host', 'api.example.test'],
        ['Accept', 'application/json'],
      ],
      trailers: [],
      body: { size: 0, captured: 0, truncated: false },
    },
    response: {
      status: 200,
      statusText: 'OK',
      httpVersion: 'HTTP/1.1',
      headers: [
        ['Content-Type', 'application/json'],
        ['Content-Length', '2'],
      ],
      trailers: [],
      body: { size: 2, captured: 2, truncated: false, bodyId: `${id}:res` },
    },
    server: { host: 'api.example.test', port: 80, address: '127.0.0.1' },
    timings: { blocked: 0.1, dns: 1, connect: 2, ssl: -1, send: 0.2, wait: 5, receive: 0.5 },
    connection: { clientConnectionId: 'c1', upstreamConnectionId: 'u1', reused: false },
    tags: [],
    ...overrides,
  };
}

export function makeTunnel(overrides: Partial<TunnelFlow> = {}): TunnelFlow {
  return {
    kind: 'tunnel',
    id: overrides.id ?? randomUUID(),
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
