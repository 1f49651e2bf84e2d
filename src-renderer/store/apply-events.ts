/**
 * Applies a batch of API events to the session state, as one pure step the store runs in a
 * single `set()`. Within each event `cleared` comes first, then `added`, then `updated` (the
 * contract's order); events apply in arrival order. Flow objects are kept as they arrive: an
 * unchanged flow keeps its identity, an updated one is replaced, which is what lets each table
 * row subscribe to its own flow and re-render only when that flow changed.
 */
import type {
  ApiEvent,
  FlowSummary,
  Notice,
  ProxyStatus,
  SessionStats,
} from '../../src-common/api/contract';
import type { Settings } from '../../src-common/settings';
import { flowLook } from '../../src-common/flow-view';
import { hostOf } from './flow-keys';
import { deriveVisible, updateVisible, type ViewSpec } from './visible';

/** The part of the state that events change. */
export interface SessionData {
  /** Every flow id, in arrival order. Appended to in place (see `visibleVersion`). */
  ids: string[];
  /**
   * Flows by id. Mutated in place between batches (copying 100k keys per frame would cost more
   * than the batch): readers select single flows, whose object identity signals a change.
   */
  byId: Record<string, FlowSummary>;
  /**
   * The ids the table shows (filter, host, toggles and sort applied). Live traffic appends to
   * this array in place, so readers of its content select `visibleVersion` too.
   */
  visibleIds: string[];
  /** Bumped whenever `ids` or `visibleIds` change, in place or not. */
  visibleVersion: number;
  /** Flows per lower-case host, for the sidebar. */
  hostCounts: Readonly<Record<string, number>>;
  /** Flows that failed (errors and failed handshakes), for the status bar. */
  errorCount: number;
  /** Flows with a body cut at the capture cap (the status bar says how many). */
  truncatedCount: number;
  stats?: SessionStats;
  proxy?: ProxyStatus;
  settings?: Settings;
  /** Notices on screen as toasts, oldest first; `key` grows by one per toast. */
  toasts: readonly Toast[];
  /** The key of the last toast made. */
  toastSeq: number;
  /** The notices this page has shown (`noticeKey`), the latest REMEMBERED_NOTICES of them. */
  shownNotices: readonly string[];
}

/** The fields that belong to one session's flows (what switching sessions swaps). */
export const SESSION_FLOW_KEYS = [
  'ids',
  'byId',
  'visibleIds',
  'visibleVersion',
  'hostCounts',
  'errorCount',
  'truncatedCount',
] as const satisfies readonly (keyof SessionData)[];
export type SessionFlows = Pick<SessionData, (typeof SESSION_FLOW_KEYS)[number]>;

/** A session with nothing in it: the store's start and what tests build on. */
export function emptySession(): SessionData {
  return {
    ids: [],
    byId: {},
    visibleIds: [],
    visibleVersion: 0,
    hostCounts: {},
    errorCount: 0,
    truncatedCount: 0,
    toasts: [],
    toastSeq: 0,
    shownNotices: [],
  };
}

/** A notice shown as a toast. */
export type Toast = Notice & { key: number };

/** At most this many toasts at once: a burst of notices must not cover the table. */
const MAX_TOASTS = 5;

/**
 * How many notices a page remembers having shown. Enough for a reconnect's replay of the
 * start-up notices to find them unless hundreds of notices came in between.
 */
const REMEMBERED_NOTICES = 500;

const noticeKey = (n: Notice): string => `${n.level} ${n.at} ${n.message}`;

type ToastState = Pick<SessionData, 'toasts' | 'toastSeq' | 'shownNotices'>;

/**
 * The toast list with `notices` added (the oldest dropped beyond MAX_TOASTS). Each notice is
 * shown once per page: one that comes again is dropped (every connection of a UI hears the
 * session's start-up notices), and one that comes again with more said (same level and time,
 * its text extended) replaces its toast, or shows anew when that toast is gone.
 */
export function addToasts(state: ToastState, notices: readonly Notice[]): ToastState {
  let key = state.toastSeq;
  const toasts = [...state.toasts];
  const shown = new Set(state.shownNotices);
  for (const notice of notices) {
    const id = noticeKey(notice);
    if (shown.has(id)) continue;
    shown.add(id);
    const earlier = toasts.findIndex(
      (t) => t.level === notice.level && t.at === notice.at && notice.message.startsWith(t.message),
    );
    if (earlier >= 0) toasts[earlier] = { ...notice, key: toasts[earlier]!.key };
    else toasts.push({ ...notice, key: ++key });
  }
  return {
    toasts: toasts.slice(-MAX_TOASTS),
    toastSeq: key,
    shownNotices: [...shown].slice(-REMEMBERED_NOTICES),
  };
}

const isTruncated = (f: FlowSummary): boolean =>
  f.kind === 'http' && (f.request.body.truncated || f.response?.body.truncated === true);

const isFailure = (f: FlowSummary): boolean => {
  const look = flowLook(f);
  return look === 'error' || look === 'failed-handshake';
};

/** The state after `events`; `view` decides what is shown. Never mutates anything but `byId`. */
export function applyEvents(
  state: SessionData,
  view: ViewSpec,
  events: readonly ApiEvent[],
): Partial<SessionData> {
  let byId = state.byId;
  let ids: string[] | undefined;
  let hostCounts: Record<string, number> | undefined;
  let errorCount = state.errorCount;
  let truncatedCount = state.truncatedCount;
  let reset = false;
  const appended: string[] = [];
  const appendedSet = new Set<string>();
  const changed = new Map<string, FlowSummary>();
  const patch: Partial<SessionData> = {};
  const notices: Notice[] = [];

  const counts = (): Record<string, number> => (hostCounts ??= { ...state.hostCounts });
  const count = (f: FlowSummary, delta: number): void => {
    const host = hostOf(f);
    const c = counts();
    const n = (c[host] ?? 0) + delta;
    if (n > 0) c[host] = n;
    else delete c[host];
    if (isFailure(f)) errorCount += delta;
    if (isTruncated(f)) truncatedCount += delta;
  };
  const add = (f: FlowSummary): void => {
    byId[f.id] = f;
    // In place: a copy of 100k ids per frame costs more than the whole batch.
    (ids ??= state.ids).push(f.id);
    appended.push(f.id);
    appendedSet.add(f.id);
    count(f, 1);
  };
  const update = (f: FlowSummary, old: FlowSummary): void => {
    if (old === f) return;
    byId[f.id] = f;
    count(old, -1);
    count(f, 1);
    if (!appendedSet.has(f.id) && !changed.has(f.id)) changed.set(f.id, old);
  };

  for (const event of events) {
    const flows = event.flows;
    if (flows) {
      if (flows.cleared) {
        byId = {};
        ids = [];
        hostCounts = {};
        errorCount = 0;
        truncatedCount = 0;
        reset = true;
        appended.length = 0;
        appendedSet.clear();
        changed.clear();
      }
      // A flow seen twice (a re-list racing live events) is an update, never a second row.
      for (const f of flows.added) {
        const old = byId[f.id];
        if (old) update(f, old);
        else add(f);
      }
      for (const f of flows.updated) {
        const old = byId[f.id];
        if (old) update(f, old);
        else add(f);
      }
    }
    if (event.stats) patch.stats = event.stats;
    if (event.proxy) patch.proxy = event.proxy;
    if (event.settings) patch.settings = event.settings;
    if (event.notices) notices.push(...event.notices);
  }

  if (reset || appended.length > 0 || changed.size > 0) {
    const allIds = ids ?? state.ids;
    patch.byId = byId;
    patch.ids = allIds;
    if (hostCounts) patch.hostCounts = hostCounts;
    patch.errorCount = errorCount;
    patch.truncatedCount = truncatedCount;
    const visible = reset
      ? { ids: deriveVisible(allIds, byId, view), changed: true }
      : updateVisible(state.visibleIds, byId, view, { appended, changed });
    if (visible.changed) {
      patch.visibleIds = visible.ids;
      patch.visibleVersion = state.visibleVersion + 1;
    }
  }
  return notices.length > 0 ? { ...patch, ...addToasts(state, notices) } : patch;
}
