/**
 * The probe that finds an upstream HTTP/2 session nghttp2 has given up on (h2-upstream.ts's
 * `Liveness`) leaves working sessions alone: one whose server is slow to answer, and one whose
 * link is backed up so that the probe's PING cannot be written yet. The broken session itself is
 * in answers.test.ts ("DATA before HEADERS").
 */
import http2 from 'node:http2';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  cleanup,
  closeWithCleanup,
  listen,
  proxyHarness,
  type Harness,
} from '../test-support/servers';
import { httpsViaProxy, testPki, type TestPki } from '../test-support/tls';
import { deadline, deferred } from '../test-support/wait';

afterEach(cleanup);

/** Longer than the probe takes to judge a session (300 ms, then 200 ms to confirm). */
const HOLD_MS = 2_000;
const WINDOW = 64 * 1024 * 1024;

describe('HTTP/2 upstream liveness probe', () => {
  it('keeps a slow HTTP/2 server that answers after 2 s', async () => {
    const loupe = await testPki();
    const origin = await testPki();
    const pinged = deferred();
    const { port } = await h2Server(
      origin,
      (_req, res) => {
        // Slow, but alive: the head comes 2 s late, and only once Loupe's probe has arrived.
        const late = new Promise((resolve) => setTimeout(resolve, HOLD_MS));
        void Promise.all([late, pinged.promise]).then(() => res.end('slow'));
      },
      (session) => session.on('ping', () => pinged.resolve()),
    );
    const h = await harness(loupe, origin);
    const url = `https://h2.test:${port}/`;
    const res = await deadline(httpsViaProxy(h.proxy.port, url, loupe.ca.certPem), 'the answer');
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe('slow');
    await sameSessionAfter(h, url, loupe);
  });

  it('keeps a session whose link is backed up while a request waits for its head', async () => {
    const loupe = await testPki();
    const origin = await testPki();
    const { port } = await h2Server(
      origin,
      (req, res) => {
        let got = 0;
        req.on('data', (d: Buffer) => (got += d.length));
        req.on('end', () => res.end(String(got)));
      },
      (session) => session.setLocalWindowSize(WINDOW),
    );
    // Between Loupe and the server: once the upload is under way, nothing more is read from
    // Loupe for a while, so its writes back up behind full socket buffers.
    const { port: heldPort } = await holdingRelay(port, 1024 * 1024, HOLD_MS);
    const h = await harness(loupe, origin);
    const url = `https://h2.test:${heldPort}/`;
    const body = Buffer.alloc(8 * 1024 * 1024, 'u');
    const res = await deadline(
      httpsViaProxy(h.proxy.port, url, loupe.ca.certPem, { method: 'POST', body }),
      'the answer to an upload held up on its way',
      20_000,
    );
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe(String(body.length));
    await sameSessionAfter(h, url, loupe);
  });
});

function harness(loupe: TestPki, origin: TestPki): Promise<Harness> {
  return proxyHarness({
    tls: loupe.minter,
    trustedCa: [origin.ca.certPem],
    resolve: [['h2.test', '127.0.0.1']],
  });
}

/** A second request to `url` is answered on the upstream connection the first one used. */
async function sameSessionAfter(h: Harness, url: string, loupe: TestPki): Promise<void> {
  await deadline(httpsViaProxy(h.proxy.port, url, loupe.ca.certPem), 'the second answer');
  const [first, second] = await h.waitFor(2);
  expect(first!.error).toBeUndefined();
  expect(second!.error).toBeUndefined();
  expect(second!.upstreamConnectionId).toBe(first!.upstreamConnectionId);
}

/** An HTTP/2 server with large flow-control windows, so an upload is limited by the link. */
async function h2Server(
  pki: TestPki,
  handler: (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void,
  onSession: (session: http2.ServerHttp2Session) => void,
): Promise<{ port: number }> {
  const server = http2.createSecureServer(
    {
      ...pki.minter.credentialsFor('127.0.0.1'),
      SNICallback: (name, done) => done(null, pki.minter.contextFor(name)),
      settings: { initialWindowSize: WINDOW },
    },
    handler,
  );
  server.on('session', onSession);
  const port = await listen(server, '127.0.0.1');
  closeWithCleanup(server);
  return { port };
}

/**
 * A TCP relay to `port` that, once `after` bytes have come from the client, reads nothing more
 * from it for `holdMs`; the other direction flows throughout.
 */
async function holdingRelay(
  port: number,
  after: number,
  holdMs: number,
): Promise<{ port: number }> {
  const relay = net.createServer((client) => {
    const server = net.connect(port, '127.0.0.1');
    client.on('error', () => undefined);
    server.on('error', () => undefined);
    client.once('close', () => server.destroy());
    server.once('close', () => client.destroy());
    server.pipe(client);
    client.pipe(server);
    let seen = 0;
    const count = (d: Buffer): void => {
      seen += d.length;
      if (seen < after) return;
      client.off('data', count);
      client.unpipe(server);
      client.pause();
      setTimeout(() => client.pipe(server), holdMs);
    };
    client.on('data', count);
  });
  const relayPort = await listen(relay, '127.0.0.1');
  closeWithCleanup(relay);
  return { port: relayPort };
}
