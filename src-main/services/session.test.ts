/**
 * Start-up of a real session on a real data directory: what it tells the user, and how the event
 * hub tells it to UIs that connect later.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ApiEvent, Notice } from '../../src-common/api/contract';
import { SETTINGS_FILE } from '../data/settings';
import { leaveCrashedLock } from '../test-support/crash';
import { createEventHub } from './api';
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

/** Leaves the data directory as a run that crashed would: its lock names a dead process. */
const crashedBefore = (): Promise<number> => leaveCrashedLock(dir);

const ENDED_ABNORMALLY = /^The last run ended abnormally: /;

describe('session start-up notices', () => {
  it('says once that the last run ended abnormally when it takes over a lock left by a dead process', async () => {
    const startedAt = '2024-05-01T10:00:00.000Z';
    const pid = await leaveCrashedLock(dir, startedAt);
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

  it('keeps the start-up notices in order, and a recovery joins the abnormal end in its one notice', async () => {
    await crashedBefore();
    await writeFile(
      join(dir, SETTINGS_FILE),
      JSON.stringify({ version: 1, captureBodyCap: 'lots' }),
    );
    const opened = await open();
    expect(opened.startupNotices).toEqual(notices);
    expect(notices.map((n) => [n.level, n.message])).toEqual([
      ['warning', expect.stringMatching(ENDED_ABNORMALLY)],
      ['warning', expect.stringMatching(/^Parts of .*settings\.json could not be used/)],
    ]);
    const [ended, repaired] = notices;

    expect(opened.addToLastRunNotice('The system proxy was set back to what it was.')).toBe(true);
    const extended = {
      ...ended,
      message: `${ended!.message} The system proxy was set back to what it was.`,
    };
    expect(opened.startupNotices).toEqual([extended, repaired]);
    expect(notices.at(-1)).toEqual(extended);
  });

  it('still says the last run ended abnormally when this start fails', async () => {
    await crashedBefore();
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    const port = (taken.address() as AddressInfo).port;
    try {
      await expect(
        openSession({
          dataDir: dir,
          host: '127.0.0.1',
          port,
          version: '0.0.0-test',
          mode: 'headless',
          onNotice: (notice) => notices.push(notice),
        }),
      ).rejects.toMatchObject({ code: 'EADDRINUSE' });
    } finally {
      taken.close();
    }
    expect(notices.map((n) => n.message)).toEqual([expect.stringMatching(ENDED_ABNORMALLY)]);
  });

  it('has no abnormal end to add to after a clean run', async () => {
    const opened = await open();
    expect(opened.addToLastRunNotice('The system proxy was set back.')).toBe(false);
    expect(opened.startupNotices).toEqual([]);
    expect(notices).toEqual([]);
  });
});

describe('the event hub and start-up notices', () => {
  /** The `notices` events a subscriber heard. */
  const noticesOf = (events: ApiEvent[]): Notice[][] =>
    events.flatMap((e) => (e.notices ? [e.notices] : []));

  it('tells each new subscriber the start-up notices once, while live notices still reach all', async () => {
    await crashedBefore();
    const opened = await open();
    const [ended] = opened.startupNotices;
    const hub = createEventHub(opened);
    try {
      const first: ApiEvent[] = [];
      hub.subscribe((e) => first.push(e));
      expect(noticesOf(first)).toEqual([[ended]]);

      const second: ApiEvent[] = [];
      const leave = hub.subscribe((e) => second.push(e));
      expect(noticesOf(second)).toEqual([[ended]]);
      expect(noticesOf(first)).toEqual([[ended]]);

      // A live notice: an addon that throws is reported, traffic unharmed.
      opened.hooks.on('tlsHandshake', () => {
        throw new Error('an addon failed');
      });
      opened.hooks.emit('tlsHandshake', {
        host: 'a.test',
        port: 443,
        ok: true,
        clientAddress: '127.0.0.1',
      });
      const failed = {
        level: 'error',
        message: expect.stringMatching(/^internal error in tlsHandshake: Error: an addon failed/),
        at: expect.any(Number),
      };
      expect(noticesOf(first)).toEqual([[ended], [failed]]);
      expect(noticesOf(second)).toEqual([[ended], [failed]]);

      opened.addToLastRunNotice('A session was recovered.');
      const extended = { ...ended, message: `${ended!.message} A session was recovered.` };
      expect(noticesOf(first).at(-1)).toEqual([extended]);
      expect(noticesOf(second).at(-1)).toEqual([extended]);

      // A page loaded again (a new subscriber) hears the notice as it stands now, alone.
      leave();
      const third: ApiEvent[] = [];
      hub.subscribe((e) => third.push(e));
      expect(noticesOf(third)).toEqual([[extended]]);
    } finally {
      hub.dispose();
    }
  });

  it('sends a subscriber no notices event after a clean start', async () => {
    const hub = createEventHub(await open());
    const heard: ApiEvent[] = [];
    hub.subscribe((e) => heard.push(e));
    hub.dispose();
    expect(heard).toEqual([]);
  });
});
