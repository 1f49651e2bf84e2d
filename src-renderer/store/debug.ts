/**
 * `window.__loupeDebug`: counters the end-to-end tests read to check the batching and row
 * memoisation promises (one store update per batch; one row render per changed flow), and the
 * door through which they inject synthetic events along the transport's own path.
 */
import type { ApiEvent } from '../../src-common/api/contract';

export interface LoupeDebug {
  /** `set()` calls that applied event batches. */
  storeUpdates: number;
  /** Renders of each flow's row component, by flow id. */
  rowRenders: Record<string, number>;
  /** Queues `event` exactly as if the transport had delivered it. */
  applyEvent(event: ApiEvent): void;
}

declare global {
  interface Window {
    __loupeDebug?: LoupeDebug;
  }
}

/** The counters; `applyEvent` is wired by the queue at start. */
export const debug: LoupeDebug = {
  storeUpdates: 0,
  rowRenders: {},
  applyEvent: () => {},
};

/** Ids `rowRenders` may hold before it starts over: the tail renders every flow of a session. */
const MAX_COUNTED_ROWS = 50_000;
let countedRows = 0;

/** Counts one render of a row, without letting a long session grow the counters forever. */
export function countRowRender(id: string): void {
  const renders = debug.rowRenders;
  const seen = renders[id];
  if (seen === undefined && ++countedRows > MAX_COUNTED_ROWS) {
    debug.rowRenders = { [id]: 1 };
    countedRows = 1;
    return;
  }
  renders[id] = (seen ?? 0) + 1;
}

/** Publishes the counters on `window` (the renderer only; tests run without a window). */
export function exposeDebug(): void {
  if (typeof window !== 'undefined') window.__loupeDebug = debug;
}
