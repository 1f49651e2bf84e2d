/**
 * Hostile peers on either side: malformed upstream answers, smuggling-prone or oversized
 * requests, slowloris clients, decompression bombs.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { gzipBomb } from '../test-support/payloads';
import {
  cleanup,
  curlVia,
  httpUpstream,
  peakRssGrowth,
  proxyHarness,
  rawRequest,
  rawUpstream,
} from '../test-support/servers';
import { needTool } from '../test-support/tools';
import { deadline } from '../test-support/wait';

afterEach(cleanup);

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

  it('keeps serving a curl request promptly while 300 slowloris connections stall', async (ctx) => {
    needTool(ctx, 'curl');
    const { port } = await httpUpstream((_req, res) => res.end('served'));
    const h = await proxyHarness();
    const stalled: net.Socket[] = [];
    try {
      await Promise.all(
        Array.from({ length: 300 }, (_, i) => {
          const s = net.connect(h.proxy.port, '127.0.0.1');
          s.on('error', () => undefined);
          stalled.push(s);
          // Half stall in the request line, half in the header section.
          const partial = i % 2 ? 'GET http://127.0.0.1/ HTTP/1.1\r\nHost: ' : 'GE';
          return new Promise((resolve) => s.write(partial, resolve));
        }),
      );
      const started = Date.now();
      const result = await curlVia(h.proxy.url, `http://127.0.0.1:${port}/`);
      expect(result.body.toString()).toBe('served');
      expect(Date.now() - started).toBeLessThan(2000);
    } finally {
      // Each gives up half-way through its head. Its socket closes once the proxy has handled
      // that and closed its side too, so a flow for any of them would be recorded by then.
      await deadline(
        Promise.all(
          stalled.map((s) => (s.closed ? undefined : new Promise((r) => s.end().once('close', r)))),
        ),
        'the stalled connections to close',
      );
    }
    // Clients that give up half-way through a head asked for nothing: no flows for them.
    expect(h.done).toHaveLength(1);
  });

  it('relays a gzip bomb byte for byte without inflating it', async () => {
    // 10 GiB of zeros as ~10 MB of gzip.
    const bomb = await gzipBomb(10);
    const bombHash = createHash('sha256').update(bomb).digest('hex');
    const { port } = await httpUpstream((_req, res) => {
      res.writeHead(200, {
        'Content-Encoding': 'gzip',
        'Content-Type': 'text/plain',
        'Content-Length': String(bomb.length),
      });
      res.end(bomb);
    });
    const h = await proxyHarness();
    const received = createHash('sha256');
    let receivedBytes = 0;
    let encoding: string | undefined;
    const growth = await peakRssGrowth(
      () =>
        new Promise<void>((resolve, reject) => {
          const req = http.get(
            { host: '127.0.0.1', port: h.proxy.port, path: `http://127.0.0.1:${port}/` },
            (res) => {
              encoding = res.headers['content-encoding'];
              res.on('data', (d: Buffer) => {
                received.update(d);
                receivedBytes += d.length;
              });
              res.on('end', resolve);
            },
          );
          req.on('error', reject);
        }),
    );
    expect(encoding).toBe('gzip');
    expect(receivedBytes).toBe(bomb.length);
    expect(received.digest('hex')).toBe(bombHash);
    const [ex] = await h.waitFor(1);
    expect(ex!.response!.bodySize).toBe(bomb.length);
    // Inflating even a tenth of it would need gigabytes; relaying needs socket buffers.
    expect(growth).toBeLessThan(100 * 1024 * 1024);
  });
});
