// Capture's memory behind the real engine: bodies that never finish (endless downloads whose
// clients stopped reading) must spill past the body store's budget like finished ones.
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { BodyStore } from '../flows/body-store';
import { FlowStore } from '../flows/flow-store';
import { fillUntilStuck } from '../test-support/payloads';
import { cleanup, httpUpstream, proxyHarness } from '../test-support/servers';
import { deadline, deferred } from '../test-support/wait';
import { createCapture } from './capture';

let dir: string;
let bodies: BodyStore | undefined;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'loupe-capture-budget-'));
});
afterEach(async () => {
  await cleanup();
  await bodies?.close();
  bodies = undefined;
  rmSync(dir, { recursive: true, force: true });
});

const MiB = 1024 * 1024;
const BUDGET = 32 * MiB;
const STREAMS = 30;
/** Each client reads this much, then stops: 30 × 4 MiB is well past the budget. */
const READ = 4 * MiB;
/** Bytes cycling with a period that no chunk size divides, so misordered chunks show. */
const chunk = Buffer.from(Array.from({ length: 64 * 1024 }, (_, i) => i % 251));
const expected = (n: number): Buffer =>
  Buffer.concat(Array.from({ length: Math.ceil(n / chunk.length) }, () => chunk)).subarray(0, n);

it('keeps 30 endless downloads whose clients stopped reading within the body budget', async () => {
  const stuck: Promise<number>[] = [];
  const { port } = await httpUpstream((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
    // Endless as far as the clients go: they stop long before this.
    stuck.push(fillUntilStuck(res, chunk, 256 * MiB));
  });
  const h = await proxyHarness();
  const store = new BodyStore({ dir, memoryBudget: BUDGET });
  bodies = store;
  const capture = createCapture({ hooks: h.proxy.hooks, flows: new FlowStore(), bodies: store });
  let bodyId: string | undefined;
  h.proxy.hooks.on('responseBody', (ex) => void (bodyId ??= `${ex.id}:res`));

  const clients: http.ClientRequest[] = [];
  const paused = Array.from({ length: STREAMS }, () => {
    const read = deferred();
    const req = http.request(
      { host: '127.0.0.1', port: h.proxy.port, path: `http://127.0.0.1:${port}/` },
      (res) => {
        let got = 0;
        res.on('data', (d: Buffer) => {
          got += d.length;
          if (got < READ) return;
          res.pause();
          read.resolve();
        });
      },
    );
    req.on('error', () => undefined);
    req.end();
    clients.push(req);
    return read.promise;
  });
  try {
    await deadline(Promise.all(paused), `${STREAMS} clients to read ${READ} bytes each`, 60_000);
    // Every upstream stuck writing: nothing more reaches the store.
    await deadline(Promise.all(stuck), 'the upstreams to be stuck writing', 30_000);
    await deadline(store.settled(), 'the spills to finish', 30_000);

    const stats = store.stats();
    expect(stats.memoryBytes + stats.diskBytes).toBeGreaterThan(STREAMS * READ);
    // While the bodies pour in, writes lag behind them; once they are all held up, the store
    // is back within its budget though none of the bodies has finished.
    expect(stats.memoryBytes).toBeLessThanOrEqual(BUDGET);
    const body = await store.read(bodyId!);
    expect(body.length).toBeGreaterThan(READ);
    expect(body.equals(expected(body.length))).toBe(true);
  } finally {
    for (const req of clients) req.destroy();
    capture.dispose();
  }
}, 120_000);
