/**
 * Limits on client connections (issue 14, item 4): a request head that stalls is answered 408, a
 * connection that never asks for anything and one idle between requests are closed; an exchange
 * a hook holds, a tunnel and a WebSocket are left alone, unless the tunnel limit is set. Limits
 * are short here; the tests assert which connection closed and how, never how fast.
 */
import net from 'node:net';
import tls from 'node:tls';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import type { HandshakeReport } from './hooks';
import type { ProxyOptions } from './index';
import {
  cleanup,
  httpUpstream,
  proxyHarness,
  rawRequest,
  rawUpstream,
} from '../test-support/servers';
import {
  connectTunnel,
  h2Request,
  h2ViaProxy,
  httpsUpstream,
  testPki,
  tlsThroughProxy,
  type TestPki,
} from '../test-support/tls';
import { deadline, deferred, nextEvent, until } from '../test-support/wait';

const SHORT = { headersTimeoutMs: 300, firstRequestTimeoutMs: 300, keepAliveTimeoutMs: 300 };

let loupe: TestPki;
let origin: TestPki;

beforeEach(async () => {
  loupe = await testPki();
  origin = await testPki();
});
afterEach(cleanup);

function intercepting(opts: ProxyOptions = {}) {
  return proxyHarness({
    tls: loupe.minter,
    trustedCa: [origin.ca.certPem],
    resolve: [
      ['api.test', '127.0.0.1'],
      ['bank.test', '127.0.0.1'],
      ['chat.test', '127.0.0.1'],
    ],
    ...opts,
  });
}

/** Everything `socket` receives until it closes, as latin1. */
function untilClosed(socket: net.Socket, what = 'the connection to close'): Promise<string> {
  let text = '';
  socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
  socket.on('error', () => undefined);
  return deadline(
    new Promise<string>((resolve) => socket.once('close', () => resolve(text))),
    what,
  );
}

/**
 * Opens a connection that says nothing and resolves once the first-request limit has closed it.
 * Every limit as short, armed before it, has run out by then: the tests that keep something
 * open wait on this instead of on time.
 */
async function outlastLimits(proxyPort: number): Promise<void> {
  const text = await untilClosed(
    net.connect(proxyPort, '127.0.0.1'),
    'a silent connection to close',
  );
  expect(text).toBe('');
}

/** Resolves once `socket` has received `text` (as latin1) since this was called. */
function heard(socket: net.Socket, text: string): Promise<void> {
  let got = '';
  const onData = (d: Buffer): void => void (got += d.toString('latin1'));
  socket.on('data', onData);
  return until(
    `'${text}' to come back`,
    (notify) => {
      socket.on('data', notify);
      return () => {
        socket.off('data', notify);
        socket.off('data', onData);
      };
    },
    () => got.includes(text),
  );
}

/** A masked client text frame (RFC 6455 §5.3), for payloads under 126 bytes. */
function clientFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  const mask = Buffer.from([1, 2, 3, 4]);
  const masked = payload.map((b, i) => b ^ mask[i % 4]!);
  return Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, masked]);
}

describe('request head limit', () => {
  it('answers a request head that stalls part-way with 408 and closes the connection', async () => {
    const h = await proxyHarness(SHORT);
    const text = await rawRequest(
      h.proxy.port,
      'GET http://x.test/ HTTP/1.1\r\nHost: x.test\r\nX-Slow: ',
    );
    expect(text).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    expect(text).toContain('\r\nConnection: close\r\n');
    const [ex] = await h.waitFor(1);
    expect(ex).toMatchObject({
      request: { method: 'GET', url: 'http://x.test/' },
      tags: ['rejected'],
      error: { code: 'bad_request', phase: 'request', detail: 'head_timeout' },
    });
    expect(text).toContain(ex!.error!.message);
  });

  it('times a head from its first byte, however slowly the bytes trickle in', async () => {
    const h = await proxyHarness(SHORT);
    const socket = net.connect(h.proxy.port, '127.0.0.1');
    const head = `GET http://x.test/ HTTP/1.1\r\nHost: x.test\r\nX-Drip: ${'a'.repeat(5000)}`;
    let i = 0;
    // A byte far more often than the limit: a limit on silence alone would never fire.
    const drip = setInterval(() => socket.writable && socket.write(head[i++ % head.length]!), 20);
    try {
      expect(await untilClosed(socket)).toMatch(/^HTTP\/1\.1 408 /);
    } finally {
      clearInterval(drip);
    }
  });

  it('answers 408 to a later head on a keep-alive connection that stalls', async () => {
    const { port } = await httpUpstream((_req, res) => res.end('first'));
    const h = await proxyHarness({ headersTimeoutMs: 300 });
    const socket = net.connect(h.proxy.port, '127.0.0.1');
    const answered = heard(socket, 'first');
    socket.write(`GET http://127.0.0.1:${port}/ HTTP/1.1\r\nHost: x\r\n\r\n`);
    await answered;
    const rest = untilClosed(socket);
    socket.write(`GET http://127.0.0.1:${port}/second HTTP/1.1\r\nHost: x\r\nX-Slow: `);
    expect(await rest).toMatch(/^HTTP\/1\.1 408 /);
    const done = await h.waitFor(2);
    expect(done[1]!.request.url).toBe(`http://127.0.0.1:${port}/second`);
  });

  // Later heads are seen from the parser's own reads there, not from a 'data' listener.
  it('answers 408 to a later head that stalls on a decrypted HTTP/1.1 connection', async () => {
    const up = await httpsUpstream(origin, (_req, res) => res.end('first'));
    const h = await intercepting({ headersTimeoutMs: 300 });
    const { socket } = await tlsThroughProxy(h.proxy.port, `api.test:${up.port}`, {
      ca: loupe.ca.certPem,
      servername: 'api.test',
      ALPNProtocols: ['http/1.1'],
    });
    const answered = heard(socket, 'first');
    socket.write('GET / HTTP/1.1\r\nHost: api.test\r\n\r\n');
    await answered;
    const rest = untilClosed(socket);
    socket.write('GET /second HTTP/1.1\r\nHost: api.test\r\nX-Slow: ');
    expect(await rest).toMatch(/^HTTP\/1\.1 408 /);
    const done = await h.waitFor(2);
    // Named from the head's own bytes, read after the first exchange.
    expect(done[1]!.request.url).toMatch(/\/second$/);
  });
});

describe('connections that never ask for anything', () => {
  it.each([
    ['HTTP/1.1', ['http/1.1']],
    ['HTTP/2', ['h2']],
    ['no ALPN', []],
  ])('closes a decrypted %s connection that sends no request', async (_name, alpn) => {
    const h = await intercepting({ firstRequestTimeoutMs: 300 });
    const handshakes: HandshakeReport[] = [];
    h.proxy.hooks.on('tlsHandshake', (r) => void handshakes.push(r));
    const { socket } = await tlsThroughProxy(h.proxy.port, 'api.test:443', {
      ca: loupe.ca.certPem,
      servername: 'api.test',
      ALPNProtocols: alpn,
    });
    expect(socket.alpnProtocol).toBe(alpn[0] ?? false);
    await untilClosed(socket);
    // Closed by Loupe's limit: not taken for a client that hung up on the certificate.
    expect(handshakes).toEqual([]);
    expect(h.tunnels).toEqual([]);
  });

  it('closes a plain connection that sends nothing', async () => {
    const h = await proxyHarness(SHORT);
    await outlastLimits(h.proxy.port);
    expect(h.done).toEqual([]);
  });
});

describe('keep-alive limit', () => {
  it('closes an HTTP/1.1 keep-alive connection idle between requests, without a word', async () => {
    const { port } = await httpUpstream((_req, res) => res.end('ok'));
    const h = await proxyHarness({ keepAliveTimeoutMs: 300 });
    const socket = net.connect(h.proxy.port, '127.0.0.1');
    socket.write(`GET http://127.0.0.1:${port}/ HTTP/1.1\r\nHost: x\r\n\r\n`);
    const text = await untilClosed(socket);
    expect(text).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    // The response and nothing after it: no 408 for a client that merely had nothing to ask.
    expect(text.endsWith('\r\n\r\nok')).toBe(true);
    expect(await h.waitFor(1)).toHaveLength(1);
  });

  it('closes a decrypted HTTP/2 connection with no stream open, with GOAWAY', async () => {
    const up = await httpsUpstream(origin, (_req, res) => res.end('ok'));
    const h = await intercepting({ keepAliveTimeoutMs: 300 });
    const session = await h2ViaProxy(h.proxy.port, `api.test:${up.port}`, loupe.ca.certPem);
    const goaway = nextEvent(session, 'goaway', 'GOAWAY from Loupe');
    const closed = nextEvent(session, 'close', 'the HTTP/2 session to close');
    expect((await h2Request(session, { ':path': '/' })).status).toBe(200);
    await goaway;
    await closed;
  });

  it('applies limits changed while running to the next connection', async () => {
    const { port } = await httpUpstream((_req, res) => res.end('ok'));
    const h = await proxyHarness();
    h.proxy.setLimits({ firstRequestTimeoutMs: 300, keepAliveTimeoutMs: 300 });
    await outlastLimits(h.proxy.port);
    const socket = net.connect(h.proxy.port, '127.0.0.1');
    socket.write(`GET http://127.0.0.1:${port}/ HTTP/1.1\r\nHost: x\r\n\r\n`);
    expect(await untilClosed(socket)).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
  });
});

describe('what the limits leave alone', () => {
  // One answered by Loupe itself, one forwarded.
  it.each([
    ['requestHeaders', 'http://loupe.local/', 'Loupe'],
    ['responseHeaders', 'UPSTREAM', 'released'],
  ] as const)(
    'keeps a connection open while a %s hook holds its exchange',
    async (hook, url, body) => {
      const { port } = await httpUpstream((_req, res) => res.end('released'));
      const h = await proxyHarness(SHORT);
      const hold = deferred();
      h.proxy.hooks.on(hook, () => hold.promise);
      const socket = net.connect(h.proxy.port, '127.0.0.1');
      const answer = untilClosed(socket);
      const target = url.replace('UPSTREAM', `http://127.0.0.1:${port}/`);
      socket.write(`GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      await outlastLimits(h.proxy.port);
      hold.resolve();
      const text = await answer;
      expect(text).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
      expect(text).toContain(body);
    },
  );

  it('keeps a decrypted HTTP/2 connection open while a hook holds its only stream', async () => {
    const up = await httpsUpstream(origin, (_req, res) => res.end('released'));
    const h = await intercepting(SHORT);
    const hold = deferred();
    h.proxy.hooks.on('responseHeaders', () => hold.promise);
    const session = await h2ViaProxy(h.proxy.port, `api.test:${up.port}`, loupe.ca.certPem);
    const answer = h2Request(session, { ':path': '/' });
    await outlastLimits(h.proxy.port);
    hold.resolve();
    expect((await answer).body.toString()).toBe('released');
  });

  it('keeps an idle tunnel to a bypassed host open past every limit', async () => {
    const echo = await rawUpstream((s) => s.on('data', (d: Buffer) => s.write(d)));
    const h = await intercepting({ ...SHORT, isBypassed: (host) => host === 'bank.test' });
    const tunnel = await connectTunnel(h.proxy.port, `bank.test:${echo.port}`);
    const one = heard(tunnel, 'one');
    tunnel.write('one');
    await one;
    await outlastLimits(h.proxy.port);
    const two = heard(tunnel, 'two');
    tunnel.write('two');
    await two;
    expect(h.tunnels).toEqual([]);
    tunnel.destroy();
  });

  it('keeps an idle ws:// WebSocket open past every limit', async () => {
    const { server, port } = await httpUpstream((_req, res) => res.end());
    const wss = new WebSocketServer({ server });
    wss.on('connection', (ws) => ws.on('message', (m) => ws.send(`echo:${String(m)}`)));
    const h = await proxyHarness(SHORT);
    const socket = net.connect(h.proxy.port, '127.0.0.1');
    socket.on('error', () => undefined);
    const upgraded = heard(socket, '\r\n\r\n');
    socket.write(
      `GET http://127.0.0.1:${port}/ HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
    );
    await upgraded;
    const one = heard(socket, 'echo:one');
    socket.write(clientFrame('one'));
    await one;
    await outlastLimits(h.proxy.port);
    const two = heard(socket, 'echo:two');
    socket.write(clientFrame('two'));
    await two;
    expect(h.done).toEqual([]);
    socket.destroy();
  });

  it('keeps an idle wss:// WebSocket open past every limit', async () => {
    const up = await httpsUpstream(origin, (_req, res) => res.writeHead(404).end());
    const wss = new WebSocketServer({ server: up.server });
    wss.on('connection', (ws) => ws.on('message', (m) => ws.send(`echo:${String(m)}`)));
    const h = await intercepting(SHORT);
    const raw = await connectTunnel(h.proxy.port, `chat.test:${up.port}`);
    const client = new WebSocket(`wss://chat.test:${up.port}/`, {
      createConnection: () =>
        tls.connect({
          socket: raw,
          servername: 'chat.test',
          ca: loupe.ca.certPem,
          ALPNProtocols: ['http/1.1'],
        }),
    } as WebSocket.ClientOptions);
    const echoes: string[] = [];
    client.on('message', (m) => void echoes.push(String(m)));
    const closed = deferred();
    client.on('close', () => closed.resolve());
    await nextEvent(client, 'open', 'the WebSocket to open');
    const echoed = (text: string): Promise<void> =>
      until(
        `'${text}' to come back`,
        (notify) => (client.on('message', notify), () => void client.off('message', notify)),
        () => echoes.includes(text),
      );
    client.send('one');
    await echoed('echo:one');
    await outlastLimits(h.proxy.port);
    client.send('two');
    await echoed('echo:two');
    expect(client.readyState).toBe(WebSocket.OPEN);
    client.close();
    await deadline(closed.promise, 'the WebSocket to close');
  });
});

describe('tunnel limit (off unless set)', () => {
  it('closes a tunnel idle past its limit and says why on the tunnel flow', async () => {
    const echo = await rawUpstream((s) => s.on('data', (d: Buffer) => s.write(d)));
    const h = await proxyHarness({ tunnelIdleTimeoutMs: 300 });
    const tunnel = await connectTunnel(h.proxy.port, `127.0.0.1:${echo.port}`);
    const one = heard(tunnel, 'one');
    tunnel.write('one');
    await one;
    await untilClosed(tunnel);
    await until(
      'the tunnel flow to close',
      (notify) => h.proxy.hooks.on('tunnelClose', notify),
      () => h.tunnels.length === 1,
    );
    expect(h.tunnels[0]!.error).toMatchObject({
      code: 'tunnel_failed',
      phase: 'tunnel',
      detail: 'idle_timeout',
    });
    expect(h.tunnels[0]!.error!.message).toContain('0.3 s');
  });

  it('closes a WebSocket idle past the tunnel limit and says why on its flow', async () => {
    const { server, port } = await httpUpstream((_req, res) => res.end());
    new WebSocketServer({ server });
    const h = await proxyHarness({ tunnelIdleTimeoutMs: 300 });
    const socket = net.connect(h.proxy.port, '127.0.0.1');
    socket.write(
      `GET http://127.0.0.1:${port}/ HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
    );
    expect(await untilClosed(socket)).toMatch(/^HTTP\/1\.1 101 /);
    const [ex] = await h.waitFor(1);
    expect(ex!.error).toMatchObject({ code: 'tunnel_failed', detail: 'idle_timeout' });
    expect(ex!.error!.message).toContain('WebSocket');
  });
});
