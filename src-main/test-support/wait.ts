/**
 * Waiting in tests on the event that matters, never on time: every wait has a deadline that
 * fails the test saying what it waited for, rather than hanging until the suite's timeout. The
 * deadline is generous because CI runs on two loaded cores; it bounds a failure, it measures
 * nothing (thresholds belong in bench/).
 */
import { once, type EventEmitter } from 'node:events';
import type { Harness } from './servers';

/** How long a wait may take before it fails the test. */
const WAIT_MS = 10_000;

/** Settles as `promise` does, or rejects naming `what` once `ms` have passed first. */
export function deadline<T>(promise: Promise<T>, what: string, ms = WAIT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** A promise with its settling functions outside it, for an event a callback reports. */
export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(reason: unknown): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/**
 * Resolves once `check()` holds: tried at once, then on each notification of the feed that
 * `subscribe` joins (an engine hook, a store's change feed, a socket's 'data'…; it returns the
 * function that leaves). Rejects naming `what` after `ms`.
 */
export function until(
  what: string,
  subscribe: (notify: () => void) => () => void,
  check: () => boolean,
  ms = WAIT_MS,
): Promise<void> {
  const held = deferred();
  const notify = (): void => {
    if (check()) held.resolve();
  };
  const leave = subscribe(notify);
  notify();
  return deadline(held.promise, what, ms).finally(leave);
}

/** The arguments of `emitter`'s next `name` event; rejects naming `what` after `ms`. */
export function nextEvent(
  emitter: EventEmitter,
  name: string,
  what = `the '${name}' event`,
  ms = WAIT_MS,
): Promise<unknown[]> {
  const leave = new AbortController();
  return deadline(once(emitter, name, { signal: leave.signal }), what, ms).finally(() =>
    leave.abort(),
  );
}

/** Resolves once the harness has recorded `n` closed tunnels (its `tunnelClose` hook). */
export function tunnelsClosed(h: Harness, n: number): Promise<void> {
  return until(
    `${n} closed tunnel${n === 1 ? '' : 's'}`,
    (notify) => h.proxy.hooks.on('tunnelClose', notify),
    () => h.tunnels.length >= n,
  );
}
