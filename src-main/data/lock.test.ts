import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { acquireLock, LOCK_FILE, LockedError } from './lock';

const root = fileURLToPath(new URL('../..', import.meta.url));
const lockModule = new URL('./lock.ts', import.meta.url).href;

let dir: string;
let lockPath: string;
const children: ChildProcess[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'loupe-lock-'));
  lockPath = join(dir, LOCK_FILE);
});
afterEach(() => {
  for (const child of children.splice(0)) child.kill();
  rmSync(dir, { recursive: true, force: true });
});

/** A process that stays alive until the test ends. */
function liveProcess(): number {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)']);
  children.push(child);
  return child.pid!;
}

/** The pid of a process that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await once(child, 'exit');
  return child.pid!;
}

const lockText = (pid: number, host = hostname()): string =>
  JSON.stringify({ pid, startedAt: new Date(0).toISOString(), hostname: host });

/**
 * Another Loupe-like process running `script` (ESM, with `acquireLock` and `dir` in scope) that
 * prints lines: 'ready', then whatever the script prints.
 */
function lockProcess(script: string): { child: ChildProcess; lines: AsyncIterator<string> } {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '--input-type=module',
      '-e',
      `const { acquireLock } = await import(${JSON.stringify(lockModule)});
       const dir = ${JSON.stringify(dir)};
       ${script}`,
    ],
    { cwd: root, stdio: ['pipe', 'pipe', 'inherit'] },
  );
  children.push(child);
  return { child, lines: createInterface({ input: child.stdout! })[Symbol.asyncIterator]() };
}

async function nextLine(lines: AsyncIterator<string>): Promise<string> {
  const { value, done } = await lines.next();
  if (done) throw new Error('the child process ended early');
  return value;
}

describe('data directory lock', () => {
  it('writes who holds it, readable only by its owner, and release removes it once', async () => {
    const lock = await acquireLock(dir);
    expect(lock.path).toBe(lockPath);
    const owner = JSON.parse(readFileSync(lockPath, 'utf8'));
    expect(owner).toEqual({
      pid: process.pid,
      startedAt: expect.any(String),
      hostname: hostname(),
    });
    expect(Math.abs(Date.parse(owner.startedAt) - Date.now())).toBeLessThan(60_000);
    if (process.platform !== 'win32') expect(statSync(lockPath).mode & 0o777).toBe(0o600);
    await lock.release();
    await lock.release();
    expect(readdirSync(dir)).toEqual([]);
    const again = await acquireLock(dir);
    await again.release();
  });

  it('refuses a second lock in the same process', async () => {
    const lock = await acquireLock(dir);
    try {
      const second = acquireLock(dir);
      await expect(second).rejects.toBeInstanceOf(LockedError);
      await expect(second).rejects.toThrow(`Another Loupe (pid ${process.pid}) is using ${dir}`);
    } finally {
      await lock.release();
    }
  });

  it('refuses while the owner runs, naming it and the way out, and leaves its lock', async () => {
    const pid = liveProcess();
    writeFileSync(lockPath, lockText(pid));
    const err = await acquireLock(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LockedError);
    expect(err).toMatchObject({ code: 'data_dir_locked', owner: { pid } });
    expect((err as Error).message).toBe(
      `Another Loupe (pid ${pid}) is using ${dir}; quit it or pass --data-dir to use another directory. If no Loupe is running there, delete ${lockPath}.`,
    );
    expect(readFileSync(lockPath, 'utf8')).toBe(lockText(pid));
  });

  it('refuses a lock taken on another machine (a shared folder), whose pids it cannot check', async () => {
    writeFileSync(lockPath, lockText(await deadPid(), 'other-host'));
    await expect(acquireLock(dir)).rejects.toThrow(
      /^Another Loupe \(pid \d+ on other-host\) is using /,
    );
    expect(existsSync(lockPath)).toBe(true);
  });

  const epoch = new Date(0).toISOString();
  it.each([
    [
      'a process that no longer runs',
      async () => {
        const pid = await deadPid();
        return [lockText(pid), { pid, startedAt: epoch }] as const;
      },
    ],
    [
      'this pid, left by an earlier run (a container restarted)',
      async () => [lockText(process.pid), { pid: process.pid, startedAt: epoch }] as const,
    ],
    ['nobody readable, written long ago', async () => ['{"pid": 12', {}] as const],
    ['an empty file written long ago', async () => ['', {}] as const],
  ])('takes over a lock left by %s and reports it stale', async (_name, make) => {
    const [text, staleFrom] = await make();
    writeFileSync(lockPath, text);
    const past = new Date(Date.now() - 60_000);
    utimesSync(lockPath, past, past);
    const lock = await acquireLock(dir);
    expect(lock.staleFrom).toEqual(staleFrom);
    expect(JSON.parse(readFileSync(lockPath, 'utf8')).pid).toBe(process.pid);
    await lock.release();
    expect(readdirSync(dir)).toEqual([]);
  });

  it('reports no stale lock on a clean start', async () => {
    const lock = await acquireLock(dir);
    expect(lock.staleFrom).toBeUndefined();
    await lock.release();
    const again = await acquireLock(dir);
    expect(again.staleFrom).toBeUndefined();
    await again.release();
  });

  it('waits for a lock being written instead of taking it for a leftover', async () => {
    writeFileSync(lockPath, '');
    const pid = liveProcess();
    setTimeout(() => writeFileSync(lockPath, lockText(pid)), 300);
    await expect(acquireLock(dir)).rejects.toThrow(`Another Loupe (pid ${pid})`);
    expect(readFileSync(lockPath, 'utf8')).toBe(lockText(pid));
  });

  it('does not remove on release a lock that is no longer its own', async () => {
    const lock = await acquireLock(dir);
    writeFileSync(lockPath, lockText(liveProcess()));
    await lock.release();
    expect(existsSync(lockPath)).toBe(true);
    expect(readdirSync(dir)).toEqual([LOCK_FILE]);
  });

  it('is removed when its process exits without releasing it', async () => {
    const { child, lines } = lockProcess(
      `await acquireLock(dir); console.log('locked'); process.exit(0);`,
    );
    expect(await nextLine(lines)).toBe('locked');
    await once(child, 'exit');
    expect(readdirSync(dir)).toEqual([]);
  });

  it('lets exactly one of several processes take over the same stale lock', async () => {
    for (let round = 0; round < 2; round++) {
      writeFileSync(lockPath, lockText(await deadPid()));
      const racers = Array.from({ length: 4 }, () =>
        lockProcess(`
          console.log('ready');
          await new Promise((resolve) => process.stdin.once('data', resolve));
          const result = await acquireLock(dir).then(() => 'won', (err) => err.code ?? err.message);
          console.log(result);
          await new Promise((resolve) => process.stdin.once('end', resolve));
        `),
      );
      for (const racer of racers) expect(await nextLine(racer.lines)).toBe('ready');
      for (const racer of racers) racer.child.stdin!.write('go\n');
      const results = await Promise.all(racers.map((racer) => nextLine(racer.lines)));
      expect(results.sort()).toEqual([
        'data_dir_locked',
        'data_dir_locked',
        'data_dir_locked',
        'won',
      ]);
      const winner = racers[results.indexOf('won')];
      for (const racer of racers) racer.child.stdin!.end();
      await Promise.all(racers.map((racer) => once(racer.child, 'exit')));
      expect(readdirSync(dir)).toEqual([]);
      expect(winner).toBeDefined();
    }
  });
});
