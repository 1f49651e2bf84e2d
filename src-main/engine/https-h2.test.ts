/**
 * HTTP/2 through the interception: every combination of client protocol (h2 or http/1.1) and
 * server protocol (h2-only or http/1.1-only) moves 10 MB both ways and carries 100 concurrent
 * streams; curl --http2; trailers, header case and pseudo-headers; stream resets.
 */
import { createHash } from 'node:crypto';
import type http2 from 'node:http2';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  cleanup,
  curlVia,
  proxyHarness,
  upstreamProxy,
  type Harness,
} from '../test-support/servers';
import {
  h2Request,
  h2Upstream,
  h2ViaProxy,
  httpsUpstream,
  httpsViaProxy,
  testPki,
  type TestPki,
} from '../test-support/tls';
import { needTool } from '../test-support/tools';

let loupe: TestPki;
let origin: TestPki;

beforeEach(async () => {
  loupe = await testPki();
  origin = await testPki();
});
afterEach(cleanup);

function intercepting(): Promise<Harness> {
  return proxyHarness({
    tls: loupe.minter,
    trustedCa: [origin.ca.certPem],
    resolve: [
      ['h1.test', '127.0.0.1'],
      ['h2.test', '127.0.0.1'],
    ],
  });
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** Echo server logic shared by both protocols: answers with the body's hash, then 10 MB. */
type Req = {
  method?: string;
  url?: string;
  on(e: 'data', f: (d: Buffer) => void): unknown;
  on(e: 'end', f: () => void): unknown;
};
type Res = {
  setHeader(n: string, v: string): unknown;
  write(b: Buffer): boolean;
  once(e: 'drain', f: () => void): unknown;
  end(b?: string): unknown;
};
const DOWNLOAD = Buffer.alloc(10 * 1024 * 1024, 'abcdefghij');
function echo(req: Req, res: Res): void {
  const hash = createHash('sha256');
  req.on('data', (d: Buffer) => hash.update(d));
  req.on('end', () => {
    res.setHeader('x-upload-sha', hash.digest('hex'));
    if (req.url === '/big') {
      let sent = 0;
      const pump = (): void => {
        while (sent < DOWNLOAD.length) {
          const chunk = DOWNLOAD.subarray(sent, sent + 256 * 1024);
          sent += chunk.length;
          if (!res.write(chunk)) {
            res.once('drain', pump);
            return;
          }
        }
        res.end();
      };
      pump();
    } else {
      res.end(`${req.method} ${req.url}`);
    }
  });
}

async function upstreamFor(kind: 'h1' | 'h2'): Promise<number> {
  if (kind === 'h2') return (await h2Upstream(origin, echo as never)).port;
  return (await httpsUpstream(origin, echo as never)).port;
}

/** An HTTP/1.1 client through the proxy: one request on its own tunnel. */
function h1Request(proxyPort: number, authority: string, path: string, body?: Buffer) {
  return httpsViaProxy(proxyPort, `https://${authority}${path}`, loupe.ca.certPem, {
    ...(body ? { method: 'POST', body } : {}),
  });
}

const UPLOAD = Buffer.alloc(10 * 1024 * 1024, 'zyxwvutsrq');

describe('HTTP/2 and HTTP/1.1 in all four combinations', () => {
  for (const client of ['h1', 'h2'] as const) {
    for (const server of ['h1', 'h2'] as const) {
      it(`client ${client} ↔ server ${server}: 10 MB each way, then 100 concurrent requests`, async () => {
        const port = await upstreamFor(server);
        const h = await intercepting();
        const authority = `${server}.test:${port}`;
        let session: http2.ClientHttp2Session | undefined;
        const one = async (path: string, body?: Buffer) => {
          if (client === 'h1') return h1Request(h.proxy.port, authority, path, body);
          session ??= await h2ViaProxy(h.proxy.port, authority, loupe.ca.certPem);
          const r = await h2Request(
            session,
            { ':method': body ? 'POST' : 'GET', ':path': path },
            body,
          );
          return r;
        };
        const big = await one('/big', UPLOAD);
        expect(big.status).toBe(200);
        expect(big.headers['x-upload-sha']).toBe(sha(UPLOAD));
        expect(big.body.length).toBe(DOWNLOAD.length);
        expect(sha(big.body)).toBe(sha(DOWNLOAD));
        const [ex] = await h.waitFor(1, 20_000);
        expect(ex!.request.httpVersion).toBe(client === 'h2' ? 'HTTP/2.0' : 'HTTP/1.1');
        expect(ex!.response?.httpVersion).toBe(server === 'h2' ? 'HTTP/2.0' : 'HTTP/1.1');
        expect(ex!.tls?.client?.alpn).toBe(client === 'h2' ? 'h2' : 'http/1.1');
        expect(ex!.tls?.upstream?.alpn).toBe(server === 'h2' ? 'h2' : 'http/1.1');
        expect(ex!.request.bodySize).toBe(UPLOAD.length);
        expect(ex!.response?.bodySize).toBe(DOWNLOAD.length);

        const results = await Promise.all(Array.from({ length: 100 }, (_, i) => one(`/item/${i}`)));
        results.forEach((r, i) => {
          expect(r.status).toBe(200);
          expect(r.body.toString()).toBe(`GET /item/${i}`);
        });
        const done = await h.waitFor(101, 20_000);
        expect(done.filter((e) => e.error)).toEqual([]);
        if (server === 'h2') {
          // One upstream session carried every request.
          expect(new Set(done.map((e) => e.upstreamConnectionId)).size).toBe(1);
        }
        session?.close();
      }, 60_000);
    }
  }
});

describe('HTTP/2 details', () => {
  it('decrypts curl --http2 and shows the real versions on both legs', async (t) => {
    needTool(t, 'curl');
    const port = await upstreamFor('h1');
    const h = await intercepting();
    const r = await curlVia(h.proxy.url, `https://h1.test:${port}/hello`, [
      '--http2',
      '--cacert',
      loupe.caFile,
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.body.toString()).toBe('GET /hello');
    const [ex] = await h.waitFor(1);
    expect(ex!.request.httpVersion).toBe('HTTP/2.0');
    expect(ex!.response?.httpVersion).toBe('HTTP/1.1');
    expect(ex!.request.headers.map(([n]) => n)).toEqual(
      expect.arrayContaining([':method', ':path', ':scheme', ':authority']),
    );
  });

  for (const server of ['h1', 'h2'] as const) {
    it(`reaches a ${server} server through an upstream proxy, TLS inside its CONNECT`, async () => {
      const port = await upstreamFor(server);
      const chain = await upstreamProxy(port);
      const h = await proxyHarness({
        tls: loupe.minter,
        trustedCa: [origin.ca.certPem],
        upstreamProxy: `http://127.0.0.1:${chain.port}`,
      });
      const session = await h2ViaProxy(h.proxy.port, `${server}.test:${port}`, loupe.ca.certPem);
      const r = await h2Request(session, { ':path': '/chained' });
      expect(r.body.toString()).toBe('GET /chained');
      const r2 = await h1Request(h.proxy.port, `${server}.test:${port}`, '/again');
      expect(r2.body.toString()).toBe('GET /again');
      expect(chain.seen.map((x) => `${x.method} ${x.url}`)).toContain(
        `CONNECT ${server}.test:${port}`,
      );
      const done = await h.waitFor(2);
      expect(done.every((e) => e.tags.includes('upstream-proxy'))).toBe(true);
      expect(done[0]!.response?.httpVersion).toBe(server === 'h2' ? 'HTTP/2.0' : 'HTTP/1.1');
    });
  }

  it('carries trailers from an HTTP/1.1 server to an HTTP/2 client and back', async () => {
    let seenTrailers: string[] = [];
    const up = await httpsUpstream(origin, (req, res) => {
      req.resume();
      req.on('end', () => {
        seenTrailers = req.rawTrailers;
        res.writeHead(200, { 'Transfer-Encoding': 'chunked', Trailer: 'x-checksum' });
        res.write('body');
        res.addTrailers({ 'x-checksum': 'abc123' });
        res.end();
      });
    });
    const h = await intercepting();
    const session = await h2ViaProxy(h.proxy.port, `h1.test:${up.port}`, loupe.ca.certPem);
    const r = await new Promise<{ body: string; trailers?: http2.IncomingHttpHeaders }>(
      (resolve, reject) => {
        const stream = session.request(
          { ':method': 'POST', ':path': '/t' },
          { waitForTrailers: true },
        );
        let body = '';
        let trailers: http2.IncomingHttpHeaders | undefined;
        stream.on('wantTrailers', () => stream.sendTrailers({ 'x-client-sum': '42' }));
        stream.on('trailers', (tr) => (trailers = tr));
        stream.on('data', (d: Buffer) => (body += d.toString()));
        stream.on('end', () => resolve({ body, ...(trailers ? { trailers } : {}) }));
        stream.on('error', reject);
        stream.end('payload');
      },
    );
    expect(r.body).toBe('body');
    expect(r.trailers?.['x-checksum']).toBe('abc123');
    expect(seenTrailers).toEqual(['x-client-sum', '42']);
  });

  it('maps a server RST_STREAM to a flow error and resets the client stream', async () => {
    const up = await h2Upstream(origin, (req) => {
      req.stream.close(0x2); // INTERNAL_ERROR
    });
    const h = await intercepting();
    const session = await h2ViaProxy(h.proxy.port, `h2.test:${up.port}`, loupe.ca.certPem);
    const r = await h2Request(session, { ':path': '/reset' }).catch((e: Error) => e);
    const [ex] = await h.waitFor(1);
    expect(ex!.error?.code).toBe('upstream_reset');
    expect(ex!.error?.message).toMatch(/RST_STREAM INTERNAL_ERROR/);
    // The client gets a 502 in words (nothing had been sent yet).
    if (!(r instanceof Error)) {
      expect(r.status).toBe(502);
      expect(r.body.toString()).toMatch(/RST_STREAM/);
    }
  });

  it('fails the flow in words when an h2 server drops its session, and opens a new one next time', async () => {
    const up = await h2Upstream(origin, (req, res) => {
      if (req.url === '/drop') req.stream.session?.destroy();
      else res.end('fresh session');
    });
    const h = await intercepting();
    const session = await h2ViaProxy(h.proxy.port, `h2.test:${up.port}`, loupe.ca.certPem);
    const first = await h2Request(session, { ':path': '/drop' });
    expect(first.status).toBe(502);
    const [ex] = await h.waitFor(1);
    expect(ex!.error?.code).toBe('upstream_reset');
    expect(ex!.error?.message).toMatch(/h2\.test:\d+ closed the HTTP\/2 connection/);
    const again = await h2Request(session, { ':path': '/ok' });
    expect(again.body.toString()).toBe('fresh session');
    const done = await h.waitFor(2);
    expect(done[1]!.upstreamConnectionId).not.toBe(done[0]!.upstreamConnectionId);
  });

  it('reports a client that cancels its stream as client_aborted and keeps the session', async () => {
    const up = await h2Upstream(origin, (req, res) => {
      if (req.url === '/again') res.end('again');
      else res.write('partial'); // and never ends
    });
    const h = await intercepting();
    const session = await h2ViaProxy(h.proxy.port, `h2.test:${up.port}`, loupe.ca.certPem);
    const stream = session.request({ ':path': '/slow' });
    await new Promise((r) => stream.once('data', r));
    stream.close(0x8); // CANCEL
    const [ex] = await h.waitFor(1);
    expect(ex!.error?.code).toBe('client_aborted');
    const again = await h2Request(session, { ':path': '/again' });
    expect(again.body.toString()).toBe('again');
  });
});
