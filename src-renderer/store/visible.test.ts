import { describe, expect, it } from 'vitest';
import type { FlowSummary } from '../../src-common/api/contract';
import { compileFilter } from '../../src-common/filter';
import { deriveVisible, updateVisible, type ViewSpec } from './visible';
import { failedHandshake, httpFlow, onHost, pendingFlow } from '../test-support/flows';

const view = (over: Partial<ViewSpec> = {}): ViewSpec => ({
  filter: compileFilter(''),
  types: [],
  statuses: [],
  ...over,
});

function session(flows: FlowSummary[]) {
  const byId: Record<string, FlowSummary> = {};
  for (const f of flows) byId[f.id] = f;
  return { ids: flows.map((f) => f.id), byId };
}

describe('deriveVisible', () => {
  const flows = [
    onHost(httpFlow({ seq: 1, status: 404 }), 'a.test'),
    onHost(httpFlow({ seq: 2 }), 'b.test'),
    failedHandshake({ seq: 3 }),
    pendingFlow({ seq: 4 }),
  ];
  const { ids, byId } = session(flows);

  it('applies the filter text, the host and the quick toggles together', () => {
    expect(deriveVisible(ids, byId, view({ filter: compileFilter('status-code:4xx') }))).toEqual([
      'f1',
    ]);
    expect(deriveVisible(ids, byId, view({ host: 'b.test' }))).toEqual(['f2']);
    expect(deriveVisible(ids, byId, view({ statuses: ['error'] }))).toEqual(['t3']);
    expect(deriveVisible(ids, byId, view({ statuses: ['2xx', '4xx'] }))).toEqual(['f1', 'f2']);
    expect(deriveVisible(ids, byId, view({ types: ['json'], host: 'a.test' }))).toEqual(['f1']);
  });

  it('sorts by a column, pending values first, equal keys in arrival order', () => {
    expect(deriveVisible(ids, byId, view({ sort: { id: 'status', desc: false } }))).toEqual([
      't3',
      'f4',
      'f2',
      'f1',
    ]);
    expect(deriveVisible(ids, byId, view({ sort: { id: 'seq', desc: true } }))).toEqual([
      'f4',
      't3',
      'f2',
      'f1',
    ]);
  });
});

describe('updateVisible', () => {
  it('appends new matching flows in arrival order, in place', () => {
    const base = Array.from({ length: 5 }, (_, i) => httpFlow({ seq: i + 1 }));
    const s = session(base);
    const spec = view({ filter: compileFilter('-items/3') });
    const prev = deriveVisible(s.ids, s.byId, spec);
    const f6 = httpFlow({ seq: 6 });
    const f7 = onHost(httpFlow({ seq: 7 }), 'x.test');
    s.byId.f6 = f6;
    s.byId.f7 = f7;
    const next = updateVisible(prev, s.byId, spec, { appended: ['f6', 'f7'], changed: new Map() });
    expect(next).toEqual({ ids: ['f1', 'f2', 'f4', 'f5', 'f6', 'f7'], changed: true });
    // Appending is in place: no copy of the shown ids per batch.
    expect(next.ids).toBe(prev);
  });

  it('inserts and removes updated flows whose membership changed, in place', () => {
    const flows = [1, 2, 3, 4].map((n) => pendingFlow({ seq: n }));
    const s = session(flows);
    const spec = view({ filter: compileFilter('is:pending') });
    const prev = deriveVisible(s.ids, s.byId, spec);
    const done = httpFlow({ seq: 2 });
    s.byId.f2 = done;
    const next = updateVisible(prev, s.byId, spec, {
      appended: [],
      changed: new Map([['f2', flows[1]!]]),
    });
    expect(next.ids).toEqual(['f1', 'f3', 'f4']);

    const spec2 = view({ filter: compileFilter('-is:pending') });
    const prev2 = deriveVisible(s.ids, s.byId, spec2);
    expect(prev2).toEqual(['f2']);
    const done3 = httpFlow({ seq: 3 });
    const old3 = s.byId.f3!;
    s.byId.f3 = done3;
    expect(
      updateVisible(prev2, s.byId, spec2, { appended: [], changed: new Map([['f3', old3]]) }).ids,
    ).toEqual(['f2', 'f3']);
  });

  it('moves an updated flow to its new place under a column sort', () => {
    const flows = [1, 2, 3].map((n) => httpFlow({ seq: n, status: 200 + n }));
    const s = session(flows);
    const spec = view({ sort: { id: 'status', desc: true } });
    const prev = deriveVisible(s.ids, s.byId, spec);
    expect(prev).toEqual(['f3', 'f2', 'f1']);
    const old = s.byId.f1!;
    s.byId.f1 = httpFlow({ seq: 1, status: 500 });
    s.byId.f4 = httpFlow({ seq: 4, status: 202 });
    const { ids: next } = updateVisible(prev, s.byId, spec, {
      appended: ['f4'],
      changed: new Map([['f1', old]]),
    });
    expect(next).toEqual(['f1', 'f3', 'f2', 'f4']);
    expect(next).toEqual(deriveVisible([...s.ids, 'f4'], s.byId, spec));
  });

  it('agrees with a full derivation for a large out-of-order batch', () => {
    const flows = Array.from({ length: 300 }, (_, i) =>
      httpFlow({ seq: i + 1, status: 200 + (i % 7) }),
    );
    const s = session(flows.slice(0, 100));
    const spec = view({ sort: { id: 'status', desc: false } });
    const prev = deriveVisible(s.ids, s.byId, spec);
    for (const f of flows.slice(100)) s.byId[f.id] = f;
    const appended = flows.slice(100).map((f) => f.id);
    const { ids: next } = updateVisible(prev, s.byId, spec, { appended, changed: new Map() });
    expect(next).toEqual(deriveVisible([...s.ids, ...appended], s.byId, spec));
  });

  it('tests only the batch against the filter, however many flows are shown', () => {
    const flows = Array.from({ length: 20_000 }, (_, i) => httpFlow({ seq: i + 1 }));
    const s = session(flows);
    let tested = 0;
    const counting = { test: () => (tested++, true), errors: [], empty: false };
    const spec = view({ filter: counting });
    const prev = deriveVisible(s.ids, s.byId, spec);
    tested = 0;
    const batch = [20_001, 20_002, 20_003].map((n) => httpFlow({ seq: n }));
    for (const f of batch) s.byId[f.id] = f;
    const { ids: next } = updateVisible(prev, s.byId, spec, {
      appended: batch.map((f) => f.id),
      changed: new Map(),
    });
    expect(tested).toBe(3);
    expect(next).toHaveLength(20_003);
    expect(next.slice(-3)).toEqual(['f20001', 'f20002', 'f20003']);
  });

  it('returns the previous list itself when nothing shown changed', () => {
    const s = session([httpFlow({ seq: 1 })]);
    const spec = view({ host: 'nowhere.test' });
    const prev = deriveVisible(s.ids, s.byId, spec);
    s.byId.f2 = httpFlow({ seq: 2 });
    const next = updateVisible(prev, s.byId, spec, { appended: ['f2'], changed: new Map() });
    expect(next).toEqual({ ids: [], changed: false });
    expect(next.ids).toBe(prev);
  });
});
