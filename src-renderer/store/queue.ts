/**
 * The renderer's end of "batch at both ends": events from the transport (and synthetic ones from
 * tests) wait here and are applied once per animation frame, all in one store update. A hidden
 * page gets no animation frames, so a timer flushes at most ~100 ms later instead. Menu commands
 * ride on the same events and go to the app's command handler after the batch is applied.
 */
import type { ApiEvent, UiCommand } from '../../src-common/api/contract';
import { debug } from './debug';

const FALLBACK_MS = 100;
/**
 * The least time between two applied batches. A lone request still shows on the next frame; a
 * sustained flood is shown about five times a second instead of every frame, because on a small
 * machine each render of the table takes CPU the proxy itself needs (bench/README.md: UI).
 */
export const MIN_INTERVAL_MS = 250;

export interface EventQueue {
  push(event: ApiEvent): void;
  /** Applies everything queued now (tests; and before a re-list replaces the session). */
  flush(): void;
}

/**
 * A queue applying batches with `apply` and handing commands to `onCommand`. `schedule` defaults
 * to the next animation frame raced with a timer; batches are at least `minIntervalMs` apart,
 * except that a menu command is never held back.
 */
export function createEventQueue(
  apply: (events: readonly ApiEvent[]) => void,
  onCommand: (command: UiCommand) => void,
  schedule: (flush: () => void) => void = frameOrTimer,
  minIntervalMs = MIN_INTERVAL_MS,
): EventQueue {
  let queued: ApiEvent[] = [];
  let scheduled = false;
  let held: ReturnType<typeof setTimeout> | undefined;
  let lastApplied = -Infinity;
  const flush = (): void => {
    scheduled = false;
    if (held !== undefined) clearTimeout(held);
    held = undefined;
    lastApplied = Date.now();
    if (queued.length === 0) return;
    const batch = queued;
    queued = [];
    const flowish = batch.filter((e) => Object.keys(e).some((k) => k !== 'command'));
    if (flowish.length > 0) apply(flowish);
    for (const e of batch) if (e.command) onCommand(e.command);
  };
  return {
    push(event) {
      queued.push(event);
      if (event.command && held !== undefined) {
        // A command waiting behind the flood throttle goes out on the next frame instead.
        clearTimeout(held);
        held = undefined;
        schedule(flush);
        return;
      }
      if (scheduled) return;
      scheduled = true;
      const wait = event.command ? 0 : lastApplied + minIntervalMs - Date.now();
      if (wait > 0) {
        held = setTimeout(() => {
          held = undefined;
          schedule(flush);
        }, wait);
      } else {
        schedule(flush);
      }
    },
    flush,
  };
}

/** Calls `fn` once: on the next animation frame or after FALLBACK_MS, whichever comes first. */
function frameOrTimer(fn: () => void): void {
  let done = false;
  const once = (): void => {
    if (done) return;
    done = true;
    cancelAnimationFrame(frame);
    clearTimeout(timer);
    fn();
  };
  const frame = requestAnimationFrame(once);
  const timer = setTimeout(once, FALLBACK_MS);
}

/** Wires `debug.applyEvent` to `queue`, so synthetic events take the transport's path. */
export function routeDebugEvents(queue: EventQueue): void {
  debug.applyEvent = (event) => queue.push(event);
}
