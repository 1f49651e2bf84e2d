/**
 * The limits on client connections reach the engine from the settings: those saved when the
 * session starts, and a change while it runs, from the next connection on. Real session, real
 * sockets; the limits are the shortest the settings take (1 s).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS, type Settings } from '../../src-common/settings';
import { SETTINGS_FILE } from '../data/settings';
import { cleanup, httpUpstream } from '../test-support/servers';
import { deadline } from '../test-support/wait';
import { openSession, type Session } from './session';

let dir: string;
let session: Session | undefined;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'loupe-limits-'));
});

afterEach(async () => {
  await session?.close();
  session = undefined;
  await cleanup();
  await rm(dir, { recursive: true, force: true });
});

async function open(saved?: Partial<Settings>): Promise<Session> {
  if (saved) {
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, SETTINGS_FILE), JSON.stringify({ ...DEFAULT_SETTINGS, ...saved }));
  }
  session = await openSession({
    dataDir: dir,
    host: '127.0.0.1',
    port: 0,
    version: '0.0.0-test',
    mode: 'headless',
  });
  return session;
}

/** Sends `bytes` on a new connection to the proxy; resolves with what came back once it closed. */
function sendAndWaitForClose(port: number, bytes: string): Promise<string> {
  const socket = net.connect(port, '127.0.0.1');
  let text = '';
  socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
  socket.on('error', () => undefined);
  if (bytes) socket.write(bytes);
  return deadline(
    new Promise<string>((resolve) => socket.once('close', () => resolve(text))),
    'Loupe to close the connection',
  );
}

describe('limits on client connections from the settings', () => {
  it('closes a silent connection after the saved first-request limit', async () => {
    const s = await open({ firstRequestTimeoutSeconds: 1 });
    expect(await sendAndWaitForClose(s.proxy.port, '')).toBe('');
  });

  it('answers a stalled head with 408 after the saved head limit', async () => {
    const s = await open({ requestHeadTimeoutSeconds: 1 });
    const text = await sendAndWaitForClose(s.proxy.port, 'GET http://x.test/ HTTP/1.1\r\nHost: ');
    expect(text).toMatch(/^HTTP\/1\.1 408 /);
    expect(text).toContain('within 1 s');
  });

  it('closes an idle keep-alive connection once the limit is changed while running', async () => {
    const { port } = await httpUpstream((_req, res) => res.end('ok'));
    const s = await open();
    await s.updateSettings({ keepAliveTimeoutSeconds: 1 });
    const text = await sendAndWaitForClose(
      s.proxy.port,
      `GET http://127.0.0.1:${port}/ HTTP/1.1\r\nHost: x\r\n\r\n`,
    );
    expect(text).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\nok$/);
  });
});
