/**
 * Issue 14's memory bounds, measured on the proxy's own process: the real `loupe headless` runs
 * as a child with a 32 MiB body budget (`--body-memory 32`). Its VmRSS after a warm-up exchange
 * is the baseline; its VmHWM (the peak, reset at the baseline) once the load has done its worst
 * is compared with it. The servers and clients live in the test's process, so their garbage
 * counts for nothing here. Linux only (/proc).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { startHeadless, type HeadlessProcess } from '../test-support/headless';
import { fillUntilStuck } from '../test-support/payloads';
import { needProcStatus, readProcMemory, resetPeak } from '../test-support/proc-memory';
import { cleanup, httpUpstream, registerCloser, viaProxy } from '../test-support/servers';
import { deadline, deferred } from '../test-support/wait';

const KiB = 1024;
const MiB = 1024 * KiB;
/** The allowance is in MB; counted in decimal, the stricter reading. */
const MB = 1000 * 1000;
const BUDGET = 32 * MiB;
const SLACK = 64 * MB;
const WS_MESSAGES = 2000;
const WS_MESSAGE = 256 * KiB;
const DOWNLOADS = 30;
/** Each download's client reads this much, then stops: 30 × 4 MiB is well past the budget. */
const READ = 4 * MiB;
/** What a server may write into a stalled connection before it counts as buffering without end. */
const LIMIT = 256 * MiB;
/** A refused write with no 'drain' for this long means every buffer on the way is full. */
const QUIET_MS = 1000;
const chunk = Buffer.alloc(64 * KiB, 'x');

let dir: string;
let loupe: HeadlessProcess | undefined;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'loupe-memory-bounds-'));
});

afterEach(async () => {
  await loupe?.stop('SIGKILL');
  loupe = undefined;
  await cleanup();
  await rm(dir, { recursive: true, force: true });
});

interface Growth {
  baseline: number;
  peak: number;
  growth: number;
  /** False when the kernel kept the peak from before the baseline (an overstated growth). */
  peakReset: boolean;
}

/**
 * Starts `loupe headless --body-memory 32`, relays one small exchange so that start-up's work
 * is behind it, then takes the baseline. `growth()` reads the peak since.
 */
async function measuredProxy(): Promise<{ port: number; growth(): Growth }> {
  const running = await startHeadless([
    '--port',
    '0',
    '--data-dir',
    join(dir, 'data'),
    '--body-memory',
    String(BUDGET / MiB),
  ]);
  loupe = running;
  const pid = running.child.pid!;
  const warm = await httpUpstream((_req, res) => res.end('warm'));
  const answer = await viaProxy(running.port, `http://127.0.0.1:${warm.port}/warm-up`);
  expect(answer.body.toString()).toBe('warm');
  const baseline = readProcMemory(pid).rss;
  const peakReset = resetPeak(pid);
  return {
    port: running.port,
    growth: () => {
      const peak = readProcMemory(pid).peak;
      return { baseline, peak, growth: peak - baseline, peakReset };
    },
  };
}

function report(what: string, g: Growth): void {
  const mib = (n: number): string => `${(n / MiB).toFixed(1)} MiB`;
  console.log(
    `${what}: loupe headless RSS ${mib(g.baseline)} after warm-up, peak ${mib(g.peak)}, ` +
      `growth ${mib(g.growth)}${g.peakReset ? '' : ' (peak not reset: counted from start-up)'}`,
  );
}

/** A deflating `ws` server that sends WS_MESSAGES text messages of `a`, a few in flight, then closes. */
async function floodingServer(): Promise<number> {
  const server = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: true });
  registerCloser(async () => {
    for (const client of server.clients) client.terminate();
    await new Promise((resolve) => server.close(resolve));
  });
  const payload = Buffer.alloc(WS_MESSAGE, 'a');
  server.on('connection', (socket) => {
    let sent = 0;
    let inFlight = 0;
    const pump = (): void => {
      while (inFlight < 16 && sent < WS_MESSAGES) {
        sent++;
        inFlight++;
        socket.send(payload, { binary: false }, () => {
          inFlight--;
          if (sent < WS_MESSAGES) pump();
          else if (inFlight === 0) socket.close(1000, 'done');
        });
      }
    };
    pump();
  });
  await new Promise((resolve) => server.once('listening', resolve));
  return (server.address() as net.AddressInfo).port;
}

/** A `ws` client of `url` (ws://) through the proxy, asking in absolute form as a forward proxy's clients do. */
function webSocketViaProxy(proxyPort: number, url: string): WebSocket {
  const client = new WebSocket(url, {
    createConnection: () => net.connect(proxyPort, '127.0.0.1'),
    // Node writes the request line at end(), so the path can still become the full URL here.
    finishRequest: (req) => {
      req.path = url.replace(/^ws:/, 'http:');
      req.end();
    },
  });
  registerCloser(async () => client.terminate());
  return client;
}

/** Connects to the proxy, sends `head` and resolves with the socket once a response head came. */
function rawClient(proxyPort: number, head: string): Promise<{ socket: net.Socket; head: string }> {
  const answered = deferred<{ socket: net.Socket; head: string }>();
  const socket = net.connect(proxyPort, '127.0.0.1');
  registerCloser(async () => void socket.destroy());
  let text = '';
  const onData = (d: Buffer): void => {
    text += d.toString('latin1');
    const end = text.indexOf('\r\n\r\n');
    if (end < 0) return;
    socket.removeListener('data', onData);
    socket.pause();
    answered.resolve({ socket, head: text.slice(0, end) });
  };
  socket.on('data', onData);
  socket.on('error', answered.reject);
  socket.write(head);
  return answered.promise;
}

it(`relays ${WS_MESSAGES} deflated WebSocket messages of 256 KiB within the body budget + 64 MB`, async (ctx) => {
  needProcStatus(ctx);
  const proxy = await measuredProxy();
  const serverPort = await floodingServer();
  const client = webSocketViaProxy(proxy.port, `ws://127.0.0.1:${serverPort}/feed`);
  let messages = 0;
  let bytes = 0;
  const closed = deferred<number>();
  client.on('message', (data: Buffer) => {
    messages++;
    bytes += data.length;
  });
  client.on('close', (code) => closed.resolve(code));
  client.on('error', closed.reject);

  const code = await deadline(closed.promise, `${WS_MESSAGES} messages and the close`, 180_000);
  const g = proxy.growth();
  report(`WebSocket, ${WS_MESSAGES} × 256 KiB`, g);
  expect([code, messages, bytes]).toEqual([1000, WS_MESSAGES, WS_MESSAGES * WS_MESSAGE]);
  expect(g.growth).toBeLessThanOrEqual(BUDGET + SLACK);
}, 240_000);

it('holds a declined upgrade whose client stopped reading within 64 MB once the server is stuck', async (ctx) => {
  needProcStatus(ctx);
  const proxy = await measuredProxy();
  const stuck = deferred<number>();
  // No 'upgrade' listener: Node answers the upgrade request as an ordinary one, endlessly.
  const { port } = await httpUpstream((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
    void fillUntilStuck(res, chunk, LIMIT, QUIET_MS).then(stuck.resolve);
  });
  const { head } = await deadline(
    rawClient(
      proxy.port,
      `GET http://127.0.0.1:${port}/feed HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n` +
        'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n' +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
    ),
    'the declined answer’s head',
  );
  expect(head).toMatch(/^HTTP\/1\.1 200 /);

  const written = await deadline(stuck.promise, 'the server to be stuck writing', 60_000);
  const g = proxy.growth();
  report(`Declined upgrade, server stuck after ${(written / MiB).toFixed(1)} MiB`, g);
  expect(written).toBeLessThan(LIMIT);
  expect(g.growth).toBeLessThanOrEqual(SLACK);
}, 120_000);

it(`holds ${DOWNLOADS} endless downloads whose clients stopped reading within the body budget + 64 MB`, async (ctx) => {
  needProcStatus(ctx);
  const proxy = await measuredProxy();
  const stuck: Promise<number>[] = [];
  const { port } = await httpUpstream((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
    stuck.push(fillUntilStuck(res, chunk, LIMIT, QUIET_MS));
  });
  const read = Array.from({ length: DOWNLOADS }, (_, i) => {
    const enough = deferred();
    const req = http.request(
      {
        host: '127.0.0.1',
        port: proxy.port,
        path: `http://127.0.0.1:${port}/endless/${i}`,
        agent: false,
      },
      (res) => {
        let got = 0;
        const onData = (d: Buffer): void => {
          got += d.length;
          if (got < READ) return;
          res.removeListener('data', onData);
          res.pause();
          enough.resolve();
        };
        res.on('data', onData);
      },
    );
    req.on('error', enough.reject);
    req.end();
    registerCloser(async () => void req.destroy());
    return enough.promise;
  });

  await deadline(Promise.all(read), `${DOWNLOADS} clients to read ${READ / MiB} MiB each`, 90_000);
  const written = await deadline(Promise.all(stuck), 'every server to be stuck writing', 60_000);
  const g = proxy.growth();
  const total = written.reduce((a, b) => a + b, 0);
  report(`${DOWNLOADS} stalled downloads, servers stuck after ${(total / MiB).toFixed(0)} MiB`, g);
  expect(written.every((n) => n < LIMIT)).toBe(true);
  expect(g.growth).toBeLessThanOrEqual(BUDGET + SLACK);
}, 180_000);
