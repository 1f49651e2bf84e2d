/**
 * A settings change the disk cannot take, through the API both transports call, against a real
 * session and the real settings file: the disk is made full at the atomic-write layer.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ApiReply } from '../../src-common/api/contract';
import { injectWriteFault } from '../data/atomic-write';
import { diskFull } from '../test-support/disk';
import { cleanup, deadPort } from '../test-support/servers';
import { createApi, createDispatcher, createEventHub, type Dispatch } from './api';
import { openSession, type Session } from './session';

let dir: string;
let session: Session;
let call: Dispatch;
let settingsFile: string;
let undo: (() => void) | undefined;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'loupe-full-disk-'));
  session = await openSession({
    dataDir: dir,
    host: '127.0.0.1',
    port: 0,
    version: '0.0.0-test',
    mode: 'headless',
  });
  call = createDispatcher(createApi(session, createEventHub(session)));
  settingsFile = join(dir, 'settings.json');
  expect(await call('loupe:settings.update', [{ captureBodyCap: 1024 }])).toMatchObject({
    ok: true,
  });
  undo = injectWriteFault((path) => (path === settingsFile ? diskFull() : undefined));
});

afterEach(async () => {
  undo?.();
  await session?.close();
  await cleanup();
  await rm(dir, { recursive: true, force: true });
});

const fullDiskReply = (): ApiReply => ({
  ok: false,
  error: {
    code: 'unavailable',
    message: `Loupe could not save ${settingsFile}: the disk is full (ENOSPC); free some space, then try again. The settings are as they were.`,
  },
});

describe('saving settings on a full disk', () => {
  it('is refused as unavailable, in words, and changes nothing', async () => {
    const before = await readFile(settingsFile, 'utf8');
    expect(await call('loupe:settings.update', [{ captureBodyCap: 5 }])).toEqual(fullDiskReply());
    expect(session.settings.get().captureBodyCap).toBe(1024);
    expect(await readFile(settingsFile, 'utf8')).toBe(before);
  });

  it('is refused the same way when the change moves the proxy, which stays where it was', async () => {
    const port = session.proxy.port;
    const to = await deadPort();
    expect(await call('loupe:settings.update', [{ proxyPort: to }])).toEqual(fullDiskReply());
    expect(session.proxy.port).toBe(port);
  });
});
