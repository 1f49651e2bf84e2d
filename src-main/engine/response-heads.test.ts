/**
 * Response heads go out at once (issue 14, item 6): an event stream or a long poll whose server
 * sends its head and then waits shows that head to the client before the first body byte, for
 * every client and server protocol. A `responseHeaders` hook that pauses still holds the head.
 */
import type http from 'node:http';
import type http2 from 'node:http2';
import net from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cleanup, proxyHarness, rawUpstream, type Harness } from '../test-support/servers';
import {
  h2Upstream,
  h2ViaProxy,
  httpsUpstream,
  testPki,
  tlsThroughProxy,
  type TestPki,
} from '../test-support/tls';
import { deadline, deferred, nextEvent, until, type Deferred } from '../test-support/wait';

let loupe: TestPki;
let origin: TestPki;

beforeEach(async () => {
  loupe = await testPki();
  origin = await testPki();
});
afterEach(cleanup);

const EVENT = 'data: one\n\n';

/**
 * An event-stream server of either protocol: the head at once, the first event (which ends the
 * response) only once the test releases it.
 */
async function eventServer(kind: 'h1' | 'h2', release: Deferred<void>): Promise<number> {
  const handler = (_req: unknown, res: http.ServerResponse | http2.Http2ServerResponse): void => {
    res.writeHead(200, { 'Content-Type': 'text/event-stream' });
    // HTTP/2 sends the head with writeHead; HTTP/1.1 holds it for the first body write.
    if ('flushHeaders' in res) res.flushHeaders();
    void release.promise.then(() => res.end(EVENT));
  };
  if (kind === 'h2') return (await h2Upstream(origin, handler)).port;
  return (await httpsUpstream(origin, handler)).port;
}

function intercepting(): Promise<Harness> {
  return proxyHarness({
    tls: loupe.minter,
    trustedCa: [origin.ca.certPem],
    resolve: [['events.test', '127.0.0.1']],
  });
}

/** What an HTTP/1.1 client reads, as text, with a wait for the part that matters. */
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

/** Sends a GET on an HTTP/1.1 connection; the head is seen before `release`, then the event. */
async function h1HeadBeforeBody(
  socket: net.Socket,
  target: string,
  host: string,
  release: Deferred<void>,
): Promise<void> {
  const read = reader(socket);
  socket.write(`GET ${target} HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
  await read.sees('\r\n\r\n');
  expect(read.text()).toMatch(/^HTTP\/1\.1 200 /);
  expect(read.text()).toMatch(/\r\ncontent-type: text\/event-stream\r\n/i);
  expect(read.text()).not.toContain('data:');
  release.resolve();
  await read.sees(EVENT);
}

/** The same over HTTP/2: the stream's 'response' comes before `release`, then the event. */
async function h2HeadBeforeBody(
  session: http2.ClientHttp2Session,
  release: Deferred<void>,
): Promise<void> {
  const stream = session.request({ ':path': '/events' });
  let body = '';
  stream.on('data', (d: Buffer) => (body += d.toString()));
  const [headers] = (await nextEvent(stream, 'response', 'the response head')) as [
    http2.IncomingHttpHeaders,
  ];
  expect(headers[':status']).toBe(200);
  expect(headers['content-type']).toBe('text/event-stream');
  expect(body).toBe('');
  release.resolve();
  await nextEvent(stream, 'end', 'the end of the response');
  expect(body).toBe(EVENT);
}

function expectStreamedFlow(ex: Harness['done'][number] | undefined): void {
  expect(ex!.error).toBeUndefined();
  expect(ex!.response?.status).toBe(200);
  expect(ex!.response?.bodySize).toBe(EVENT.length);
}

describe('response heads go out at once', () => {
  it('to an HTTP/1.1 client on the plain port, from a plain HTTP/1.1 server', async () => {
    const release = deferred();
    const { port } = await rawUpstream((s) =>
      s.once('data', () => {
        s.write(
          'HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n',
        );
        void release.promise.then(() =>
          s.end(`${EVENT.length.toString(16)}\r\n${EVENT}\r\n0\r\n\r\n`),
        );
      }),
    );
    const h = await proxyHarness();
    const socket = net.connect(h.proxy.port, '127.0.0.1');
    await h1HeadBeforeBody(socket, `http://127.0.0.1:${port}/events`, `127.0.0.1:${port}`, release);
    socket.destroy();
    expectStreamedFlow((await h.waitFor(1))[0]);
  });

  for (const client of ['h1', 'h2'] as const) {
    for (const server of ['h1', 'h2'] as const) {
      it(`through the interception: client ${client}, server ${server}`, async () => {
        const release = deferred();
        const port = await eventServer(server, release);
        const h = await intercepting();
        const authority = `events.test:${port}`;
        if (client === 'h1') {
          const { socket } = await tlsThroughProxy(h.proxy.port, authority, {
            ca: loupe.ca.certPem,
            servername: 'events.test',
            ALPNProtocols: ['http/1.1'],
          });
          await h1HeadBeforeBody(socket, '/events', authority, release);
          socket.destroy();
        } else {
          const session = await h2ViaProxy(h.proxy.port, authority, loupe.ca.certPem);
          await h2HeadBeforeBody(session, release);
        }
        const [ex] = await h.waitFor(1);
        expectStreamedFlow(ex);
        expect(ex!.response?.httpVersion).toBe(server === 'h2' ? 'HTTP/2.0' : 'HTTP/1.1');
      });
    }
  }

  it('unless a responseHeaders hook holds it', async () => {
    const release = deferred();
    const port = await eventServer('h1', release);
    const h = await intercepting();
    const held = deferred();
    const hookCalled = deferred();
    h.proxy.hooks.on('responseHeaders', () => {
      hookCalled.resolve();
      return held.promise;
    });
    const session = await h2ViaProxy(h.proxy.port, `events.test:${port}`, loupe.ca.certPem);
    const stream = session.request({ ':path': '/events' });
    let head = false;
    stream.once('response', () => (head = true));
    stream.resume();
    await deadline(hookCalled.promise, 'the responseHeaders hook');
    // A PING's answer comes after every frame Loupe wrote before it: no HEADERS among them.
    await new Promise<void>((resolve, reject) =>
      session.ping((err) => (err ? reject(err) : resolve())),
    );
    expect(head).toBe(false);
    held.resolve();
    await nextEvent(stream, 'response', 'the response head, once the hook let it go');
    release.resolve();
    await nextEvent(stream, 'end', 'the end of the response');
    expectStreamedFlow((await h.waitFor(1))[0]);
  });
});
