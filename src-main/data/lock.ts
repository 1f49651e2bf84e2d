/**
 * One Loupe process per data directory: two processes sharing a CA key, settings and a bodies
 * folder would overwrite each other. A lock file names the owner; a lock left by a process that
 * no longer runs is taken over.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';

export interface Lock {
  readonly path: string;
  release(): Promise<void>;
}

export class LockedError extends Error {
  readonly code = 'data_dir_locked';
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function acquireLock(dir: string): Promise<Lock> {
  const path = join(dir, 'loupe.lock');
  const body = JSON.stringify({
    pid: process.pid,
    startedAt: new Date().toISOString(),
    hostname: hostname(),
  });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(path, body, { flag: 'wx', mode: 0o600 });
      let released = false;
      return {
        path,
        release: async () => {
          if (released) return;
          released = true;
          await rm(path, { force: true });
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      let owner: { pid?: number; hostname?: string } = {};
      try {
        owner = JSON.parse(await readFile(path, 'utf8')) as typeof owner;
      } catch {
        // An unreadable lock (a crash mid-write) is stale.
      }
      const sameHost = !owner.hostname || owner.hostname === hostname();
      if (
        typeof owner.pid === 'number' &&
        sameHost &&
        alive(owner.pid) &&
        owner.pid !== process.pid
      ) {
        throw new LockedError(
          `Another Loupe (pid ${owner.pid}) is using ${dir}; quit it or pass --data-dir to use another directory.`,
        );
      }
      if (typeof owner.pid === 'number' && !sameHost) {
        throw new LockedError(
          `Loupe on ${owner.hostname} (pid ${owner.pid}) is using ${dir}; quit it or pass --data-dir to use another directory.`,
        );
      }
      await rm(path, { force: true });
    }
  }
  throw new LockedError(
    `Could not lock ${dir}; another Loupe may be starting. Try again, or pass --data-dir.`,
  );
}
