import { createHash } from 'node:crypto';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startProxy } from './index';
import {
  cleanup,
  deadPort,
  httpUpstream,
  proxyHarness,
  rawRequest,
  rawUpstream,
  viaProxy,
} from '../test-support/servers';
import { gzipBomb } from '../test-support/payloads';

afterEach(cleanup);

describe('upstream failures', () => {
  it('answers a dead port with 502 and connection_refused', async () => {
    const port = await deadPort();
    const h = await proxyHarness();
    const res = await viaProxy(h.proxy.port, `http://127.0.0.1:${port}/`);
    expect(res.status).toBe(502);
    expect(res.body.toString()).toContain('refused the connection');
    const [ex] = await h.waitFor(1);
    expect(ex!.error).toMatchObject({ code: 'connection_refused', phase: 'connect' });
  });

  it('answers an unresolvable host with 502 and dns_failed', async () => {
    const h = await proxyHarness();
    const res = await viaProxy(h.proxy.port, 'http://no-such-host.invalid/');
    expect(res.status).toBe(502);
    expect(res.body.toString()).toContain('could not be resolved');
    const [ex] = await h.waitFor(1);
    expect(ex!.error?.code).toBe('dns_failed');
  });

  it('answers an upstream that never responds with 504 and upstream_timeout', async () => {
    const { port } = await rawUpstream(() => undefined);
    const h = await proxyHarness({ upstreamTimeoutMs: 300 });
    const res = await viaProxy(h.proxy.port, `http://127.0.0.1:${port}/`);
    expect(res.status).toBe(504);
    const [ex] = await h.waitFor(1);
    expect(ex!.error?.code).toBe('upstream_timeout');
  });

  it('answers a malformed upstream response with 502 and malformed_response', async () => {
    const { port } = await rawUpstream((s) => s.once('data', () => s.end('SMTP READY\r\n\r\n')));
    const h = await proxyHarness();
    const res = await viaProxy(h.proxy.port, `http://127.0.0.1:${port}/`);
    expect(res.status).toBe(502);
    expect(res.body.toString()).toContain('not valid HTTP/1.1');
    const [ex] = await h.waitFor(1);
    expect(ex!.error?.code).toBe('malformed_response');
  });

  it('cuts the client off when the upstream resets mid-body, and records upstream_reset', async () => {
    const { port } = await rawUpstream((s) =>
      s.once('data', () => {
        s.write('HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n' + 'x'.repeat(100));
        setTimeout(() => s.resetAndDestroy(), 50);
      }),
    );
    const h = await proxyHarness();
    const text = await rawRequest(
      h.proxy.port,
      `GET http://127.0.0.1:${port}/ HTTP/1.1\r\nHost: x\r\n\r\n`,
    );
    expect(text).toMatch(/^HTTP\/1\.1 200 OK/);
    expect(text.endsWith('x'.repeat(100))).toBe(true);
    const [ex] = await h.waitFor(1);
    expect(ex!.error).toMatchObject({ code: 'upstream_reset', phase: 'response' });
    expect(ex!.response?.bodySize).toBe(100);
  });

  it('keeps serving other clients while one exchange fails', async () => {
    const { port } = await httpUpstream((_req, res) => res.end('fine'));
    const dead = await deadPort();
    const h = await proxyHarness();
    const [bad, good] = await Promise.all([
      viaProxy(h.proxy.port, `http://127.0.0.1:${dead}/`),
      viaProxy(h.proxy.port, `http://127.0.0.1:${port}/`),
    ]);
    expect(bad.status).toBe(502);
    expect(good.body.toString()).toBe('fine');
  });

  it('refuses a port already in use with a clear message', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      await expect(startProxy({ port })).rejects.toThrow(
        `Port ${port} on 127.0.0.1 is already in use`,
      );
    } finally {
      blocker.close();
    }
  });
});

describe('hostile upstream responses', () => {
  // Each answer once crashed or hung a proxy somewhere; each must end in a flow with words.
  it.each([
    [
      'a 101 to a request that asked for no upgrade',
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: Upgrade\r\n\r\nraw',
      502,
      'malformed_response',
    ],
    [
      'a status that is not a number',
      'HTTP/1.1 abc Odd\r\nContent-Length: 2\r\n\r\nok',
      502,
      'malformed_response',
    ],
    [
      'a control character in a header value',
      'HTTP/1.1 200 OK\r\nX-A: a\x01b\r\nContent-Length: 2\r\n\r\nok',
      502,
      'malformed_response',
    ],
    [
      'Content-Length beside Transfer-Encoding',
      'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n',
      502,
      'malformed_response',
    ],
    ['nothing at all', '', 502, 'upstream_reset'],
    [
      'a DEL in the reason phrase (relayed, cleaned)',
      'HTTP/1.1 200 O\x7fK\r\nContent-Length: 2\r\n\r\nok',
      200,
      undefined,
    ],
    [
      'a 30 KB response head (relayed)',
      `HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(30_000)}\r\nContent-Length: 2\r\n\r\nok`,
      200,
      undefined,
    ],
    [
      'an unusual status code (relayed)',
      'HTTP/1.1 599 Custom\r\nContent-Length: 2\r\n\r\nok',
      599,
      undefined,
    ],
  ])('survives %s', async (_name, answer, status, code) => {
    const { port } = await rawUpstream((s) => s.once('data', () => s.end(answer)));
    const h = await proxyHarness();
    const text = await rawRequest(
      h.proxy.port,
      `GET http://127.0.0.1:${port}/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
    );
    expect(text).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
    const [ex] = await h.waitFor(1);
    expect(ex!.error?.code).toBe(code);
    if (code) expect(text).toContain(ex!.error!.message);
    else expect(text.endsWith('ok')).toBe(true);
  });
});

describe('hostile input', () => {
  const refused = async (
    request: string,
    status: number,
    code = 'bad_request',
  ): Promise<string> => {
    const up = await rawUpstream(() => undefined);
    const h = await proxyHarness();
    const text = await rawRequest(h.proxy.port, request.replaceAll('UP', String(up.port)));
    expect(text).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
    expect(up.connections()).toBe(0);
    const [ex] = await h.waitFor(1);
    expect(ex!.error?.code).toBe(code);
    expect(ex!.tags).toContain('rejected');
    return ex!.error!.message;
  };

  it('refuses Content-Length with Transfer-Encoding (400, never forwarded)', async () => {
    const message = await refused(
      'POST http://127.0.0.1:UP/ HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      400,
    );
    expect(message).toContain('request smuggling');
  });

  it('refuses conflicting Content-Lengths (400)', async () => {
    await refused(
      'POST http://127.0.0.1:UP/ HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd',
      400,
    );
  });

  it('refuses obsolete line folding (400)', async () => {
    await refused('GET http://127.0.0.1:UP/ HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n b\r\n\r\n', 400);
  });

  it('refuses bare LF line ends (400)', async () => {
    const message = await refused('GET http://127.0.0.1:UP/ HTTP/1.1\nHost: x\n\n', 400);
    expect(message).toContain('bare LF');
  });

  it('refuses an oversized header section (431)', async () => {
    const message = await refused(
      `GET http://127.0.0.1:UP/ HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(70 * 1024)}\r\n\r\n`,
      431,
    );
    expect(message).toContain('64 KiB');
  });

  it('keeps serving a normal client while hundreds of slowloris connections stall', async () => {
    const { port } = await httpUpstream((_req, res) => res.end('served'));
    const h = await proxyHarness();
    const stalled: net.Socket[] = [];
    for (let i = 0; i < 300; i++) {
      const s = net.connect(h.proxy.port, '127.0.0.1');
      s.on('error', () => undefined);
      s.write(i % 2 ? 'GET http://127.0.0.1/ HTTP/1.1\r\nHost: ' : 'GE');
      stalled.push(s);
    }
    try {
      const started = Date.now();
      const res = await viaProxy(h.proxy.port, `http://127.0.0.1:${port}/`);
      expect(res.body.toString()).toBe('served');
      expect(Date.now() - started).toBeLessThan(2000);
    } finally {
      for (const s of stalled) s.destroy();
    }
  });

  it('relays a gzip bomb byte for byte without inflating it', async () => {
    // ~2 GiB of zeros, gzip-compressed once to ~2 MB.
    const bomb = await gzipBomb(2048);
    const { port } = await httpUpstream((_req, res) => {
      res.writeHead(200, {
        'Content-Encoding': 'gzip',
        'Content-Type': 'text/plain',
        'Content-Length': String(bomb.length),
      });
      res.end(bomb);
    });
    const h = await proxyHarness();
    const before = process.memoryUsage().rss;
    const res = await viaProxy(h.proxy.port, `http://127.0.0.1:${port}/`);
    expect(res.body.length).toBe(bomb.length);
    expect(createHash('sha256').update(res.body).digest('hex')).toBe(
      createHash('sha256').update(bomb).digest('hex'),
    );
    expect(process.memoryUsage().rss - before).toBeLessThan(100 * 1024 * 1024);
  });
});
