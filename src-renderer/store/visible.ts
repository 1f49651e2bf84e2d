/**
 * The rows the table shows: the flows that pass the filter text, the quick toggles and the
 * selected host, in the chosen order. Computed in full only when the view changes; a batch of
 * events updates the previous list incrementally, so a live session of 100k flows sorted by
 * arrival costs O(batch) per batch (plus one array copy), not a filter and sort of everything.
 */
import type { FlowSummary } from '../../src-common/api/contract';
import type { CompiledFilter } from '../../src-common/filter';
import { flowCategory, flowLook, flowStatus } from '../../src-common/flow-view';
import type { FlowCategory } from '../../src-common/flow-view';
import type { ColumnId } from './columns';
import { hostOf, sortKeyOf } from './flow-keys';

/** The status-class quick toggles; `error` is a failed exchange or handshake (no status). */
export const STATUS_CLASSES = ['2xx', '3xx', '4xx', '5xx', 'error'] as const;
export type StatusClass = (typeof STATUS_CLASSES)[number];

export interface SortSpec {
  id: ColumnId;
  desc: boolean;
}

/** Everything that decides which flows are shown, and in which order. */
export interface ViewSpec {
  filter: CompiledFilter;
  /** Lower-case host name from the sidebar; undefined shows every host. */
  host?: string;
  /** Quick toggles; an empty list means "any". */
  types: readonly FlowCategory[];
  statuses: readonly StatusClass[];
  /** Undefined is arrival order, the same as `#` ascending. */
  sort?: SortSpec;
}

export type FlowMap = Readonly<Record<string, FlowSummary>>;

function statusClass(f: FlowSummary): StatusClass | undefined {
  const look = flowLook(f);
  if (look === 'error' || look === 'failed-handshake') return 'error';
  const status = flowStatus(f);
  if (status === undefined || status < 200 || status >= 600) return undefined;
  return `${Math.floor(status / 100)}xx` as StatusClass;
}

/** The test of one flow against the view (order aside). */
export function viewPredicate(spec: ViewSpec): (f: FlowSummary) => boolean {
  const { filter, host, types, statuses } = spec;
  return (f) => {
    if (host !== undefined && hostOf(f) !== host) return false;
    if (types.length > 0 && !types.includes(flowCategory(f))) return false;
    if (statuses.length > 0) {
      const cls = statusClass(f);
      if (cls === undefined || !statuses.includes(cls)) return false;
    }
    return filter.empty || filter.test(f);
  };
}

/** Arrival order: `#` ascending or descending, or no sort at all. */
function byArrival(sort: SortSpec | undefined): boolean {
  return !sort || sort.id === 'seq';
}

const collator = new Intl.Collator(undefined, { numeric: true });

/** Compares two flows by the sort column; equal keys stay in arrival order either way. */
export function flowComparator(sort: SortSpec): (a: FlowSummary, b: FlowSummary) => number {
  const dir = sort.desc ? -1 : 1;
  return (a, b) => {
    const va = sortKeyOf(sort.id, a);
    const vb = sortKeyOf(sort.id, b);
    if (va !== vb) {
      if (va === undefined) return -dir;
      if (vb === undefined) return dir;
      if (typeof va === 'number' && typeof vb === 'number') return (va - vb) * dir;
      const c = collator.compare(String(va), String(vb));
      if (c !== 0) return c * dir;
    }
    return a.seq - b.seq;
  };
}

/** The shown ids from scratch: `ids` are every flow in arrival order. */
export function deriveVisible(ids: readonly string[], byId: FlowMap, spec: ViewSpec): string[] {
  const pass = viewPredicate(spec);
  const out = ids.filter((id) => pass(byId[id]!));
  if (byArrival(spec.sort)) return spec.sort?.desc ? out.reverse() : out;
  const cmp = flowComparator(spec.sort!);
  return out.sort((a, b) => cmp(byId[a]!, byId[b]!));
}

/** Index at which `flow` belongs in `list` (sorted by `cmp`): the first element after it. */
function insertionIndex(
  list: readonly string[],
  byId: FlowMap,
  flow: FlowSummary,
  cmp: (a: FlowSummary, b: FlowSummary) => number,
): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cmp(byId[list[mid]!]!, flow) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** What a batch changed: ids new to the session (arrival order), and updated flows' old objects. */
export interface BatchChanges {
  appended: readonly string[];
  /** Updated flows that were already in the session before the batch, with their old object. */
  changed: ReadonlyMap<string, FlowSummary>;
}

/**
 * The shown ids after a batch, from the shown ids before it (computed with the same `spec`).
 * The common case (live traffic in arrival order) appends to `prev` in place: copying 100k ids
 * costs milliseconds per frame, appending costs the batch. `changed` says whether anything shown
 * changed; when it is false `ids` is `prev`, untouched.
 */
export function updateVisible(
  prev: string[],
  byId: FlowMap,
  spec: ViewSpec,
  { appended, changed }: BatchChanges,
): { ids: string[]; changed: boolean } {
  const pass = viewPredicate(spec);
  const cmp = flowComparator(spec.sort ?? { id: 'seq', desc: false });
  const leaving = new Set<string>();
  const entering: FlowSummary[] = [];
  for (const [id, old] of changed) {
    const was = pass(old);
    const now = pass(byId[id]!);
    // In arrival order a flow's place never moves (its seq is fixed): only membership matters.
    if (byArrival(spec.sort) && was === now) continue;
    if (was) leaving.add(id);
    if (now) entering.push(byId[id]!);
  }
  for (const id of appended) {
    const f = byId[id]!;
    if (pass(f)) entering.push(f);
  }
  if (leaving.size === 0 && entering.length === 0) return { ids: prev, changed: false };
  entering.sort(cmp);
  if (leaving.size === 0) {
    const last = prev.length > 0 ? byId[prev[prev.length - 1]!]! : undefined;
    if (last === undefined || cmp(last, entering[0]!) < 0) {
      for (const f of entering) prev.push(f.id);
      return { ids: prev, changed: true };
    }
  }
  const out = leaving.size > 0 ? prev.filter((id) => !leaving.has(id)) : prev.slice();
  if (entering.length < 64) {
    for (const f of entering) out.splice(insertionIndex(out, byId, f, cmp), 0, f.id);
    return { ids: out, changed: true };
  }
  // Many out-of-place entries (e.g. a descending sort): one linear merge.
  const merged: string[] = [];
  let i = 0;
  for (const f of entering) {
    while (i < out.length && cmp(byId[out[i]!]!, f) <= 0) merged.push(out[i++]!);
    merged.push(f.id);
  }
  while (i < out.length) merged.push(out[i++]!);
  return { ids: merged, changed: true };
}
