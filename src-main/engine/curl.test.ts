/** The same engine behaviours as seen by curl, the client most users reach for first. */
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import {
  cleanup,
  curl,
  deadPort,
  httpUpstream,
  proxyHarness,
  rawUpstream,
} from '../test-support/servers';
import { needTool } from '../test-support/tools';

afterEach(cleanup);

describe('through curl -x', () => {
  it('uploads chunked and sends Expect: 100-continue for a large body', async (ctx) => {
    needTool(ctx, 'curl');
    let expectHeader = '';
    const { server, port } = await httpUpstream(() => undefined);
    server.on('checkContinue', (req, res) => {
      expectHeader = String(req.headers.expect);
      res.writeContinue();
      const hash = createHash('sha256');
      req.on('data', (d: Buffer) => hash.update(d));
      req.on('end', () => res.end(`${req.headers['transfer-encoding']} ${hash.digest('hex')}`));
    });
    const h = await proxyHarness();
    const body = Buffer.alloc(300_000, 'z');
    const result = await curl(
      [
        '-x',
        h.proxy.url,
        '-H',
        'Transfer-Encoding: chunked',
        '-H',
        'Expect: 100-continue',
        '--data-binary',
        '@-',
        `http://127.0.0.1:${port}/upload`,
      ],
      body,
    );
    expect(result.code).toBe(0);
    expect(result.stdout.toString()).toBe(
      `chunked ${createHash('sha256').update(body).digest('hex')}`,
    );
    expect(expectHeader).toBe('100-continue');
    const [ex] = await h.waitFor(1);
    expect(ex!.request.bodySize).toBe(body.length);
  });

  it('sees a truncated transfer (exit 18) when the upstream resets mid-body', async (ctx) => {
    needTool(ctx, 'curl');
    const { port } = await rawUpstream((s) =>
      s.once('data', () => {
        s.write('HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n' + 'y'.repeat(1000));
        setTimeout(() => s.resetAndDestroy(), 50);
      }),
    );
    const h = await proxyHarness();
    const result = await curl(['-x', h.proxy.url, `http://127.0.0.1:${port}/`]);
    expect(result.code).toBe(18);
    const [ex] = await h.waitFor(1);
    expect(ex!.error?.code).toBe('upstream_reset');
  });

  it('shows the reason for a dead port in the 502 body', async (ctx) => {
    needTool(ctx, 'curl');
    const port = await deadPort();
    const h = await proxyHarness();
    const result = await curl([
      '-x',
      h.proxy.url,
      '-w',
      '%{http_code}',
      `http://127.0.0.1:${port}/`,
    ]);
    expect(result.stdout.toString()).toMatch(
      /refused the connection[\s\S]*connection_refused[\s\S]*502$/,
    );
  });

  it('tunnels with -p (CONNECT) and keeps HEAD framing right', async (ctx) => {
    needTool(ctx, 'curl');
    const { port } = await httpUpstream((req, res) => {
      res.writeHead(200, { 'Content-Length': '11', 'X-Method': req.method ?? '' });
      res.end(req.method === 'HEAD' ? undefined : 'hello world');
    });
    const h = await proxyHarness();
    const tunnelled = await curl(['-p', '-x', h.proxy.url, `http://127.0.0.1:${port}/`]);
    expect(tunnelled.stdout.toString()).toBe('hello world');
    const head = await curl(['-I', '-x', h.proxy.url, `http://127.0.0.1:${port}/`]);
    expect(head.code).toBe(0);
    expect(head.stdout.toString()).toMatch(/X-Method: HEAD/i);
    await expect.poll(() => h.tunnels.length).toBe(1);
  });
});
