/**
 * One Loupe process per data directory: two processes sharing a CA key, settings and a bodies
 * folder would overwrite each other. A lock file (`loupe.lock`, created exclusively) names the
 * owner; a lock left by a process that no longer runs is taken over, and said to be: it is the
 * cheapest sign that the last run crashed or was killed.
 *
 * Taking over is the delicate part: several processes may find the same stale lock at once, and
 * one must not remove the fresh lock another has just written in its place (see takeOver).
 */
import { readFileSync, rmSync } from 'node:fs';
import { rm, stat, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { removeLeftoverTemps } from './data-dir';
import { readIfExists } from './read-if-exists';

export const LOCK_FILE = 'loupe.lock';

/** What the lock file holds, as JSON. */
export interface LockOwner {
  pid: number;
  /** ISO 8601 time the lock was taken. */
  startedAt: string;
  hostname: string;
}

/** What a lock taken over from a run that did not end cleanly said, as far as it could be read. */
export interface StaleOwner {
  pid?: number;
  /** ISO 8601 time that run took the lock. */
  startedAt?: string;
}

export interface Lock {
  readonly path: string;
  /**
   * Set when the lock was taken over from a process that no longer runs (or an empty lock file
   * older than a write takes): the last run on this directory ended abnormally.
   */
  readonly staleFrom?: StaleOwner;
  /** Removes the lock file if it is still this process's. Safe to call more than once. */
  release(): Promise<void>;
}

/** The data directory is in use by another Loupe (code `data_dir_locked`). */
export class LockedError extends Error {
  readonly code = 'data_dir_locked';
  constructor(
    message: string,
    /** The lock file's owner, when it could be read. */
    readonly owner?: Partial<LockOwner>,
  ) {
    super(message);
  }
}

/**
 * A lock file is created empty and then written, so for a moment a live owner's lock is
 * unreadable. Only an unreadable lock older than this is taken for a crash's leftover.
 */
const WRITING_GRACE_MS = 2000;
/**
 * A takeover takes milliseconds; a takeover lock older than this was left by a process that died
 * taking over. Generous, because a holder stalled past it could remove a fresh lock.
 */
const TAKEOVER_STALE_MS = 3000;

/** Lock files this process holds, path → the text it wrote. */
const held = new Map<string, string>();

/** A lock left behind by a plain `process.exit()` would make the next start wait on a dead pid. */
process.on('exit', () => {
  for (const [path, body] of held) {
    try {
      if (readFileSync(path, 'utf8') === body) rmSync(path, { force: true });
    } catch {
      // Already gone, or the folder is unreadable: nothing more can be done while exiting.
    }
  }
});

type ReadOwner = Partial<LockOwner> & { pid: number };

function parseOwner(text: string): ReadOwner | undefined {
  try {
    const value = JSON.parse(text) as ReadOwner | null;
    return typeof value === 'object' && value !== null && Number.isInteger(value.pid)
      ? value
      : undefined;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to another user.
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

function inUse(dir: string, path: string, owner: Partial<LockOwner>): LockedError {
  const who = owner.hostname && owner.hostname !== hostname() ? ` on ${owner.hostname}` : '';
  return new LockedError(
    `Another Loupe (pid ${owner.pid}${who}) is using ${dir}; quit it or pass --data-dir to use another directory. If no Loupe is running there, delete ${path}.`,
    owner,
  );
}

/**
 * Removes the stale lock at `path`, which held `stale` when it was judged. Only the holder of a
 * second, short-lived lock file (`loupe.lock.takeover`) may remove a lock, and it re-reads it
 * first: two processes that judged the same stale lock cannot then remove each other's fresh one.
 */
async function takeOver(path: string, stale: string): Promise<void> {
  const mutex = `${path}.takeover`;
  try {
    await writeFile(mutex, String(process.pid), { flag: 'wx', mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    // Someone else is taking over right now, or died doing so: that takes milliseconds.
    const ms = await age(mutex);
    if (ms !== undefined && ms > TAKEOVER_STALE_MS) await rm(mutex, { force: true });
    else await sleep(20);
    return;
  }
  try {
    if ((await readIfExists(path)) === stale) await rm(path, { force: true });
  } finally {
    await rm(mutex, { force: true });
  }
}

/** Milliseconds since the file was last written, or undefined when it is gone. */
async function age(path: string): Promise<number | undefined> {
  try {
    return Date.now() - (await stat(path)).mtimeMs;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Creates the lock file; resolves to the stale owner it replaced, if it replaced one. */
async function take(dir: string, path: string, body: string): Promise<StaleOwner | undefined> {
  let stale: StaleOwner | undefined;
  const giveUpAt = Date.now() + Math.max(WRITING_GRACE_MS, TAKEOVER_STALE_MS) + 1000;
  for (;;) {
    try {
      await writeFile(path, body, { flag: 'wx', mode: 0o600 });
      return stale;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    if (Date.now() > giveUpAt) {
      throw new LockedError(
        `Could not lock ${dir}: ${path} could not be read or taken over. If no Loupe is running there, delete it.`,
      );
    }
    const text = await readIfExists(path);
    if (text === undefined) continue; // released meanwhile: try again
    const owner = parseOwner(text);
    if (owner) {
      if (owner.hostname && owner.hostname !== hostname()) throw inUse(dir, path, owner);
      // Our own pid in a lock we do not hold: a previous run that had the same pid (containers
      // often start at the same pid each time).
      if (owner.pid !== process.pid && alive(owner.pid)) throw inUse(dir, path, owner);
      stale = {
        pid: owner.pid,
        ...(typeof owner.startedAt === 'string' ? { startedAt: owner.startedAt } : {}),
      };
    } else {
      const ms = await age(path);
      if (ms === undefined) continue;
      if (ms < WRITING_GRACE_MS) {
        await sleep(50);
        continue;
      }
      stale = {};
    }
    await takeOver(path, text);
  }
}

/**
 * Takes the data directory `dir` for this process, or throws LockedError naming the owner. A
 * stale lock is taken over and reported in `staleFrom`; the caller tells the user. Once it is
 * taken, the temporary files of saves a killed run left are removed (no other Loupe is saving).
 */
export async function acquireLock(dir: string): Promise<Lock> {
  const path = join(dir, LOCK_FILE);
  const me: LockOwner = {
    pid: process.pid,
    startedAt: new Date().toISOString(),
    hostname: hostname(),
  };
  const body = JSON.stringify(me);
  if (held.has(path)) throw inUse(dir, path, me);
  // Reserved before the first await, so two calls in this process cannot both go on.
  held.set(path, body);
  let staleFrom: StaleOwner | undefined;
  try {
    staleFrom = await take(dir, path, body);
  } catch (err) {
    held.delete(path);
    throw err;
  }
  await removeLeftoverTemps(dir);
  let released = false;
  return {
    path,
    ...(staleFrom ? { staleFrom } : {}),
    async release() {
      if (released) return;
      released = true;
      // A live lock is removed by nobody else, so it is ours unless a user deleted it by hand.
      if ((await readIfExists(path)) === body) await rm(path, { force: true });
      held.delete(path);
    },
  };
}
