import { describe, expect, it } from 'vitest';
import type { ApiEvent, FlowSummary, Notice } from '../../src-common/api/contract';
import { compileFilter } from '../../src-common/filter';
import { applyEvents, emptySession, type SessionData } from './apply-events';
import type { ViewSpec } from './visible';
import { failedHandshake, httpFlow, onHost, pendingFlow } from '../test-support/flows';

const empty = emptySession;
const all: ViewSpec = { filter: compileFilter(''), types: [], statuses: [] };
const added = (...flows: FlowSummary[]): ApiEvent => ({ flows: { added: flows, updated: [] } });
const updated = (...flows: FlowSummary[]): ApiEvent => ({ flows: { added: [], updated: flows } });

/** Applies events to `state` the way the store does (the patch merged over the state). */
function run(state: SessionData, events: ApiEvent[], view: ViewSpec = all): SessionData {
  return { ...state, ...applyEvents(state, view, events) };
}

describe('applyEvents', () => {
  it('adds flows in arrival order and shows them', () => {
    const a = httpFlow({ seq: 1 });
    const b = httpFlow({ seq: 2 });
    const s = run(empty(), [added(a), added(b)]);
    expect(s.ids).toEqual(['f1', 'f2']);
    expect(s.visibleIds).toEqual(['f1', 'f2']);
    expect(s.byId.f1).toBe(a);
  });

  it('applies cleared before the same event’s added and updated', () => {
    const old = httpFlow({ seq: 1 });
    const s0 = run(empty(), [added(old)]);
    const fresh = httpFlow({ seq: 2 });
    const fresher = { ...fresh, state: 'complete' as const };
    const s = run(s0, [{ flows: { cleared: true, added: [fresh], updated: [fresher] } }]);
    expect(s.ids).toEqual(['f2']);
    expect(s.byId.f1).toBeUndefined();
    expect(s.byId.f2).toBe(fresher);
    expect(s.visibleIds).toEqual(['f2']);
  });

  it('a clear in a later event of the batch forgets what earlier events added', () => {
    const s = run(empty(), [
      added(httpFlow({ seq: 1 })),
      { flows: { cleared: true, added: [], updated: [] } },
      added(httpFlow({ seq: 2 })),
    ]);
    expect(s.ids).toEqual(['f2']);
    expect(s.hostCounts).toEqual({ 'api.example.test': 1 });
  });

  it('keeps unchanged flow objects and replaces updated ones', () => {
    const a = httpFlow({ seq: 1 });
    const b = pendingFlow({ seq: 2 });
    const s0 = run(empty(), [added(a, b)]);
    const b2 = httpFlow({ seq: 2 });
    const s = run(s0, [updated(b2)]);
    expect(s.byId.f1).toBe(a);
    expect(s.byId.f2).toBe(b2);
    expect(s.ids).toEqual(['f1', 'f2']);
  });

  it('treats a flow added twice as an update, not a second row', () => {
    const a = httpFlow({ seq: 1 });
    const s0 = run(empty(), [added(a)]);
    const a2 = { ...a, tags: ['again'] };
    const s = run(s0, [added(a2)]);
    expect(s.ids).toEqual(['f1']);
    expect(s.byId.f1).toBe(a2);
    expect(s.hostCounts).toEqual({ 'api.example.test': 1 });
  });

  it('counts hosts and failures, and follows updates', () => {
    const a = onHost(httpFlow({ seq: 1 }), 'a.test');
    const p = pendingFlow({ seq: 2 });
    const t = failedHandshake({ seq: 3 });
    const s0 = run(empty(), [added(a, p, t)]);
    expect(s0.hostCounts).toEqual({ 'a.test': 1, 'api.example.test': 1, 'pinned.example.test': 1 });
    expect(s0.errorCount).toBe(1);
    const failed: FlowSummary = {
      ...p,
      state: 'error',
      error: { code: 'connection_refused', message: 'refused', phase: 'connect' },
    };
    const s = run(s0, [updated(failed)]);
    expect(s.errorCount).toBe(2);
  });

  it('counts flows with a body cut at the capture cap, following updates and clears', () => {
    const a = httpFlow({ seq: 1 });
    const p = pendingFlow({ seq: 2 });
    const s0 = run(empty(), [added(a, p)]);
    expect(s0.truncatedCount).toBe(0);
    const cut = (f: FlowSummary, side: 'request' | 'response'): FlowSummary => {
      if (f.kind !== 'http') throw new Error('an HTTP flow');
      return side === 'request'
        ? { ...f, request: { ...f.request, body: { ...f.request.body, truncated: true } } }
        : { ...f, response: { ...f.response!, body: { ...f.response!.body, truncated: true } } };
    };
    const s1 = run(s0, [updated(cut(a, 'response'), cut(p, 'request'))]);
    expect(s1.truncatedCount).toBe(2);
    const s2 = run({ ...s0, ...s1 } as SessionData, [updated(a)]);
    expect(s2.truncatedCount).toBe(1);
    const s3 = run({ ...s0, ...s2 } as SessionData, [
      { flows: { cleared: true, added: [], updated: [] } },
    ]);
    expect(s3.truncatedCount).toBe(0);
  });

  it('bumps the shown version only when what is shown changed', () => {
    const a = pendingFlow({ seq: 1 });
    const s0 = run(empty(), [added(a)]);
    expect(s0.visibleVersion).toBe(1);
    const s1 = run(s0, [updated({ ...a, tags: ['x'] })]);
    expect(s1.visibleVersion).toBe(1);
    const s2 = run(s1, [added(onHost(httpFlow({ seq: 2 }), 'b.test'))], {
      ...all,
      host: 'nowhere.test',
    });
    expect(s2.visibleVersion).toBe(1);
    expect(s2.ids).toHaveLength(2);
  });

  it('takes the last stats and proxy status of a batch and turns notices into toasts', () => {
    const s = run(empty(), [
      { stats: { flows: 1, bodyMemoryBytes: 10, bodyDiskBytes: 0 } },
      {
        stats: { flows: 2, bodyMemoryBytes: 20, bodyDiskBytes: 0 },
        notices: [{ level: 'warning', message: 'w', at: 1 }],
      },
      { proxy: { url: 'http://127.0.0.1:1', host: '127.0.0.1', port: 1, recording: false } },
    ]);
    expect(s.stats?.flows).toBe(2);
    expect(s.proxy?.recording).toBe(false);
    expect(s.toasts).toEqual([{ level: 'warning', message: 'w', at: 1, key: 1 }]);
  });

  it('shows a notice once per page: a reconnect replaying the start-up notices adds no toast', () => {
    const ended: Notice = { level: 'warning', message: 'The last run ended abnormally.', at: 5 };
    const repaired: Notice = { level: 'warning', message: 'Settings repaired.', at: 6 };
    const first = run(empty(), [{ notices: [ended, repaired] }]);
    const dismissed = { ...first, toasts: first.toasts.filter((t) => t.at !== 6) };
    const again = run(dismissed, [{ notices: [ended, repaired] }]);
    expect(again.toasts).toEqual([{ ...ended, key: 1 }]);
    expect(again.toastSeq).toBe(2);
  });

  it('replaces a toast when its notice comes again with more said, and shows it anew once dismissed', () => {
    const ended: Notice = { level: 'warning', message: 'The last run ended abnormally.', at: 5 };
    const more = { ...ended, message: `${ended.message} The system proxy was set back.` };
    const shown = run(empty(), [{ notices: [ended] }, { notices: [more] }]);
    expect(shown.toasts).toEqual([{ ...more, key: 1 }]);
    const evenMore = { ...more, message: `${more.message} A session was recovered.` };
    const afterDismiss = run({ ...shown, toasts: [] }, [{ notices: [evenMore] }]);
    expect(afterDismiss.toasts).toEqual([{ ...evenMore, key: 2 }]);
  });
});
