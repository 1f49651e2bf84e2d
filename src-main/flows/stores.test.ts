import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { FlowEvents } from '../../src-common/api/contract';
import { makeFlow } from '../test-support/factories';
import { BodyStore } from './body-store';
import { FLUSH_MS, FlowStore } from './flow-store';

describe('flow store change feed', () => {
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());

  it('batches a burst into one event per 50 ms, each flow once, in arrival order', () => {
    const store = new FlowStore();
    const events: FlowEvents[] = [];
    store.subscribe((e) => events.push(e));
    const flows = Array.from({ length: 1000 }, () => makeFlow({ state: 'pending' }));
    for (const f of flows) store.upsert(f);
    for (const f of flows) store.upsert({ ...f, state: 'complete' });
    expect(events).toHaveLength(0);
    vi.advanceTimersByTime(FLUSH_MS);
    expect(events).toHaveLength(1);
    expect(events[0]!.added.map((f) => f.id)).toEqual(flows.map((f) => f.id));
    expect(events[0]!.added.every((f) => f.state === 'complete')).toBe(true);
    expect(events[0]!.updated).toEqual([]);

    store.upsert({ ...flows[3]!, state: 'error' });
    store.upsert({ ...flows[3]!, state: 'complete' });
    vi.advanceTimersByTime(FLUSH_MS);
    expect(events).toHaveLength(2);
    expect(events[1]!.updated.map((f) => f.id)).toEqual([flows[3]!.id]);
    expect(store.list().map((f) => f.id)).toEqual(flows.map((f) => f.id));
  });

  it('reports a clear and forgets everything', () => {
    const store = new FlowStore();
    const events: FlowEvents[] = [];
    store.subscribe((e) => events.push(e));
    store.upsert(makeFlow());
    store.clear();
    vi.advanceTimersByTime(FLUSH_MS);
    expect(events).toEqual([{ added: [], updated: [], cleared: true }]);
    expect(store.size).toBe(0);
  });
});

describe('body store', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'loupe-bodies-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps bodies in memory within budget and spills the oldest finished ones to disk', async () => {
    const bodies = new BodyStore({ dir: join(dir, 'bodies'), memoryBudget: 1000 });
    const data = (n: number) => Buffer.alloc(400, n);
    for (let i = 0; i < 5; i++) {
      bodies.append(`b${i}`, data(i).subarray(0, 200));
      bodies.append(`b${i}`, data(i).subarray(200));
      bodies.finish(`b${i}`);
    }
    // Readable at once, even while a spill is being written.
    expect(await bodies.read('b0')).toEqual(data(0));
    await vi.waitFor(() => expect(bodies.stats().memoryBytes).toBeLessThanOrEqual(1000));
    expect(bodies.stats().diskBytes).toBeGreaterThan(0);
    expect(readdirSync(join(dir, 'bodies')).length).toBeGreaterThan(0);
    for (let i = 0; i < 5; i++) expect(await bodies.read(`b${i}`)).toEqual(data(i));

    await bodies.close();
    expect(readdirSync(join(dir, 'bodies'))).toEqual([]);
    expect(bodies.stats()).toEqual({ memoryBytes: 0, diskBytes: 0, count: 0 });
  });

  it('never spills a body that is still arriving', async () => {
    const bodies = new BodyStore({ dir: join(dir, 'bodies'), memoryBudget: 10 });
    bodies.append('open', Buffer.alloc(100));
    bodies.append('done', Buffer.alloc(100));
    bodies.finish('done');
    await vi.waitFor(() => expect(bodies.stats().diskBytes).toBe(100));
    expect(bodies.stats().memoryBytes).toBe(100);
    expect(existsSync(join(dir, 'bodies'))).toBe(true);
    await bodies.close();
  });
});
