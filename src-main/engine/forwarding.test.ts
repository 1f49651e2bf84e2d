import { createHash } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  cleanup,
  httpUpstream,
  proxyHarness,
  rawHeader,
  rawRequest,
  rawUpstream,
  viaProxy,
} from '../test-support/servers';
import { fillUntilStuck, pump } from '../test-support/payloads';
import { deadline, deferred } from '../test-support/wait';

afterEach(cleanup);

describe('forwarding', () => {
  it('relays a chunked request body and a chunked response body', async () => {
    let seen = '';
    const { port } = await httpUpstream((req, res) => {
      seen = `${req.headers['transfer-encoding']}`;
      const parts: Buffer[] = [];
      req.on('data', (d: Buffer) => parts.push(d));
      req.on('end', () => {
        res.write('part1-');
        res.end(Buffer.concat(parts));
      });
    });
    const h = await proxyHarness();
    const answer = await rawRequest(
      h.proxy.port,
      `POST http://127.0.0.1:${port}/ HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n`,
    );
    expect(seen).toBe('chunked');
    expect(answer).toMatch(/transfer-encoding: chunked/i);
    expect(answer.endsWith('6\r\npart1-\r\nb\r\nhello world\r\n0\r\n\r\n')).toBe(true);
    const [ex] = await h.waitFor(1);
    expect(ex!.request.bodySize).toBe(11);
    expect(ex!.response!.bodySize).toBe(17);
  });

  it('gives an HTTP/1.0 client a chunked upstream body without chunk framing', async () => {
    const { port } = await httpUpstream((_req, res) => {
      res.write('first,');
      res.end('second');
    });
    const h = await proxyHarness();
    const text = await rawRequest(h.proxy.port, `GET http://127.0.0.1:${port}/ HTTP/1.0\r\n\r\n`);
    expect(text).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(text).not.toMatch(/transfer-encoding/i);
    expect(text.endsWith('\r\n\r\nfirst,second')).toBe(true);
  });

  it('relays fixed-length bodies with their Content-Length', async () => {
    let upstreamSaw = { length: '', te: '', body: '' };
    const { port } = await httpUpstream((req, res) => {
      let body = '';
      req.setEncoding('latin1');
      req.on('data', (d: string) => (body += d));
      req.on('end', () => {
        upstreamSaw = {
          length: req.headers['content-length'] ?? '',
          te: req.headers['transfer-encoding'] ?? '',
          body,
        };
        res.writeHead(200, { 'Content-Length': '5' });
        res.end('fixed');
      });
    });
    const h = await proxyHarness();
    const res = await viaProxy(h.proxy.port, `http://127.0.0.1:${port}/`, {
      method: 'PUT',
      headers: ['Content-Length', '3'],
      body: 'abc',
    });
    expect(upstreamSaw).toEqual({ length: '3', te: '', body: 'abc' });
    expect(res.body.toString()).toBe('fixed');
    expect(rawHeader(res.rawHeaders, 'content-length')).toBe('5');
    expect(rawHeader(res.rawHeaders, 'transfer-encoding')).toBeUndefined();
    const [ex] = await h.waitFor(1);
    expect(ex!.request.bodySize).toBe(3);
    expect(ex!.response).toMatchObject({ status: 200, bodySize: 5 });
  });

  it('relays a close-delimited HTTP/1.0-style response whole', async () => {
    const { port } = await rawUpstream((s) => {
      s.once('data', () =>
        s.end('HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nno length, ends with close'),
      );
    });
    const h = await proxyHarness();
    const res = await viaProxy(h.proxy.port, `http://127.0.0.1:${port}/`);
    expect(res.body.toString()).toBe('no length, ends with close');
    const [ex] = await h.waitFor(1);
    expect(ex!.error).toBeUndefined();
    expect(ex!.response).toMatchObject({ httpVersion: 'HTTP/1.0', bodySize: 26 });
  });

  it('sends the target authority as Host even when the client named another', async () => {
    let host = '';
    const { port } = await httpUpstream((req, res) => {
      host = req.headers.host ?? '';
      res.end();
    });
    const h = await proxyHarness();
    await rawRequest(
      h.proxy.port,
      `GET http://127.0.0.1:${port}/ HTTP/1.1\r\nHost: victim.example\r\nConnection: close\r\n\r\n`,
    );
    expect(host).toBe(`127.0.0.1:${port}`);
  });

  it.each([
    ['dot segments and quotes', "/a/../b/./c?q='x'&r={y}", "/a/../b/./c?q='x'&r={y}"],
    ['an encoded slash', '/files/..%2fetc', '/files/..%2fetc'],
    ['a query without a path', "?only='query'", "/?only='query'"],
    ['no path at all', '', '/'],
  ])('forwards the request target as the client wrote it: %s', async (_name, suffix, sent) => {
    // URL parsing alone would forward /b/c?q=%27x%27 for the first row.
    let seen = '';
    const { port } = await httpUpstream((req, res) => {
      seen = req.url ?? '';
      res.end();
    });
    const h = await proxyHarness();
    await rawRequest(
      h.proxy.port,
      `GET http://127.0.0.1:${port}${suffix} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
    );
    expect(seen).toBe(sent);
    const [ex] = await h.waitFor(1);
    expect(ex!.request.url).toBe(`http://127.0.0.1:${port}${sent}`);
  });

  it('forwards 2,500 headers each way, dropping none (Node stops near 1,000 by default)', async () => {
    const lines = (prefix: string): string =>
      Array.from({ length: 2500 }, (_, i) => `${prefix}${i}: v\r\n`).join('');
    let upstreamHead = '';
    const { port } = await rawUpstream((s) => {
      s.on('data', (d: Buffer) => {
        upstreamHead += d.toString('latin1');
        if (upstreamHead.includes('\r\n\r\n'))
          s.end(`HTTP/1.1 200 OK\r\n${lines('X-Res-')}Content-Length: 0\r\n\r\n`);
      });
    });
    const h = await proxyHarness();
    const text = await rawRequest(
      h.proxy.port,
      `GET http://127.0.0.1:${port}/ HTTP/1.1\r\nHost: x\r\n${lines('X-Req-')}Connection: close\r\n\r\n`,
    );
    expect(upstreamHead).toContain(lines('X-Req-'));
    expect(text).toContain(lines('X-Res-'));
    const [ex] = await h.waitFor(1);
    expect(ex!.request.headers).toHaveLength(2502);
    expect(ex!.response!.headers).toHaveLength(2501);
  });

  it('relays header values with non-ASCII bytes unchanged', async () => {
    // "café" as latin1 and as UTF-8: a proxy passes the bytes on without transcoding.
    const value = Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x20, 0x63, 0x61, 0x66, 0xc3, 0xa9]);
    let upstreamHead = Buffer.alloc(0);
    const { port } = await rawUpstream((s) => {
      s.on('data', (d: Buffer) => {
        upstreamHead = Buffer.concat([upstreamHead, d]);
        if (upstreamHead.includes('\r\n\r\n')) {
          s.end(
            Buffer.concat([
              Buffer.from('HTTP/1.1 200 OK\r\nX-Res: '),
              value,
              Buffer.from('\r\nContent-Length: 0\r\n\r\n'),
            ]),
          );
        }
      });
    });
    const h = await proxyHarness();
    const text = await rawRequest(
      h.proxy.port,
      Buffer.concat([
        Buffer.from(`GET http://127.0.0.1:${port}/ HTTP/1.1\r\nHost: x\r\nX-Req: `),
        value,
        Buffer.from('\r\nConnection: close\r\n\r\n'),
      ]),
    );
    expect(
      upstreamHead.includes(
        Buffer.concat([Buffer.from('\r\nX-Req: '), value, Buffer.from('\r\n')]),
      ),
    ).toBe(true);
    expect(text).toContain(`\r\nX-Res: ${value.toString('latin1')}\r\n`);
  });

  it('keeps header case, order and duplicates in both directions', async () => {
    let upstreamSaw: string[] = [];
    const { port } = await httpUpstream((req, res) => {
      upstreamSaw = req.rawHeaders;
      res.writeHead(200, [
        'x-Lower',
        '1',
        'X-DUP',
        'a',
        'Content-Type',
        'text/plain',
        'X-DUP',
        'b',
      ]);
      res.end('ok');
    });
    const h = await proxyHarness();
    const res = await viaProxy(h.proxy.port, `http://127.0.0.1:${port}/`, {
      headers: ['zz-Last', '1', 'AA-first', '2', 'zz-Last', '3'],
    });
    expect(upstreamSaw.slice(0, 8)).toEqual([
      'Host',
      `127.0.0.1:${port}`,
      'zz-Last',
      '1',
      'AA-first',
      '2',
      'zz-Last',
      '3',
    ]);
    expect(res.rawHeaders.slice(0, 8)).toEqual([
      'x-Lower',
      '1',
      'X-DUP',
      'a',
      'Content-Type',
      'text/plain',
      'X-DUP',
      'b',
    ]);
    const [ex] = await h.waitFor(1);
    expect(ex!.response!.headers.slice(0, 2)).toEqual([
      ['x-Lower', '1'],
      ['X-DUP', 'a'],
    ]);
  });

  it('reuses one upstream connection for keep-alive requests', async () => {
    const { port } = await httpUpstream((_req, res) => res.end('ok'));
    const h = await proxyHarness();
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      await viaProxy(h.proxy.port, `http://127.0.0.1:${port}/1`, { agent });
      await viaProxy(h.proxy.port, `http://127.0.0.1:${port}/2`, { agent });
    } finally {
      agent.destroy();
    }
    const [a, b] = await h.waitFor(2);
    expect(a!.reused).toBe(false);
    expect(b!.reused).toBe(true);
    expect(b!.upstreamConnectionId).toBe(a!.upstreamConnectionId);
    expect(b!.clientConnectionId).toBe(a!.clientConnectionId);
    expect(a!.timings.connect).toBeGreaterThanOrEqual(0);
    expect(b!.timings.connect).toBe(-1);
  });

  it('handles Expect: 100-continue: the client gets 100 before sending its body', async () => {
    let upstreamExpect = '';
    let upstreamBody = '';
    const { server, port } = await httpUpstream(() => undefined);
    server.on('checkContinue', (req, res) => {
      upstreamExpect = String(req.headers.expect);
      res.writeContinue();
      req.setEncoding('utf8');
      req.on('data', (d: string) => (upstreamBody += d));
      req.on('end', () => res.end('got it'));
    });
    const h = await proxyHarness();
    const socket = net.connect(h.proxy.port, '127.0.0.1');
    socket.write(
      `POST http://127.0.0.1:${port}/ HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Length: 4\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n`,
    );
    let text = '';
    await new Promise<void>((resolve) => {
      socket.on('data', (d: Buffer) => {
        text += d;
        if (text === 'HTTP/1.1 100 Continue\r\n\r\n') socket.write('body');
      });
      socket.on('close', resolve);
    });
    expect(text.startsWith('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK')).toBe(true);
    expect(text.endsWith('got it')).toBe(true);
    expect(upstreamExpect).toBe('100-continue');
    expect(upstreamBody).toBe('body');
  });

  it.each([
    ['HEAD', 200, 'Content-Length: 10'],
    ['GET', 204, ''],
    ['GET', 304, 'ETag: "v1"'],
  ])('relays %s with %d without a body', async (method, status, header) => {
    const { port } = await httpUpstream((_req, res) => {
      if (status === 200) res.writeHead(200, { 'Content-Length': '10' });
      else if (status === 304) res.writeHead(304, { ETag: '"v1"' });
      else res.writeHead(204);
      res.end(status === 200 ? '0123456789' : undefined);
    });
    const h = await proxyHarness();
    // A second request on the same connection proves the bodiless response was framed right.
    const req = `${method} http://127.0.0.1:${port}/ HTTP/1.1\r\nHost: x\r\n\r\nGET http://127.0.0.1:${port}/next HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`;
    const text = await rawRequest(h.proxy.port, req);
    const responses = text.split(/(?=HTTP\/1\.1 \d{3})/);
    expect(responses).toHaveLength(2);
    expect(responses[0]).toMatch(new RegExp(`^HTTP/1.1 ${status} `));
    if (header) expect(responses[0]).toContain(header);
    expect(responses[0]!.endsWith('\r\n\r\n')).toBe(true);
    const [ex] = await h.waitFor(2);
    expect(ex!.error).toBeUndefined();
    expect(ex!.response).toMatchObject({ status, bodySize: 0 });
  });

  it('relays response and request trailers', async () => {
    let requestTrailers: string[] = [];
    const { port } = await httpUpstream((req, res) => {
      req.resume();
      req.on('end', () => {
        requestTrailers = req.rawTrailers;
        res.writeHead(200, { 'Transfer-Encoding': 'chunked', Trailer: 'X-Checksum' });
        res.write('data');
        res.addTrailers([['X-Checksum', 'abc123']]);
        res.end();
      });
    });
    const h = await proxyHarness();
    const text = await rawRequest(
      h.proxy.port,
      `POST http://127.0.0.1:${port}/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTrailer: X-Req\r\nConnection: close\r\n\r\n3\r\nabc\r\n0\r\nX-Req: yes\r\n\r\n`,
    );
    expect(text).toMatch(/0\r\nX-Checksum: abc123\r\n\r\n$/);
    expect(requestTrailers).toEqual(['X-Req', 'yes']);
    const [ex] = await h.waitFor(1);
    expect(ex!.response!.trailers).toEqual([['X-Checksum', 'abc123']]);
    expect(ex!.request.trailers).toEqual([['X-Req', 'yes']]);
  });

  it('answers pipelined requests in order even when the first is slowest', async () => {
    // The upstream answers in reverse: /3 at once, /2 once /3's answer is out, /1 after /2's.
    const out = { '/1': deferred(), '/2': deferred(), '/3': deferred() };
    const waitsFor = { '/1': out['/2'].promise, '/2': out['/3'].promise, '/3': Promise.resolve() };
    const { port } = await httpUpstream((req, res) => {
      const path = req.url as keyof typeof out;
      res.once('finish', () => out[path].resolve());
      void waitsFor[path].then(() => res.end(`answer${path}`));
    });
    const h = await proxyHarness();
    const one = (n: number, last = false) =>
      `GET http://127.0.0.1:${port}/${n} HTTP/1.1\r\nHost: x\r\n${last ? 'Connection: close\r\n' : ''}\r\n`;
    const text = await rawRequest(h.proxy.port, one(1) + one(2) + one(3, true));
    expect([...text.matchAll(/answer\/(\d)/g)].map((m) => m[1])).toEqual(['1', '2', '3']);
    const done = await h.waitFor(3);
    expect(done.map((ex) => new URL(ex.request.url).pathname).sort()).toEqual(['/1', '/2', '/3']);
    expect(new Set(done.map((ex) => ex.clientConnectionId)).size).toBe(1);
  });

  it('removes hop-by-hop headers and those named in Connection', async () => {
    let saw: string[] = [];
    const { port } = await httpUpstream((req, res) => {
      saw = req.rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
      res.writeHead(200, [
        'Keep-Alive',
        'timeout=99',
        'X-Hop',
        'h',
        'Connection',
        'X-Hop',
        'X-End',
        'e',
      ]);
      res.end();
    });
    const h = await proxyHarness();
    const res = await viaProxy(h.proxy.port, `http://127.0.0.1:${port}/`, {
      headers: [
        'Connection',
        'close, X-Private',
        'X-Private',
        'secret',
        'Keep-Alive',
        '300',
        'Proxy-Connection',
        'keep-alive',
        'TE',
        'trailers',
        'Proxy-Authorization',
        'Basic Zm9vOmJhcg==',
        'X-Public',
        'p',
      ],
    });
    for (const name of ['x-private', 'keep-alive', 'proxy-connection', 'te', 'proxy-authorization'])
      expect(saw).not.toContain(name);
    expect(saw).toContain('x-public');
    const names = res.rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
    expect(names).not.toContain('x-hop');
    expect(names).toContain('x-end');
  });

  it('reaches an IPv6 upstream', async (ctx) => {
    let up: Awaited<ReturnType<typeof httpUpstream>>;
    try {
      up = await httpUpstream((_req, res) => res.end('over v6'), '::1');
    } catch {
      ctx.skip('::1 is not available on this machine');
      return;
    }
    const h = await proxyHarness();
    const res = await viaProxy(h.proxy.port, `http://[::1]:${up.port}/`);
    expect(res.body.toString()).toBe('over v6');
    const [ex] = await h.waitFor(1);
    expect(ex!.server).toMatchObject({ host: '::1', address: '::1' });
  });

  it('delivers server-sent events one by one, as they are sent', async () => {
    let next: (() => void) | undefined;
    const { port } = await httpUpstream(async (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/event-stream' });
      for (let i = 1; i <= 3; i++) {
        const delivered = new Promise<void>((resolve) => (next = resolve));
        res.write(`data: event ${i}\n\n`);
        // The next event is written only after the client has seen this one: a buffering
        // proxy would deadlock here and the test would time out.
        await delivered;
      }
      res.end();
    });
    const h = await proxyHarness();
    const seen: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port: h.proxy.port, path: `http://127.0.0.1:${port}/events` },
        (res) => {
          res.setEncoding('utf8');
          res.on('data', (d: string) => {
            seen.push(d);
            next?.();
          });
          res.on('end', resolve);
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(seen).toEqual(['data: event 1\n\n', 'data: event 2\n\n', 'data: event 3\n\n']);
  });

  it('streams a 50 MB body each way without buffering it', async () => {
    const size = 50 * 1024 * 1024;
    const chunk = Buffer.alloc(256 * 1024, 7);
    // Streaming, shown by order: the upstream sees upload bytes before the client has sent them
    // all, and the client sees download bytes before the upstream has written them all. A proxy
    // that buffered either body whole could not produce either order.
    const events: string[] = [];
    const mark = (name: string): void => void (events.includes(name) || events.push(name));
    let uploaded = createHash('sha256');
    let uploadedBytes = 0;
    const { port } = await httpUpstream((req, res) => {
      uploaded = createHash('sha256');
      req.on('data', (d: Buffer) => {
        mark('upstream got first upload bytes');
        uploaded.update(d);
        uploadedBytes += d.length;
      });
      req.on('end', () => {
        res.writeHead(200, { 'Content-Length': String(size) });
        res.on('finish', () => mark('upstream wrote the whole download'));
        pump(res, chunk, size);
      });
    });
    const h = await proxyHarness();
    const expected = createHash('sha256');
    for (let i = 0; i < size / chunk.length; i++) expected.update(chunk);
    const digest = expected.digest('hex');
    const downloaded = createHash('sha256');
    let downloadedBytes = 0;
    await new Promise<void>((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port: h.proxy.port,
          method: 'POST',
          path: `http://127.0.0.1:${port}/`,
          headers: { 'Content-Length': String(size) },
        },
        (res) => {
          res.on('data', (d: Buffer) => {
            mark('client got first download bytes');
            downloaded.update(d);
            downloadedBytes += d.length;
          });
          res.on('end', resolve);
        },
      );
      req.on('error', reject);
      req.on('finish', () => mark('client sent the whole upload'));
      pump(req, chunk, size);
    });
    expect(uploadedBytes).toBe(size);
    expect(uploaded.digest('hex')).toBe(digest);
    expect(downloadedBytes).toBe(size);
    expect(downloaded.digest('hex')).toBe(digest);
    const at = (name: string): number => events.indexOf(name);
    expect(at('upstream got first upload bytes')).toBeLessThan(at('client sent the whole upload'));
    expect(at('client got first download bytes')).toBeLessThan(
      at('upstream wrote the whole download'),
    );
  });

  // Memory stays bounded because each side's backpressure reaches the other: with one peer not
  // reading, only socket buffers (~8 MB over two loopback hops here) fill, never the proxy.
  const stalled = 32 * 1024 * 1024;
  const chunk = Buffer.alloc(64 * 1024, 1);

  it('stops an upload within a few MB when the upstream stops reading', async () => {
    const { port } = await httpUpstream((req) => req.pause());
    const h = await proxyHarness();
    const req = http.request({
      host: '127.0.0.1',
      port: h.proxy.port,
      method: 'POST',
      path: `http://127.0.0.1:${port}/`,
      headers: { 'Content-Length': String(4 * stalled) },
    });
    req.on('error', () => undefined);
    try {
      expect(await fillUntilStuck(req, chunk, stalled)).toBeLessThan(stalled);
    } finally {
      req.destroy();
    }
  });

  it('stops a download within a few MB when the client stops reading', async () => {
    const accepted = deferred<number>();
    const { port } = await httpUpstream((_req, res) => {
      res.writeHead(200, { 'Content-Length': String(4 * stalled) });
      void fillUntilStuck(res, chunk, stalled).then(accepted.resolve);
    });
    const h = await proxyHarness();
    const req = http.request(
      { host: '127.0.0.1', port: h.proxy.port, path: `http://127.0.0.1:${port}/` },
      (res) => res.pause(),
    );
    req.on('error', () => undefined);
    req.end();
    try {
      expect(await deadline(accepted.promise, 'the upstream to stop writing')).toBeLessThan(
        stalled,
      );
    } finally {
      req.destroy();
    }
  });
});
