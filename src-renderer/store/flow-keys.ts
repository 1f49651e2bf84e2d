/**
 * Per-flow memos of what the view asks of a flow again and again: its host (the sidebar and its
 * filter) and its sort keys. Deriving them parses the URL, which is the costly part; a flow
 * object never changes (an update is a new object), so a WeakMap keyed by the object is exact
 * and lets the old objects go.
 */
import type { FlowSummary } from '../../src-common/api/contract';
import { flowHost } from '../../src-common/flow-view';
import { sortValue, type ColumnId } from './columns';

const hosts = new WeakMap<FlowSummary, string>();
const keys = new Map<ColumnId, WeakMap<FlowSummary, { v: string | number | undefined }>>();

/** `flowHost(f)`, computed once per flow object. */
export function hostOf(f: FlowSummary): string {
  let host = hosts.get(f);
  if (host === undefined) {
    host = flowHost(f);
    hosts.set(f, host);
  }
  return host;
}

/** `sortValue(id, f)`, computed once per flow object and column. */
export function sortKeyOf(id: ColumnId, f: FlowSummary): string | number | undefined {
  let memo = keys.get(id);
  if (!memo) keys.set(id, (memo = new WeakMap()));
  let entry = memo.get(f);
  if (!entry) {
    entry = { v: sortValue(id, f) };
    memo.set(f, entry);
  }
  return entry.v;
}
