/**
 * Switching the table between the live session and an imported one: the live session is kept
 * aside and keeps taking its events, and comes back whole.
 */
import { describe, expect, it } from 'vitest';
import type { ApiEvent, SessionInfo } from '../../src-common/api/contract';
import { httpFlow } from '../test-support/flows';
import { createLoupeStore } from './store';
import { selectOne } from './selection';

const live = (from: number, n: number): ApiEvent => ({
  flows: {
    added: Array.from({ length: n }, (_, i) => httpFlow({ seq: from + i })),
    updated: [],
  },
});
const imported = (n: number) =>
  Array.from({ length: n }, (_, i) =>
    httpFlow({ seq: i + 1, id: `har1.${i + 1}`, server: { host: 'old.example.test', port: 80 } }),
  );
const info = (id: string): SessionInfo => ({
  id,
  kind: id === 'live' ? 'live' : 'imported',
  name: id,
  flowCount: 0,
  openedAt: 0,
});

describe('session switching', () => {
  it('shows an imported session while live traffic lands aside, then restores it', () => {
    const store = createLoupeStore();
    const s = store.getState;
    s().applyBatch([live(1, 3)]);
    s().setSelection(selectOne('f2'));
    const version = s().visibleVersion;

    s().showSession('har1', imported(2));
    expect(s().activeSessionId).toBe('har1');
    expect(s().ids).toEqual(['har1.1', 'har1.2']);
    expect(s().visibleIds).toEqual(['har1.1', 'har1.2']);
    expect(Object.keys(s().hostCounts)).toHaveLength(1);
    expect(s().visibleVersion).toBeGreaterThan(version);
    expect(s().selection.ids.size).toBe(0);
    expect(s().liveStash?.ids).toEqual(['f1', 'f2', 'f3']);

    // Live traffic while the import is shown: the table keeps the import; the stash grows.
    s().applyBatch([live(4, 2), { stats: { flows: 5, bodyMemoryBytes: 1, bodyDiskBytes: 0 } }]);
    expect(s().ids).toEqual(['har1.1', 'har1.2']);
    expect(s().liveStash?.ids).toEqual(['f1', 'f2', 'f3', 'f4', 'f5']);
    expect(s().liveStash?.hostCounts['api.example.test']).toBe(5);
    expect(s().stats?.flows).toBe(5);

    // The view applies to whichever session is shown; the live one is re-derived on return.
    s().setFilterText('items/5');
    expect(s().visibleIds).toEqual([]);
    s().showLive();
    expect(s().activeSessionId).toBe('live');
    expect(s().liveStash).toBeUndefined();
    expect(s().ids).toEqual(['f1', 'f2', 'f3', 'f4', 'f5']);
    expect(s().visibleIds).toEqual(['f5']);
    expect(s().hostCounts['api.example.test']).toBe(5);
  });

  it('applies a live clear to the stash, not to the shown import', () => {
    const store = createLoupeStore();
    const s = store.getState;
    s().applyBatch([live(1, 2)]);
    s().showSession('har1', imported(3));
    s().setSelection(selectOne('har1.2'));
    s().applyBatch([{ flows: { cleared: true, added: [], updated: [] } }]);
    expect(s().ids).toHaveLength(3);
    expect(s().selection.ids.has('har1.2')).toBe(true);
    expect(s().liveStash?.ids).toEqual([]);
    s().showLive();
    expect(s().ids).toEqual([]);
  });

  it('switches between imports keeping the live stash, and back to live when one closes', () => {
    const store = createLoupeStore();
    const s = store.getState;
    s().applyBatch([live(1, 1)]);
    s().showSession('har1', imported(2));
    s().applyBatch([{ sessions: [info('live'), info('har1'), info('har2')] }]);
    s().showSession('har2', [httpFlow({ seq: 1, id: 'har2.1' })]);
    expect(s().ids).toEqual(['har2.1']);
    expect(s().liveStash?.ids).toEqual(['f1']);
    s().applyBatch([{ sessions: [info('live'), info('har1')] }]);
    expect(s().activeSessionId).toBe('live');
    expect(s().ids).toEqual(['f1']);
    expect(s().sessions.map((x) => x.id)).toEqual(['live', 'har1']);
  });

  it('asks to clear only while the live session is shown', () => {
    const store = createLoupeStore();
    const s = store.getState;
    s().applyBatch([live(1, 1)]);
    s().showSession('har1', imported(1));
    s().setConfirmingClear(true);
    expect(s().confirmingClear).toBe(false);
    expect(s().toasts.at(-1)?.message).toMatch(/live session/);
    s().showLive();
    s().setConfirmingClear(true);
    expect(s().confirmingClear).toBe(true);
  });

  it('keeps the shown import when the list still has it, or is older than the import', () => {
    const store = createLoupeStore();
    const s = store.getState;
    s().showSession('har1', imported(1));
    s().applyBatch([{ sessions: [info('live')] }]);
    expect(s().activeSessionId).toBe('har1');
    s().applyBatch([{ sessions: [info('live'), info('har1')] }]);
    expect(s().activeSessionId).toBe('har1');
    s().setSessions([info('live')]);
    expect(s().activeSessionId).toBe('live');
    s().showSession('har1', imported(1));
    s().showSession('live', []);
    expect(s().activeSessionId).toBe('live');
  });
});
