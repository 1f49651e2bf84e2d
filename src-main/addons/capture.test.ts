// Capture driven through a real Hooks instance with synthetic exchanges, emitted in the order
// and with the mutations the engine makes (capture-proxy.test.ts runs it behind the real proxy).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import zlib from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { HttpFlow, TunnelFlow } from '../../src-common/flow';
import { Hooks, type Exchange } from '../engine/hooks';
import { BodyStore } from '../flows/body-store';
import { FlowStore } from '../flows/flow-store';
import { makeExchange, makeLiveTunnel } from '../test-support/factories';
import { until } from '../test-support/wait';
import { createCapture, DEFAULT_BODY_CAP, MEMORY_CUT_REASON, type Capture } from './capture';

let dir: string;
let hooks: Hooks;
let flows: FlowStore;
let bodies: BodyStore;
let capture: Capture;
let internalErrors: unknown[];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'loupe-capture-'));
  hooks = new Hooks();
  internalErrors = [];
  hooks.on('internalError', (err) => internalErrors.push(err));
  flows = new FlowStore();
  bodies = new BodyStore({ dir });
  capture = createCapture({ hooks, flows, bodies, bodyCap: 10 });
});
afterEach(async () => {
  capture.dispose();
  await bodies.close();
  rmSync(dir, { recursive: true, force: true });
  expect(internalErrors).toEqual([]);
});

const flow = (id: string): HttpFlow => flows.get(id) as HttpFlow;

/** The engine's sequence for an exchange up to the response head. */
function start(ex: Exchange, requestBody: string[] = []): void {
  void hooks.emitPausable('requestHeaders', ex);
  for (const text of requestBody) {
    ex.request.bodySize += text.length;
    hooks.emit('requestBody', ex, Buffer.from(text));
  }
  hooks.emit('request', ex);
  ex.response = {
    status: 200,
    statusText: 'OK',
    httpVersion: 'HTTP/1.1',
    headers: [['Content-Type', 'text/plain']],
    trailers: [],
    bodySize: 0,
  };
  void hooks.emitPausable('responseHeaders', ex);
}

/** Response body chunks, then the end of the exchange. */
function respond(ex: Exchange, body: (string | Buffer)[] = []): void {
  for (const part of body) {
    const chunk = Buffer.from(part);
    ex.response!.bodySize += chunk.length;
    hooks.emit('responseBody', ex, chunk);
  }
  ex.timings = { blocked: 0, dns: 1, connect: 1, ssl: -1, send: 0, wait: 2, receive: 1 };
  hooks.emit('response', ex);
}

describe('capture', () => {
  it('marks a body cut, saying why, when the body store refuses its bytes', async () => {
    // Spills cannot happen (the folder is a file): past budget + slack, 8 bytes, the store refuses.
    const file = join(dir, 'a-file');
    writeFileSync(file, 'not a folder');
    const tight = new BodyStore({ dir: join(file, 'bodies'), memoryBudget: 4, memorySlack: 4 });
    const own = new Hooks();
    const flowsHere = new FlowStore();
    const c = createCapture({ hooks: own, flows: flowsHere, bodies: tight, bodyCap: 100 });
    try {
      const ex = makeExchange();
      void own.emitPausable('requestHeaders', ex);
      own.emit('request', ex);
      ex.response = {
        status: 200,
        statusText: 'OK',
        httpVersion: 'HTTP/1.1',
        headers: [],
        trailers: [],
        bodySize: 0,
      };
      void own.emitPausable('responseHeaders', ex);
      for (const part of ['abcde', 'fgh', 'ij']) {
        ex.response.bodySize += part.length;
        own.emit('responseBody', ex, Buffer.from(part));
      }
      own.emit('response', ex);
      const body = (flowsHere.get(ex.id) as HttpFlow).response!.body;
      expect(body).toEqual({
        size: 10,
        captured: 8,
        truncated: true,
        truncatedReason: MEMORY_CUT_REASON,
        bodyId: `${ex.id}:res`,
      });
      expect(MEMORY_CUT_REASON).toMatch(
        /^Loupe stopped keeping this body: captured bodies were using more memory than their budget and the disk could not keep up/,
      );
      expect((await tight.read(body.bodyId!)).toString()).toBe('abcdefgh');
    } finally {
      c.dispose();
      await tight.close();
    }
  });

  it('records an exchange from pending to complete, copying what the engine mutates', async () => {
    const ex = makeExchange({ request: { ...makeExchange().request, method: 'POST' } });
    void hooks.emitPausable('requestHeaders', ex);
    expect(flow(ex.id)).toMatchObject({ kind: 'http', seq: 1, state: 'pending' });
    expect(flow(ex.id).response).toBeUndefined();

    ex.request.headers.push(['Content-Length', '5']);
    hooks.emit('requestBody', ex, Buffer.from('hello'));
    hooks.emit('request', ex);
    expect(flow(ex.id).request.body).toMatchObject({ size: 5, captured: 5, truncated: false });

    ex.response = {
      status: 201,
      statusText: 'Created',
      httpVersion: 'HTTP/1.1',
      headers: [['Content-Type', 'text/plain']],
      trailers: [],
      bodySize: 0,
    };
    void hooks.emitPausable('responseHeaders', ex);
    expect(flow(ex.id)).toMatchObject({ state: 'pending', response: { status: 201 } });
    respond(ex, ['wor', 'ld']);

    const done = flow(ex.id);
    expect(done.state).toBe('complete');
    expect(done.response!.body).toMatchObject({ size: 5, captured: 5, truncated: false });
    expect((await bodies.read(done.request.body.bodyId!)).toString()).toBe('hello');
    expect((await bodies.read(done.response!.body.bodyId!)).toString()).toBe('world');
    expect(done.timings.wait).toBe(2);

    // The engine keeps writing to its exchange (and reuses header arrays): the flow must not move.
    ex.request.headers[0]![1] = 'changed.test';
    ex.response!.headers.push(['X-Late', '1']);
    ex.tags.push('late');
    expect(done.request.headers[0]).toEqual(['Host', 'api.example.test']);
    expect(done.response!.headers).toEqual([['Content-Type', 'text/plain']]);
    expect(done.tags).toEqual([]);
  });

  it('numbers flows in arrival order, exchanges and tunnels alike', () => {
    const [a, b] = [makeExchange(), makeExchange()];
    void hooks.emitPausable('requestHeaders', a);
    hooks.emit('tunnelOpen', makeLiveTunnel({ id: 't' }));
    void hooks.emitPausable('requestHeaders', b);
    respond(b);
    expect(flows.list().map((f) => [f.kind, f.seq])).toEqual([
      ['http', 1],
      ['tunnel', 2],
      ['http', 3],
    ]);
  });

  it('keeps a body up to the cap and counts all of it, copying each chunk', async () => {
    const ex = makeExchange();
    start(ex, ['0123', '4567']);
    const reused = Buffer.from('89abcdef');
    hooks.emit('responseBody', ex, reused);
    // The engine may reuse its buffer once the hook has returned.
    reused.fill(0x21);
    respond(ex, ['ghij', 'klmn']);
    const { request, response } = flow(ex.id);
    expect(request.body).toMatchObject({ size: 8, captured: 8, truncated: false });
    expect(response!.body).toMatchObject({ size: 16, captured: 10, truncated: true });
    expect((await bodies.read(response!.body.bodyId!)).toString()).toBe('89abcdefgh');
  });

  it('applies a new cap to exchanges that start after it, never resuming a cut body', async () => {
    const ex = makeExchange();
    start(ex);
    hooks.emit('responseBody', ex, Buffer.from('0123456789ab'));
    capture.setBodyCap(100);
    expect(capture.bodyCap).toBe(100);
    respond(ex, ['cd']);
    expect(flow(ex.id).response!.body).toMatchObject({ size: 14, captured: 10, truncated: true });
    expect((await bodies.read(flow(ex.id).response!.body.bodyId!)).toString()).toBe('0123456789');

    const next = makeExchange();
    start(next);
    respond(next, ['0123456789ab']);
    expect(flow(next.id).response!.body).toMatchObject({ size: 12, captured: 12 });
  });

  it('with a cap of 0 keeps no bytes but still sizes the body', () => {
    capture.setBodyCap(0);
    const ex = makeExchange();
    start(ex, ['abc']);
    respond(ex);
    expect(flow(ex.id).request.body).toEqual({ size: 3, captured: 0, truncated: true });
    expect(bodies.stats().count).toBe(0);
  });

  it('refuses a cap that is not a byte count', () => {
    expect(() => capture.setBodyCap(-1)).toThrow(RangeError);
    expect(() => capture.setBodyCap(Number.NaN)).toThrow(RangeError);
    expect(capture.bodyCap).toBe(10);
    expect(createCapture({ hooks: new Hooks(), flows, bodies }).bodyCap).toBe(DEFAULT_BODY_CAP);
  });

  it('records nothing while off, and lets exchanges already in progress finish', async () => {
    const before = makeExchange();
    start(before);
    capture.setRecording(false);
    expect(capture.recording).toBe(false);

    const during = makeExchange();
    start(during, ['body']);
    respond(during, ['answer']);
    hooks.emit('tunnelOpen', makeLiveTunnel({ id: 'off' }));
    const refused = makeExchange({
      error: { code: 'bad_request', message: 'x', phase: 'request' },
    });
    hooks.emit('error', refused);

    respond(before, ['done']);
    capture.setRecording(true);
    // An exchange that began while off stays unrecorded even if it ends after recording resumes.
    const straddling = makeExchange();
    capture.setRecording(false);
    start(straddling);
    capture.setRecording(true);
    respond(straddling);

    expect(flows.list().map((f) => f.id)).toEqual([before.id]);
    expect(flow(before.id).state).toBe('complete');
    expect((await bodies.read(flow(before.id).response!.body.bodyId!)).toString()).toBe('done');
    expect(bodies.has(`${during.id}:req`)).toBe(false);
  });

  it('records a failed exchange with its error, and one refused before its head', () => {
    const ex = makeExchange();
    void hooks.emitPausable('requestHeaders', ex);
    ex.error = { code: 'connection_refused', message: 'refused', phase: 'connect' };
    hooks.emit('error', ex);
    expect(flow(ex.id)).toMatchObject({
      state: 'error',
      error: { code: 'connection_refused', message: 'refused', phase: 'connect' },
    });
    expect(flow(ex.id).response).toBeUndefined();

    const refused = makeExchange({
      request: { ...makeExchange().request, method: '-', url: '', headers: [] },
      tags: ['rejected'],
      error: { code: 'bad_request', message: 'bare LF', phase: 'request' },
    });
    hooks.emit('error', refused);
    expect(flow(refused.id)).toMatchObject({ seq: 2, state: 'error', tags: ['rejected'] });
  });

  it('records a tunnel from open to close', () => {
    const tn = makeLiveTunnel();
    hooks.emit('tunnelOpen', tn);
    expect(flows.get(tn.id)).toMatchObject({ kind: 'tunnel', state: 'pending', bytesUp: 0 });
    tn.bytesUp = 517;
    tn.bytesDown = 4096;
    tn.durationMs = 250;
    tn.tags.push('bypassed');
    hooks.emit('tunnelClose', tn);
    const closed = flows.get(tn.id) as TunnelFlow;
    expect(closed).toMatchObject({
      state: 'complete',
      bytesUp: 517,
      bytesDown: 4096,
      durationMs: 250,
    });
    expect(closed.tags).toEqual(['bypassed']);

    const failed = makeLiveTunnel();
    hooks.emit('tunnelOpen', failed);
    failed.error = { code: 'tunnel_failed', message: 'reset', phase: 'tunnel' };
    hooks.emit('tunnelClose', failed);
    expect(flows.get(failed.id)).toMatchObject({
      state: 'error',
      error: { code: 'tunnel_failed' },
    });
  });

  it('adds the decoded size of a complete compressed body after the exchange', async () => {
    capture.setBodyCap(1 << 20);
    const text = 'x'.repeat(50_000);
    const plain = makeExchange();
    start(plain);
    respond(plain, ['plain']);
    const gz = makeExchange();
    start(gz);
    gz.response!.headers.push(['Content-Encoding', 'gzip']);
    respond(gz, [zlib.gzipSync(text)]);

    // The plain exchange ended first and is the cheaper to measure: a decoded size for it would
    // come before the gzip body's, so its absence is judged once that has arrived.
    await until(
      'the decoded size of the gzip body',
      (notify) => flows.subscribe(notify),
      () => flow(gz.id).response!.body.decodedSize === 50_000,
    );
    expect(flow(plain.id).response!.body.decodedSize).toBeUndefined();
  });

  it('stops recording once disposed', () => {
    capture.dispose();
    const ex = makeExchange();
    start(ex);
    respond(ex);
    expect(flows.size).toBe(0);
  });
});
