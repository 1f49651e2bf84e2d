/**
 * The exit HAR of `loupe headless --har` with a WebSocket too big to write whole: a real `ws`
 * server floods a socket through the real command, which is stopped with SIGINT. The socket's
 * entry is written cut and says so; every flow is in the file, and the command exits 0. The
 * limits are lowered (LOUPE_TEST_HAR_ENTRY_LIMIT) so that megabytes stand for the gigabytes
 * that broke it.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import type { HarWebSocketMessage } from '../../src-common/har/export';
import type { HarEntry, HarLog } from '../../src-common/har/types';
import { startHeadless, type HeadlessProcess } from '../test-support/headless';
import { validateHar } from '../test-support/har-schema';
import { rawRequest, viaProxy } from '../test-support/servers';

type Entry = HarEntry & { _webSocketMessages?: HarWebSocketMessage[]; _truncated?: string };

const MESSAGES = 40;
const MESSAGE_BYTES = 256 * 1024;
/** A frame of MESSAGE_BYTES from the server: 2 bytes, the 64-bit length, the payload. */
const FRAME_BYTES = 10 + MESSAGE_BYTES;
const LIMIT = 1024 * 1024;

let dir: string;
let server: http.Server;
let wss: WebSocketServer;
let port: number;
let loupe: HeadlessProcess | undefined;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'loupe-headless-ws-'));
  server = http.createServer((_req, res) => res.end('plain answer'));
  wss = new WebSocketServer({ server });
  wss.on('connection', (socket) => {
    for (let i = 0; i < MESSAGES; i++) socket.send(String(i % 10).repeat(MESSAGE_BYTES));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as net.AddressInfo).port;
});

afterEach(async () => {
  await loupe?.stop('SIGKILL');
  loupe = undefined;
  for (const client of wss.clients) client.terminate();
  wss.close();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

/** Opens a WebSocket through the proxy and reads until every message has arrived. */
function receiveAll(proxyPort: number): Promise<string> {
  const upgrade = [
    `GET http://127.0.0.1:${port}/feed HTTP/1.1`,
    `Host: 127.0.0.1:${port}`,
    'Upgrade: websocket',
    'Connection: Upgrade',
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
    'Sec-WebSocket-Version: 13',
    '',
    '',
  ].join('\r\n');
  return rawRequest(proxyPort, upgrade, {
    until: (text) => {
      const head = text.indexOf('\r\n\r\n');
      return head >= 0 && text.length - head - 4 >= MESSAGES * FRAME_BYTES;
    },
    timeoutMs: 60_000,
  });
}

describe('loupe headless --har with a WebSocket past the export’s limits', () => {
  it('writes every flow on SIGINT, the WebSocket cut and saying so, and exits 0', async () => {
    const har = join(dir, 'session.har');
    loupe = await startHeadless(
      ['--port', '0', '--data-dir', join(dir, 'data'), '--har', har],
      20_000,
      {
        env: { LOUPE_TEST_HAR_ENTRY_LIMIT: String(LIMIT) },
      },
    );
    const before = await viaProxy(loupe.port, `http://127.0.0.1:${port}/before`);
    expect(before.body.toString()).toBe('plain answer');
    const received = await receiveAll(loupe.port);
    expect(received.startsWith('HTTP/1.1 101')).toBe(true);
    const after = await viaProxy(loupe.port, `http://127.0.0.1:${port}/after`);
    expect(after.status).toBe(200);

    expect(await loupe.stop('SIGINT')).toBe(0);
    expect(loupe.stderr()).toMatch(/wrote 3 flows \(1 written cut, as its _truncated says\) to /);
    const doc = JSON.parse(readFileSync(har, 'utf8')) as HarLog;
    expect(validateHar(doc)).toEqual([]);
    const entries = doc.log.entries as Entry[];
    expect(entries.map((e) => `${new URL(e.request.url).pathname} ${e.response.status}`)).toEqual([
      '/before 200',
      '/feed 101',
      '/after 200',
    ]);
    const [first, ws, last] = entries as [Entry, Entry, Entry];
    expect(first.response.content.text).toBe('plain answer');
    expect(last.response.content.text).toBe('plain answer');
    const written = LIMIT / MESSAGE_BYTES;
    expect(ws._webSocketMessages!.map((m) => m.data)).toEqual(
      Array.from({ length: written }, (_, i) => String(i).repeat(MESSAGE_BYTES)),
    );
    // Had SIGINT come before the socket's end was recorded, the store would hold the messages as
    // last flushed: more than the limit lets through, if not all of them.
    const cut =
      /^Loupe wrote the first (\d+) of (\d+) WebSocket messages: the rest would pass the export's limit of 1 MiB of message text per entry\.$/.exec(
        ws._truncated ?? '',
      );
    expect(cut?.[1]).toBe(String(written));
    expect(Number(cut?.[2])).toBeGreaterThan(written);
    for (const e of [first, last]) expect(e._truncated).toBeUndefined();
  });
});
