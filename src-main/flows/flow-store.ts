/**
 * The session's flows, in arrival order (`ids` plus a map by id), with a change feed that
 * batches: subscribers get at most one event per 50 ms, with each flow at most once in it, so a
 * burst of traffic costs the UI one update instead of thousands.
 */
import type { FlowEvents } from '../../src-common/api/contract';
import type { Flow } from '../../src-common/flow';

/** The longest a change waits before subscribers hear of it; also the least gap between events. */
export const FLUSH_MS = 50;

export type FlowListener = (events: FlowEvents<Flow>) => void;

/** Ordered flows plus a batched change feed. Holds plain `Flow` data only. */
export class FlowStore {
  private ids: string[] = [];
  private readonly byId = new Map<string, Flow>();
  private readonly listeners = new Set<FlowListener>();
  /** Pending changes by id, in the order each flow first changed since the last event. */
  private added = new Set<string>();
  private updated = new Set<string>();
  private cleared = false;
  private timer: ReturnType<typeof setTimeout> | undefined;

  /** Adds a flow at the end, or replaces the stored one with the same id in place. */
  upsert(flow: Flow): void {
    const known = this.byId.has(flow.id);
    if (!known) this.ids.push(flow.id);
    this.byId.set(flow.id, flow);
    // With no subscriber there is nobody to tell; a new subscriber starts from list().
    if (this.listeners.size === 0) return;
    // A flow added and then updated within one batch is simply added, in its latest state.
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

  /**
   * Forgets every flow. Subscribers get `cleared: true`; flows arriving after the clear come in
   * the same event's `added`, so a subscriber applies `cleared` first.
   */
  clear(): void {
    this.ids = [];
    this.byId.clear();
    this.added.clear();
    this.updated.clear();
    if (this.listeners.size === 0) return;
    this.cleared = true;
    this.schedule();
  }

  /** Receives batched changes from now on; returns the function that unsubscribes. */
  subscribe(listener: FlowListener): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  /** Drops subscribers and a pending event; the flows can still be read. */
  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.listeners.clear();
    this.reset();
  }

  private schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => this.flush(), FLUSH_MS);
    // A pending UI update must not keep a headless process alive on shutdown.
    this.timer.unref?.();
  }

  private reset(): void {
    this.added.clear();
    this.updated.clear();
    this.cleared = false;
  }

  private flush(): void {
    this.timer = undefined;
    const pick = (ids: Set<string>): Flow[] => {
      const out: Flow[] = [];
      for (const id of ids) {
        const flow = this.byId.get(id);
        if (flow) out.push(flow);
      }
      return out;
    };
    const events: FlowEvents<Flow> = {
      added: pick(this.added),
      updated: pick(this.updated),
      ...(this.cleared ? { cleared: true as const } : {}),
    };
    this.reset();
    let failure: unknown;
    for (const listener of this.listeners) {
      // One broken subscriber must not starve the others of the batch.
      try {
        listener(events);
      } catch (err) {
        failure ??= err;
      }
    }
    if (failure !== undefined) throw failure;
  }
}
