/**
 * The session's flows, in arrival order (`ids` plus a map by id), with a change feed that
 * batches: subscribers get at most one event per 50 ms, each flow at most once in it, so a burst
 * of traffic costs the UI one update, not thousands.
 */
import type { FlowEvents } from '../../src-common/api/contract';
import type { Flow } from '../../src-common/flow';

export const FLUSH_MS = 50;

export class FlowStore {
  private ids: string[] = [];
  private readonly byId = new Map<string, Flow>();
  private readonly listeners = new Set<(events: FlowEvents) => void>();
  private added = new Set<string>();
  private updated = new Set<string>();
  private cleared = false;
  private timer: ReturnType<typeof setTimeout> | undefined;

  /** Adds a flow or replaces the stored one with the same id. */
  upsert(flow: Flow): void {
    const known = this.byId.has(flow.id);
    if (!known) this.ids.push(flow.id);
    this.byId.set(flow.id, flow);
    // Changes are tracked only while someone listens; with no subscriber there is no feed.
    if (this.listeners.size === 0) return;
    if (!known) this.added.add(flow.id);
    else if (!this.added.has(flow.id)) this.updated.add(flow.id);
    this.schedule();
  }

  get(id: string): Flow | undefined {
    return this.byId.get(id);
  }

  /** Every flow, oldest first. */
  list(): Flow[] {
    return this.ids.map((id) => this.byId.get(id)!);
  }

  get size(): number {
    return this.ids.length;
  }

  clear(): void {
    this.ids = [];
    this.byId.clear();
    this.added.clear();
    this.updated.clear();
    if (this.listeners.size === 0) return;
    this.cleared = true;
    this.schedule();
  }

  /** Receives batched changes; returns the function that unsubscribes. */
  subscribe(listener: (events: FlowEvents) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Stops the pending flush timer (the store can still be read). */
  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.listeners.clear();
  }

  private schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => this.flush(), FLUSH_MS);
    this.timer.unref?.();
  }

  private reset(): void {
    this.added.clear();
    this.updated.clear();
    this.cleared = false;
  }

  private flush(): void {
    this.timer = undefined;
    const pick = (ids: Set<string>): Flow[] =>
      [...ids].map((id) => this.byId.get(id)).filter((f): f is Flow => !!f);
    const events: FlowEvents = {
      added: pick(this.added),
      updated: pick(this.updated),
      ...(this.cleared ? { cleared: true as const } : {}),
    };
    this.reset();
    for (const listener of this.listeners) listener(events);
  }
}
