/** Start-up of a real session on a real data directory: what it tells the user. */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Notice } from '../../src-common/api/contract';
import { LOCK_FILE } from '../data/lock';
import { openSession, type Session } from './session';

let dir: string;
let session: Session | undefined;
let notices: Notice[];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'loupe-session-'));
  notices = [];
});

afterEach(async () => {
  await session?.close();
  session = undefined;
  await rm(dir, { recursive: true, force: true });
});

async function open(): Promise<Session> {
  session = await openSession({
    dataDir: dir,
    host: '127.0.0.1',
    port: 0,
    version: '0.0.0-test',
    mode: 'headless',
    onNotice: (notice) => notices.push(notice),
  });
  return session;
}

/** The pid of a process that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await once(child, 'exit');
  return child.pid!;
}

describe('session start-up notices', () => {
  it('says once that the last run ended abnormally when it takes over a lock left by a dead process', async () => {
    const pid = await deadPid();
    const startedAt = '2024-05-01T10:00:00.000Z';
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, LOCK_FILE), JSON.stringify({ pid, startedAt, hostname: hostname() }));
    await open();
    expect(notices).toEqual([
      {
        level: 'warning',
        message: `The last run ended abnormally: Loupe (pid ${pid}, started ${startedAt}) stopped without closing, as after a crash, a forced quit or a power cut.`,
        at: expect.any(Number),
      },
    ]);
  });

  it('says nothing on a clean start, nor after a run that closed cleanly', async () => {
    await (await open()).close();
    await open();
    expect(notices).toEqual([]);
  });
});
