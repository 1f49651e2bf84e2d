/**
 * A data directory as a crash leaves it: `loupe.lock` naming a process that no longer runs.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { LOCK_FILE } from '../data/lock';

/** The pid of a process that has exited. */
export async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await once(child, 'exit');
  return child.pid!;
}

/** Writes the lock a crashed run on `dir` would have left; resolves with its dead pid. */
export async function leaveCrashedLock(dir: string, startedAt = 'x'): Promise<number> {
  const pid = await deadPid();
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, LOCK_FILE), JSON.stringify({ pid, startedAt, hostname: hostname() }));
  return pid;
}
