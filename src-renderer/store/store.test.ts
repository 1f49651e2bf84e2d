import { describe, expect, it, vi } from 'vitest';
import type { ApiEvent, UiCommand } from '../../src-common/api/contract';
import { createLoupeStore } from './store';
import { createEventQueue } from './queue';
import { httpFlow, onHost } from '../test-support/flows';
import { selectOne } from './selection';

/** A store and a queue whose frames the test runs by hand. */
function harness() {
  const store = createLoupeStore();
  let sets = 0;
  store.subscribe(() => (sets += 1));
  const frames: (() => void)[] = [];
  const commands: UiCommand[] = [];
  const queue = createEventQueue(
    (events) => store.getState().applyBatch(events),
    (c) => commands.push(c),
    (flush) => frames.push(flush),
    0,
  );
  const frame = () => frames.splice(0).forEach((f) => f());
  return { store, queue, frame, commands, sets: () => sets };
}

const added = (n: number, from = 1): ApiEvent => ({
  flows: { added: Array.from({ length: n }, (_, i) => httpFlow({ seq: from + i })), updated: [] },
});

describe('store and event queue', () => {
  it('holds a flood to one batch per interval, but never a menu command', () => {
    vi.useFakeTimers();
    try {
      const frames: (() => void)[] = [];
      const applied: number[] = [];
      const commands: UiCommand[] = [];
      const queue = createEventQueue(
        (events) => applied.push(events.length),
        (c) => commands.push(c),
        (flush) => frames.push(flush),
        200,
      );
      const frame = () => frames.splice(0).forEach((f) => f());
      queue.push(added(1));
      frame();
      expect(applied).toEqual([1]);
      queue.push(added(1, 2));
      queue.push(added(1, 3));
      expect(frames).toHaveLength(0);
      vi.advanceTimersByTime(199);
      expect(frames).toHaveLength(0);
      vi.advanceTimersByTime(1);
      frame();
      expect(applied).toEqual([1, 2]);
      queue.push(added(1, 4));
      queue.push({ command: 'clear' });
      expect(frames).toHaveLength(1);
      frame();
      expect(applied).toEqual([1, 2, 1]);
      expect(commands).toEqual(['clear']);
    } finally {
      vi.useRealTimers();
    }
  });

  it('applies everything queued before a frame in one store update', () => {
    const h = harness();
    h.queue.push(added(3, 1));
    h.queue.push(added(2, 4));
    h.queue.push({ command: 'focus-filter' });
    expect(h.store.getState().ids).toHaveLength(0);
    h.frame();
    expect(h.sets()).toBe(1);
    expect(h.store.getState().ids).toHaveLength(5);
    expect(h.commands).toEqual(['focus-filter']);
  });

  it('a command alone changes no state', () => {
    const h = harness();
    h.queue.push({ command: 'clear' });
    h.frame();
    expect(h.sets()).toBe(0);
    expect(h.commands).toEqual(['clear']);
  });

  it('re-derives the shown rows when the view changes', () => {
    const h = harness();
    h.queue.push({
      flows: {
        added: [onHost(httpFlow({ seq: 1 }), 'a.test'), onHost(httpFlow({ seq: 2 }), 'b.test')],
        updated: [],
      },
    });
    h.frame();
    const s = h.store.getState();
    s.selectHost('b.test');
    expect(h.store.getState().visibleIds).toEqual(['f2']);
    h.store.getState().selectHost('b.test');
    expect(h.store.getState().visibleIds).toEqual(['f1', 'f2']);
    h.store.getState().setFilterText('a.test');
    expect(h.store.getState().visibleIds).toEqual(['f1']);
    expect(h.store.getState().filter.errors).toEqual([]);
    h.store.getState().setFilterText('bogus:1');
    expect(h.store.getState().filter.errors).toHaveLength(1);
  });

  it('header clicks cycle ascending, descending, off', () => {
    const h = harness();
    const { cycleSort } = h.store.getState();
    cycleSort('status');
    expect(h.store.getState().sort).toEqual({ id: 'status', desc: false });
    cycleSort('status');
    expect(h.store.getState().sort).toEqual({ id: 'status', desc: true });
    cycleSort('status');
    expect(h.store.getState().sort).toBeUndefined();
  });

  it('a clear forgets the selection', () => {
    const h = harness();
    h.queue.push(added(2));
    h.frame();
    h.store.getState().setSelection(selectOne('f1'));
    h.queue.push({ flows: { cleared: true, added: [], updated: [] } });
    h.frame();
    expect(h.store.getState().selection.ids.size).toBe(0);
    expect(h.store.getState().ids).toEqual([]);
  });
});

describe('debug counters', () => {
  it('count row renders per id and start over rather than grow without bound', async () => {
    const { countRowRender, debug } = await import('./debug');
    debug.rowRenders = {};
    countRowRender('a');
    countRowRender('a');
    expect(debug.rowRenders).toEqual({ a: 2 });
    for (let i = 0; i < 50_000; i++) countRowRender(`row-${i}`);
    expect(Object.keys(debug.rowRenders).length).toBeLessThanOrEqual(50_000);
    countRowRender('latest');
    expect(debug.rowRenders.latest).toBe(1);
  });
});
