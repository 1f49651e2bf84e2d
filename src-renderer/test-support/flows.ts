/**
 * Test flows for the renderer's pure logic: plain objects shaped like the session's summaries
 * (the renderer may not import src-main's factories). Every field is set; override per test.
 */
import type { FlowSummary, HttpFlowSummary } from '../../src-common/api/contract';
import type { TunnelFlow } from '../../src-common/flow';

let seq = 0;

/** A complete GET with a 200 JSON answer; `seq` and `id` count up unless given. */
export function httpFlow(
  overrides: Partial<HttpFlowSummary> & { status?: number } = {},
): FlowSummary {
  const n = overrides.seq ?? ++seq;
  const { status = 200, ...rest } = overrides;
  return {
    kind: 'http',
    id: `f${n}`,
    seq: n,
    startedAt: Date.UTC(2026, 10, 24, 12, 0, 0, n),
    state: 'complete',
    client: { address: '127.0.0.1', port: 50000 },
    request: {
      method: 'GET',
      url: `http://api.example.test/items/${n}`,
      httpVersion: 'HTTP/1.1',
      headers: [['Host', 'api.example.test']],
      trailers: [],
      body: { size: 0, captured: 0, truncated: false },
    },
    response: {
      status,
      statusText: 'OK',
      httpVersion: 'HTTP/1.1',
      headers: [['Content-Type', 'application/json; charset=utf-8']],
      trailers: [],
      body: { size: 100 + n, captured: 100 + n, truncated: false },
    },
    server: { host: 'api.example.test', port: 80 },
    timings: { blocked: 0, dns: 1, connect: 2, ssl: -1, send: 0, wait: 5, receive: 1 },
    connection: { clientConnectionId: 'c1', reused: false },
    tags: [],
    ...rest,
  } as HttpFlowSummary;
}

/** `flow` with a new object for a new URL host. */
export function onHost(flow: FlowSummary, host: string): FlowSummary {
  if (flow.kind !== 'http') return flow;
  return { ...flow, request: { ...flow.request, url: `https://${host}/p/${flow.seq}` } };
}

/** An in-flight request (no response yet). */
export function pendingFlow(overrides: Partial<HttpFlowSummary> = {}): FlowSummary {
  const f = httpFlow(overrides) as HttpFlowSummary;
  return { ...f, state: 'pending', response: undefined, ...overrides };
}

/** A tunnel whose client refused Loupe's certificate. */
export function failedHandshake(overrides: Partial<TunnelFlow> = {}): FlowSummary {
  const n = overrides.seq ?? ++seq;
  return {
    kind: 'tunnel',
    id: `t${n}`,
    seq: n,
    startedAt: Date.UTC(2026, 10, 24, 12, 0, 1, n),
    state: 'error',
    client: { address: '127.0.0.1', port: 50001 },
    target: { host: 'pinned.example.test', port: 443 },
    protocol: 'tls',
    bytesUp: 517,
    bytesDown: 0,
    durationMs: 20,
    error: {
      code: 'tls_handshake_failed',
      message: 'The client rejected Loupe’s certificate: it pins, or does not trust the CA.',
      phase: 'tunnel',
    },
    tags: [],
    ...overrides,
  };
}
