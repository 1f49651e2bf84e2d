/**
 * An event stream behind the real engine: its head reaches the client and the captured flow
 * before the first event, and the flow's timings put the wait for that event in `receive`
 * (after the response head), not in `wait` (before it).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { HttpFlow } from '../../src-common/flow';
import { BodyStore } from '../flows/body-store';
import { FlowStore } from '../flows/flow-store';
import { cleanup, httpUpstream, proxyHarness } from '../test-support/servers';
import { deferred, nextEvent, until } from '../test-support/wait';
import { createCapture } from './capture';

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'loupe-events-'));
});
afterEach(async () => {
  await cleanup();
  rmSync(dir, { recursive: true, force: true });
});

const EVENT = 'data: one\n\n';

describe('capture of an event stream', () => {
  it('records the response head when it came, and the wait for the first event as receive', async () => {
    const release = deferred();
    const { port } = await httpUpstream((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/event-stream' });
      res.flushHeaders();
      void release.promise.then(() => res.end(EVENT));
    });
    const h = await proxyHarness();
    const flows = new FlowStore();
    const bodies = new BodyStore({ dir });
    const capture = createCapture({ hooks: h.proxy.hooks, flows, bodies });

    const sentAt = performance.now();
    const req = http.request({
      host: '127.0.0.1',
      port: h.proxy.port,
      path: `http://127.0.0.1:${port}/events`,
      agent: false,
    });
    req.end();
    const [res] = (await nextEvent(req, 'response', 'the response head')) as [http.IncomingMessage];
    const headAt = performance.now();
    let body = '';
    res.on('data', (d: Buffer) => (body += d.toString()));
    expect(res.statusCode).toBe(200);

    const flow = (): HttpFlow | undefined => flows.list()[0] as HttpFlow | undefined;
    await until(
      'the flow to show the response head',
      (notify) => flows.subscribe(notify),
      () => flow()?.response?.status === 200,
    );
    expect(flow()!.state).toBe('pending');
    expect(flow()!.response!.headers).toContainEqual(['Content-Type', 'text/event-stream']);
    expect(flow()!.response!.body.size).toBe(0);

    const releasedAt = performance.now();
    release.resolve();
    await nextEvent(res, 'end', 'the end of the response');
    expect(body).toBe(EVENT);
    await until(
      'the flow to be complete',
      (notify) => flows.subscribe(notify),
      () => flow()?.state === 'complete',
    );
    const { timings } = flow()!;
    // The engine saw the head before the client did, and the end after the event was released.
    // Timings are rounded to the microsecond.
    expect(timings.wait).toBeGreaterThanOrEqual(0);
    expect(timings.wait).toBeLessThanOrEqual(headAt - sentAt + 0.001);
    expect(timings.receive).toBeGreaterThanOrEqual(releasedAt - headAt - 0.001);
    expect(flow()!.response!.body.size).toBe(EVENT.length);
    capture.dispose();
    await bodies.close();
  });
});
