/**
 * Start-up and the transport's life: subscribes to events before listing, so nothing is missed
 * (a flow both listed and announced is applied once, as an update), loads system info, proxy
 * status, stats and the saved window arrangement, and re-lists everything after a reconnect. A
 * re-list goes through the same queue as live events, as a `cleared` plus `added`, so it
 * replaces the session in one update and in order with events that came before it.
 */
import type { ApiError, UiCommand } from '../../src-common/api/contract';
import { getBridge, onConnection } from '../api/bridge';
import { exposeDebug } from '../store/debug';
import { createEventQueue, routeDebugEvents, type EventQueue } from '../store/queue';
import { useStore } from '../store/store';
import { runCommand } from './commands';
import { watchLayout } from './persist-layout';

let queue: EventQueue | undefined;

/** Words for a failed call, for a toast. */
export function describeError(err: unknown): string {
  const e = err as Partial<ApiError> | undefined;
  return e?.message ?? String(err);
}

/** Reads the whole session and replaces what the store holds. */
async function load(q: EventQueue): Promise<void> {
  const api = getBridge();
  const [proxy, stats] = await Promise.all([api.proxy.status(), api.flows.stats()]);
  // The list is asked for last and queued the moment it arrives: events sent after it are then
  // queued after it, while one queued before its `cleared` would be wiped, and its flow lost.
  const list = await api.flows.list();
  q.push({ flows: { cleared: true, added: list, updated: [] }, proxy, stats });
}

/** Connects, loads and keeps the store in step with the session. Call once. */
export function start(): void {
  const api = getBridge();
  const store = useStore.getState;
  const q = createEventQueue(
    (events) => store().applyBatch(events),
    (command: UiCommand) => runCommand(command),
  );
  queue = q;
  exposeDebug();
  routeDebugEvents(q);
  api.onEvent((event) => q.push(event));

  const report = (err: unknown): void => store().toast('error', describeError(err));
  const loadAll = (): void => {
    load(q).catch(report);
    api.system
      .info()
      .then((info) => store().setSystem(info))
      .catch(report);
  };
  api.settings
    .get()
    .then((settings) => {
      q.push({ settings });
      store().loadLayout(settings.ui);
    })
    .catch((err) => {
      // Without the saved arrangement the defaults serve; saving stays off so they win nothing.
      report(err);
    })
    .finally(() => watchLayout());

  // Each (re)opening of the socket re-lists: events sent while it was down are lost.
  onConnection((state) => {
    if (state.status === 'open') loadAll();
    store().setConnection(
      state.status === 'refused'
        ? { status: 'refused', message: state.message }
        : state.status === 'open'
          ? { status: 'open' }
          : { status: 'connecting', attempt: state.attempt },
    );
  });
}

/** Flushes queued events now (before an action that must see the latest state). */
export function flushEvents(): void {
  queue?.flush();
}
