import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { FlowEvents } from '../../src-common/api/contract';
import type { Flow } from '../../src-common/flow';
import { makeFlow, makeTunnel } from '../test-support/factories';
import { FLUSH_MS, FlowStore } from './flow-store';

let store: FlowStore;
let events: FlowEvents<Flow>[];

beforeEach(() => {
  vi.useFakeTimers();
  store = new FlowStore();
  events = [];
  store.subscribe((e) => events.push(e));
});
afterEach(() => {
  store.dispose();
  vi.useRealTimers();
});

const ids = (flows: { id: string }[]): string[] => flows.map((f) => f.id);

describe('flow store', () => {
  it('keeps flows in arrival order and replaces an updated one in place', () => {
    const [a, b, c] = [makeFlow(), makeTunnel(), makeFlow()];
    for (const f of [a, b, c]) store.upsert(f);
    store.upsert({ ...a, state: 'error' });
    expect(ids(store.list())).toEqual(ids([a, b, c]));
    expect(store.get(a.id)?.state).toBe('error');
    expect(store.size).toBe(3);
  });

  it('batches a burst into one event within 50 ms, each flow once, in its latest state', () => {
    const flows = Array.from({ length: 1000 }, () => makeFlow({ state: 'pending' }));
    for (const f of flows) store.upsert(f);
    for (const f of flows) store.upsert({ ...f, state: 'complete' });
    vi.advanceTimersByTime(FLUSH_MS - 1);
    expect(events).toHaveLength(0);
    vi.advanceTimersByTime(1);
    expect(events).toHaveLength(1);
    expect(ids(events[0]!.added)).toEqual(ids(flows));
    expect(events[0]!.added.every((f) => f.state === 'complete')).toBe(true);
    expect(events[0]!.updated).toEqual([]);
    expect(events[0]!.cleared).toBeUndefined();
  });

  it('coalesces several updates of a known flow into one', () => {
    const [a, b] = [makeFlow(), makeFlow()];
    store.upsert(a);
    store.upsert(b);
    vi.advanceTimersByTime(FLUSH_MS);
    store.upsert({ ...b, state: 'pending' });
    store.upsert({ ...a, state: 'pending' });
    store.upsert({ ...b, state: 'error' });
    vi.advanceTimersByTime(FLUSH_MS);
    expect(events).toHaveLength(2);
    expect(events[1]!.added).toEqual([]);
    expect(events[1]!.updated.map((f) => [f.id, f.state])).toEqual([
      [b.id, 'error'],
      [a.id, 'pending'],
    ]);
  });

  it('sends at most one event per 50 ms under steady traffic', () => {
    for (let ms = 0; ms < 500; ms += 5) {
      store.upsert(makeFlow());
      vi.advanceTimersByTime(5);
    }
    vi.advanceTimersByTime(FLUSH_MS);
    expect(events.length).toBeLessThanOrEqual(500 / FLUSH_MS + 1);
    expect(events.flatMap((e) => e.added)).toHaveLength(100);
  });

  it('reports a clear, then what arrived after it, in one event', () => {
    const before = makeFlow();
    const after = makeFlow();
    store.upsert(before);
    store.clear();
    store.upsert(after);
    vi.advanceTimersByTime(FLUSH_MS);
    expect(events).toEqual([{ added: [after], updated: [], cleared: true }]);
    expect(ids(store.list())).toEqual([after.id]);
  });

  it('stops telling a subscriber that left', () => {
    const own: FlowEvents<Flow>[] = [];
    const leave = store.subscribe((e) => own.push(e));
    leave();
    store.upsert(makeFlow());
    vi.advanceTimersByTime(FLUSH_MS);
    expect(own).toEqual([]);
    expect(events).toHaveLength(1);
  });

  it('still tells the other subscribers when one throws', () => {
    const broken = new FlowStore();
    const heard: FlowEvents<Flow>[] = [];
    broken.subscribe(() => {
      throw new Error('subscriber bug');
    });
    broken.subscribe((e) => heard.push(e));
    broken.upsert(makeFlow());
    expect(() => vi.advanceTimersByTime(FLUSH_MS)).toThrow('subscriber bug');
    expect(heard).toHaveLength(1);
    broken.dispose();
  });
});
