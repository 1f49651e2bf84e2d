/**
 * Request heads reach the server at once: a request whose body is open but silent (a streaming
 * upload, a long-lived POST used as a stream, a client waiting for 100 Continue) has its head
 * forwarded as soon as the requestHeaders hooks let it go, not with the first body byte. Each
 * client sends a head alone, waits until the server has all of it, then sends the body. Header
 * bytes outside ASCII arrive as they were sent, and `Expect: 100-continue` is relayed both ways.
 */
import http2 from 'node:http2';
import net from 'node:net';
import tls from 'node:tls';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  cleanup,
  closeWithCleanup,
  listen,
  proxyHarness,
  type Harness,
} from '../test-support/servers';
import {
  h2Upstream,
  h2ViaProxy,
  testPki,
  tlsThroughProxy,
  type TestPki,
} from '../test-support/tls';
import { deadline, deferred, nextEvent, until } from '../test-support/wait';

let loupe: TestPki;
let origin: TestPki;

beforeEach(async () => {
  loupe = await testPki();
  origin = await testPki();
});
afterEach(cleanup);

const BODY = '0123456789';
/** "café" with a latin1 é: a byte the head must carry unchanged. */
const NAME = Buffer.from([0x63, 0x61, 0x66, 0xe9]);
const HOST = 'heads.test';

type Framing = 'content-length' | 'chunked';
const FRAMINGS: readonly Framing[] = ['content-length', 'chunked'];

/** The body as the client frames it. */
const framed = (framing: Framing): string =>
  framing === 'chunked' ? `a\r\n${BODY}\r\n0\r\n\r\n` : BODY;

/** What an upstream received of the one request sent to it. */
interface Received {
  /** The head through its blank line, once all of it has arrived. */
  head(): Promise<Buffer>;
  /** The body, de-chunked, once complete; the server then answers 200 "ok" and closes. */
  body(): Promise<Buffer>;
  /** Sends `100 Continue` on the connection that brought the head. */
  sendContinue(): void;
}

/** An upstream speaking raw bytes (plain, or TLS offering only http/1.1) for one request. */
async function rawH1Upstream(secure: boolean): Promise<{ port: number; got: Received }> {
  const head = deferred<Buffer>();
  const body = deferred<Buffer>();
  let peer: net.Socket | undefined;
  const onSocket = (socket: net.Socket): void => {
    socket.on('error', () => undefined);
    let bytes = Buffer.alloc(0);
    let seenHead: string | undefined;
    socket.on('data', (d: Buffer) => {
      bytes = Buffer.concat([bytes, d]);
      if (seenHead === undefined) {
        const end = bytes.indexOf('\r\n\r\n');
        if (end < 0) return;
        peer = socket;
        seenHead = bytes.subarray(0, end + 4).toString('latin1');
        head.resolve(bytes.subarray(0, end + 4));
        bytes = bytes.subarray(end + 4);
      }
      const complete = bodyOf(seenHead, bytes);
      if (complete) {
        body.resolve(complete);
        socket.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok');
      }
    });
  };
  const server = secure
    ? tls.createServer(
        {
          SNICallback: (name, done) => done(null, origin.minter.contextFor(name)),
          ALPNProtocols: ['http/1.1'],
        },
        onSocket,
      )
    : net.createServer(onSocket);
  const port = await listen(server, '127.0.0.1');
  closeWithCleanup(server);
  const got = {
    head: () => deadline(head.promise, 'the upstream to receive the whole request head'),
    body: () => deadline(body.promise, 'the upstream to receive the whole request body'),
    sendContinue: () => void peer!.write('HTTP/1.1 100 Continue\r\n\r\n'),
  };
  return { port, got };
}

/** The complete body in `bytes` as framed by `head`, or undefined while more is to come. */
function bodyOf(head: string, bytes: Buffer): Buffer | undefined {
  const length = /\r\ncontent-length: *(\d+)\r\n/i.exec(head);
  if (length) {
    const n = Number(length[1]);
    return bytes.length >= n ? bytes.subarray(0, n) : undefined;
  }
  const parts: Buffer[] = [];
  for (let at = 0; ;) {
    const eol = bytes.indexOf('\r\n', at);
    if (eol < 0) return undefined;
    const size = parseInt(bytes.subarray(at, eol).toString('latin1'), 16);
    const next = eol + 2 + size + 2;
    if (bytes.length < next) return undefined;
    if (size === 0) return Buffer.concat(parts);
    parts.push(bytes.subarray(eol + 2, eol + 2 + size));
    at = next;
  }
}

/** An h2-only upstream for one request: the stream's head, then its body; answers "ok". */
async function h2OnlyUpstream(): Promise<{ port: number; got: Received }> {
  const head = deferred<Buffer>();
  const body = deferred<Buffer>();
  let waiting: http2.Http2ServerResponse | undefined;
  const onRequest = (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse): void => {
    const lines: string[] = [];
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}\r\n`);
    }
    waiting = res;
    head.resolve(Buffer.from(`${lines.join('')}\r\n`, 'latin1'));
    const chunks: Buffer[] = [];
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('end', () => {
      body.resolve(Buffer.concat(chunks));
      res.end('ok');
    });
  };
  const { port, h2server } = await h2Upstream(origin, onRequest);
  // Without this listener Node would answer 100 itself, before the test says so.
  h2server.on('checkContinue', onRequest);
  const got = {
    head: () => deadline(head.promise, 'the upstream to receive the request HEADERS'),
    body: () => deadline(body.promise, 'the upstream to receive the whole request body'),
    sendContinue: () => waiting!.writeContinue(),
  };
  return { port, got };
}

function intercepting(): Promise<Harness> {
  return proxyHarness({
    tls: loupe.minter,
    trustedCa: [origin.ca.certPem],
    resolve: [[HOST, '127.0.0.1']],
  });
}

/** What an HTTP/1.1 client has read, as latin1 text, with a wait for a part of it. */
function reader(socket: net.Socket): { text: () => string; sees: (part: string) => Promise<void> } {
  let text = '';
  socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
  socket.on('error', () => undefined);
  return {
    text: () => text,
    sees: (part) =>
      until(
        `the client to receive ${JSON.stringify(part)}`,
        (notify) => {
          socket.on('data', notify);
          return () => socket.off('data', notify);
        },
        () => text.includes(part),
      ),
  };
}

/** An HTTP/1.1 request head with a latin1 header value and the body's framing. */
function h1Head(target: string, host: string, framing: Framing, extra = ''): Buffer {
  const length = framing === 'chunked' ? 'Transfer-Encoding: chunked' : 'Content-Length: 10';
  return Buffer.concat([
    Buffer.from(`POST ${target} HTTP/1.1\r\nHost: ${host}\r\n${length}\r\n${extra}X-Name: `),
    NAME,
    Buffer.from('\r\n\r\n'),
  ]);
}

/** The head arrived before any body byte was sent, carrying the framing and the latin1 value. */
function expectForwardedHead(head: Buffer, framing: Framing): void {
  const text = head.toString('latin1');
  expect(text).toMatch(/^POST \/upload HTTP\/1\.1\r\n/);
  expect(text).toMatch(
    framing === 'chunked' ? /\r\nTransfer-Encoding: chunked\r\n/ : /\r\nContent-Length: 10\r\n/,
  );
  expect(
    head.includes(Buffer.concat([Buffer.from('\r\nX-Name: '), NAME, Buffer.from('\r\n')])),
  ).toBe(true);
}

/**
 * Over an HTTP/1.1 connection to Loupe: the head alone, the server has it, then the body; the
 * server gets the body unchanged and the client the answer.
 */
async function h1HeadFirst(
  socket: net.Socket,
  target: string,
  host: string,
  framing: Framing,
  got: Received,
): Promise<void> {
  const read = reader(socket);
  socket.write(h1Head(target, host, framing));
  expectForwardedHead(await got.head(), framing);
  socket.write(framed(framing));
  expect((await got.body()).toString()).toBe(BODY);
  await read.sees('\r\n\r\nok');
  expect(read.text()).toMatch(/^HTTP\/1\.1 200 /);
}

/** The same over HTTP/2: HEADERS alone (with or without content-length), then the body. */
async function h2HeadFirst(
  session: http2.ClientHttp2Session,
  framing: Framing,
  got: Received,
): Promise<void> {
  const stream = session.request(
    {
      ':method': 'POST',
      ':path': '/upload',
      ...(framing === 'content-length' ? { 'content-length': '10' } : {}),
    },
    { endStream: false },
  );
  let answer = '';
  stream.on('data', (d: Buffer) => (answer += d.toString()));
  const head = (await got.head()).toString('latin1');
  expect(head).toMatch(/^POST \/upload HTTP\/1\.1\r\n/);
  expect(head).toMatch(
    framing === 'chunked' ? /\r\nTransfer-Encoding: chunked\r\n/ : /\r\ncontent-length: 10\r\n/,
  );
  stream.end(BODY);
  expect((await got.body()).toString()).toBe(BODY);
  const [headers] = (await nextEvent(stream, 'response', 'the response head')) as [
    http2.IncomingHttpHeaders,
  ];
  expect(headers[':status']).toBe(200);
  await nextEvent(stream, 'end', 'the end of the response');
  expect(answer).toBe('ok');
}

function expectUpload(ex: Harness['done'][number] | undefined): void {
  expect(ex!.error).toBeUndefined();
  expect(ex!.response?.status).toBe(200);
  expect(ex!.request.bodySize).toBe(BODY.length);
}

describe('request heads reach the server at once', () => {
  for (const framing of FRAMINGS) {
    it(`from an HTTP/1.1 client on the plain port to a plain server (${framing})`, async () => {
      const { port, got } = await rawH1Upstream(false);
      const h = await proxyHarness();
      const socket = net.connect(h.proxy.port, '127.0.0.1');
      const authority = `127.0.0.1:${port}`;
      await h1HeadFirst(socket, `http://${authority}/upload`, authority, framing, got);
      socket.destroy();
      expectUpload((await h.waitFor(1))[0]);
    });

    it(`from an HTTP/1.1 client through the interception to an HTTP/1.1 server (${framing})`, async () => {
      const { port, got } = await rawH1Upstream(true);
      const h = await intercepting();
      const authority = `${HOST}:${port}`;
      const { socket } = await tlsThroughProxy(h.proxy.port, authority, {
        ca: loupe.ca.certPem,
        servername: HOST,
        ALPNProtocols: ['http/1.1'],
      });
      await h1HeadFirst(socket, '/upload', authority, framing, got);
      socket.destroy();
      expectUpload((await h.waitFor(1))[0]);
    });

    it(`from an HTTP/2 client through the interception to an HTTP/1.1 server (${framing})`, async () => {
      const { port, got } = await rawH1Upstream(true);
      const h = await intercepting();
      const session = await h2ViaProxy(h.proxy.port, `${HOST}:${port}`, loupe.ca.certPem);
      await h2HeadFirst(session, framing, got);
      expectUpload((await h.waitFor(1))[0]);
    });

    it(`from an HTTP/1.1 client through the interception to an HTTP/2 server (${framing})`, async () => {
      const { port, got } = await h2OnlyUpstream();
      const h = await intercepting();
      const authority = `${HOST}:${port}`;
      const { socket } = await tlsThroughProxy(h.proxy.port, authority, {
        ca: loupe.ca.certPem,
        servername: HOST,
        ALPNProtocols: ['http/1.1'],
      });
      const read = reader(socket);
      socket.write(h1Head('/upload', authority, framing));
      const head = (await got.head()).toString('latin1');
      expect(head).not.toContain(BODY);
      socket.write(framed(framing));
      expect((await got.body()).toString()).toBe(BODY);
      await read.sees('ok');
      expect(read.text()).toMatch(/^HTTP\/1\.1 200 /);
      socket.destroy();
      expectUpload((await h.waitFor(1))[0]);
    });
  }

  it('once a pausing requestHeaders hook lets the head go, and the body follows', async () => {
    const { port, got } = await rawH1Upstream(false);
    const h = await proxyHarness();
    const held = deferred();
    const hookCalled = deferred();
    h.proxy.hooks.on('requestHeaders', () => {
      hookCalled.resolve();
      return held.promise;
    });
    const socket = net.connect(h.proxy.port, '127.0.0.1');
    const read = reader(socket);
    const authority = `127.0.0.1:${port}`;
    socket.write(h1Head(`http://${authority}/upload`, authority, 'content-length'));
    await deadline(hookCalled.promise, 'the requestHeaders hook');
    // The body is already there while the hook holds the head.
    socket.write(BODY);
    held.resolve();
    expectForwardedHead(await got.head(), 'content-length');
    expect((await got.body()).toString()).toBe(BODY);
    await read.sees('\r\n\r\nok');
    socket.destroy();
    expectUpload((await h.waitFor(1))[0]);
  });
});

/**
 * Over HTTP/1.1 to Loupe with `Expect: 100-continue`: the server gets the head (bytes unchanged),
 * its 100 reaches the client, and only then does the body go.
 */
async function h1ExpectContinue(
  socket: net.Socket,
  target: string,
  host: string,
  got: Received,
): Promise<void> {
  const read = reader(socket);
  socket.write(h1Head(target, host, 'content-length', 'Expect: 100-continue\r\n'));
  const head = await got.head();
  expectForwardedHead(head, 'content-length');
  expect(head.toString('latin1')).toMatch(/\r\nExpect: 100-continue\r\n/i);
  got.sendContinue();
  await read.sees('HTTP/1.1 100 Continue\r\n\r\n');
  socket.write(BODY);
  expect((await got.body()).toString()).toBe(BODY);
  await read.sees('\r\n\r\nok');
  expect(read.text()).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 /);
}

describe('Expect: 100-continue is relayed both ways', () => {
  it('from an HTTP/1.1 client on the plain port to a plain server', async () => {
    const { port, got } = await rawH1Upstream(false);
    const h = await proxyHarness();
    const socket = net.connect(h.proxy.port, '127.0.0.1');
    const authority = `127.0.0.1:${port}`;
    await h1ExpectContinue(socket, `http://${authority}/upload`, authority, got);
    socket.destroy();
    expectUpload((await h.waitFor(1))[0]);
  });

  it('from an HTTP/1.1 client through the interception to an HTTP/1.1 server', async () => {
    const { port, got } = await rawH1Upstream(true);
    const h = await intercepting();
    const authority = `${HOST}:${port}`;
    const { socket } = await tlsThroughProxy(h.proxy.port, authority, {
      ca: loupe.ca.certPem,
      servername: HOST,
      ALPNProtocols: ['http/1.1'],
    });
    await h1ExpectContinue(socket, '/upload', authority, got);
    socket.destroy();
    expectUpload((await h.waitFor(1))[0]);
  });

  it('from an HTTP/1.1 client through the interception to an HTTP/2 server', async () => {
    const { port, got } = await h2OnlyUpstream();
    const h = await intercepting();
    const authority = `${HOST}:${port}`;
    const { socket } = await tlsThroughProxy(h.proxy.port, authority, {
      ca: loupe.ca.certPem,
      servername: HOST,
      ALPNProtocols: ['http/1.1'],
    });
    const read = reader(socket);
    socket.write(h1Head('/upload', authority, 'content-length', 'Expect: 100-continue\r\n'));
    expect((await got.head()).toString('latin1')).toMatch(/\r\nexpect: 100-continue\r\n/i);
    got.sendContinue();
    await read.sees('HTTP/1.1 100 Continue\r\n\r\n');
    socket.write(BODY);
    expect((await got.body()).toString()).toBe(BODY);
    await read.sees('ok');
    expect(read.text()).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 /);
    socket.destroy();
    expectUpload((await h.waitFor(1))[0]);
  });

  it('from an HTTP/2 client through the interception to an HTTP/1.1 server', async () => {
    const { port, got } = await rawH1Upstream(true);
    const h = await intercepting();
    const session = await h2ViaProxy(h.proxy.port, `${HOST}:${port}`, loupe.ca.certPem);
    const stream = session.request(
      { ':method': 'POST', ':path': '/upload', 'content-length': '10', expect: '100-continue' },
      { endStream: false },
    );
    let continued = false;
    stream.on('continue', () => (continued = true));
    let answer = '';
    stream.on('data', (d: Buffer) => (answer += d.toString()));
    expect((await got.head()).toString('latin1')).toMatch(/\r\nexpect: 100-continue\r\n/i);
    // A PING round trip after the server has the head: a 100 Loupe sent on its own (before the
    // server said anything) would have reached the client ahead of the PING's answer.
    await new Promise<void>((resolve, reject) =>
      session.ping((err) => (err ? reject(err) : resolve())),
    );
    expect(continued).toBe(false);
    got.sendContinue();
    await nextEvent(stream, 'continue', 'the server’s 100 Continue');
    stream.end(BODY);
    expect((await got.body()).toString()).toBe(BODY);
    const [headers] = (await nextEvent(stream, 'response', 'the response head')) as [
      http2.IncomingHttpHeaders,
    ];
    expect(headers[':status']).toBe(200);
    await nextEvent(stream, 'end', 'the end of the response');
    expect(answer).toBe('ok');
    expectUpload((await h.waitFor(1))[0]);
  });
});
