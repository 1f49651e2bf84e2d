/** The same engine behaviours as seen by curl, the client most users reach for first. */
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import {
  cleanup,
  curlVia,
  deadPort,
  httpUpstream,
  proxyHarness,
  rawUpstream,
} from '../test-support/servers';
import { needTool } from '../test-support/tools';
import { tunnelsClosed } from '../test-support/wait';

afterEach(cleanup);

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** Index of the first trace line matching `re`, or -1. */
const traceLine = (trace: string, re: RegExp): number =>
  trace.split('\n').findIndex((line) => re.test(line));

describe('through curl -x', () => {
  it('gets 100 Continue before sending a large body (Expect: 100-continue)', async (ctx) => {
    needTool(ctx, 'curl');
    let expectHeader = '';
    const { server, port } = await httpUpstream(() => undefined);
    server.on('checkContinue', (req, res) => {
      expectHeader = String(req.headers.expect);
      res.writeContinue();
      const hash = createHash('sha256');
      req.on('data', (d: Buffer) => hash.update(d));
      req.on('end', () => res.end(hash.digest('hex')));
    });
    const h = await proxyHarness();
    // curl 7.x adds Expect on its own above 1 MiB; the long timeout means it never sends the body
    // unprompted, so the trace order shows the 100 was relayed.
    const body = Buffer.alloc(1536 * 1024, 'z');
    const result = await curlVia(
      h.proxy.url,
      `http://127.0.0.1:${port}/upload`,
      ['--expect100-timeout', '10', '--data-binary', '@-'],
      body,
    );
    expect(result.code).toBe(0);
    expect(result.status).toBe(200);
    expect(result.body.toString()).toBe(sha256(body));
    expect(expectHeader).toBe('100-continue');
    const gotContinue = traceLine(result.trace, /^0000: HTTP\/1\.1 100 Continue/);
    expect(gotContinue).toBeGreaterThanOrEqual(0);
    expect(gotContinue).toBeLessThan(traceLine(result.trace, /^=> Send data/));
    const [ex] = await h.waitFor(1);
    expect(ex!.request.bodySize).toBe(body.length);
    expect(ex!.request.headers).toContainEqual(['Expect', '100-continue']);
  });

  it('uploads a chunked body of unknown length', async (ctx) => {
    needTool(ctx, 'curl');
    const { port } = await httpUpstream((req, res) => {
      const hash = createHash('sha256');
      req.on('data', (d: Buffer) => hash.update(d));
      req.on('end', () => res.end(`${req.headers['transfer-encoding']} ${hash.digest('hex')}`));
    });
    const h = await proxyHarness();
    const body = Buffer.alloc(300_000, 'c');
    const result = await curlVia(
      h.proxy.url,
      `http://127.0.0.1:${port}/`,
      ['-H', 'Transfer-Encoding: chunked', '--data-binary', '@-'],
      body,
    );
    expect(result.body.toString()).toBe(`chunked ${sha256(body)}`);
    const [ex] = await h.waitFor(1);
    expect(ex!.request.bodySize).toBe(body.length);
  });

  it('sees a truncated transfer (exit 18) when the upstream resets mid-body', async (ctx) => {
    needTool(ctx, 'curl');
    const h = await proxyHarness();
    const { port } = await rawUpstream((s) =>
      s.once('data', () => {
        s.write('HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n' + 'y'.repeat(1000));
        // Reset once the proxy has relayed those bytes, never before it has read them.
        h.proxy.hooks.on('responseBody', (ex) => {
          if (ex.response!.bodySize === 1000) s.resetAndDestroy();
        });
      }),
    );
    const result = await curlVia(h.proxy.url, `http://127.0.0.1:${port}/`);
    expect(result.code).toBe(18);
    expect(result.status).toBe(200);
    expect(result.body.length).toBe(1000);
    const [ex] = await h.waitFor(1);
    expect(ex!.error).toMatchObject({ code: 'upstream_reset', phase: 'response' });
  });

  it('shows the reason for a dead port in the 502 body', async (ctx) => {
    needTool(ctx, 'curl');
    const port = await deadPort();
    const h = await proxyHarness();
    const result = await curlVia(h.proxy.url, `http://127.0.0.1:${port}/`);
    expect(result.status).toBe(502);
    expect(result.headers).toContain('X-Loupe-Error: connection_refused');
    expect(result.body.toString()).toMatch(/refused the connection[\s\S]*connection_refused/);
  });

  it('tunnels plain HTTP with -p (CONNECT) and records the tunnel', async (ctx) => {
    needTool(ctx, 'curl');
    const { port } = await httpUpstream((_req, res) => res.end('hello world'));
    const h = await proxyHarness();
    const result = await curlVia(h.proxy.url, `http://127.0.0.1:${port}/`, ['-p']);
    expect(result.status).toBe(200);
    expect(result.body.toString()).toBe('hello world');
    await tunnelsClosed(h, 1);
    const t = h.tunnels[0]!;
    expect(t).toMatchObject({ protocol: 'unknown', target: { host: '127.0.0.1', port } });
    expect(t.bytesUp).toBeGreaterThan(0);
    expect(t.bytesDown).toBeGreaterThan(0);
    expect(t.error).toBeUndefined();
    // Inside a tunnel the proxy sees bytes, not requests.
    expect(h.done).toHaveLength(0);
  });

  it('gets 502 for -p (CONNECT) to a dead port', async (ctx) => {
    needTool(ctx, 'curl');
    const port = await deadPort();
    const h = await proxyHarness();
    const result = await curlVia(h.proxy.url, `http://127.0.0.1:${port}/`, ['-p']);
    expect(result.code).not.toBe(0);
    expect(result.trace).toMatch(/HTTP\/1\.1 502 Bad Gateway/);
    await tunnelsClosed(h, 1);
    expect(h.tunnels[0]!.error?.code).toBe('connection_refused');
  });

  it('keeps HEAD framing: headers with Content-Length, no body', async (ctx) => {
    needTool(ctx, 'curl');
    const { port } = await httpUpstream((req, res) => {
      res.writeHead(200, { 'Content-Length': '11', 'X-Method': req.method ?? '' });
      res.end(req.method === 'HEAD' ? undefined : 'hello world');
    });
    const h = await proxyHarness();
    const head = await curlVia(h.proxy.url, `http://127.0.0.1:${port}/`, ['-I']);
    expect(head.code).toBe(0);
    expect(head.headers).toEqual(expect.arrayContaining(['X-Method: HEAD', 'Content-Length: 11']));
    const [ex] = await h.waitFor(1);
    expect(ex!.response).toMatchObject({ status: 200, bodySize: 0 });
  });

  it('serves http://loupe.local/ with the CA, and through a CONNECT to itself', async (ctx) => {
    needTool(ctx, 'curl');
    const certPem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
    const certDer = Buffer.from([0x30, 0x82, 0x01, 0x0a]);
    const h = await proxyHarness({ ca: { certPem, certDer, fingerprint256: 'AA:BB' } });
    const page = await curlVia(h.proxy.url, 'http://loupe.local/');
    expect(page.status).toBe(200);
    expect(page.headers).toContain('Content-Type: text/html; charset=utf-8');
    expect(page.body.toString()).toContain('Loupe is working');
    const pem = await curlVia(h.proxy.url, 'http://loupe.local/ca.pem');
    expect(pem.body.toString()).toBe(certPem);
    const der = await curlVia(h.proxy.url, 'http://loupe.local/ca.crt');
    expect(der.body).toEqual(certDer);
    const tunnelled = await curlVia(h.proxy.url, 'http://loupe.local/ca.pem', ['-p']);
    expect(tunnelled.body.toString()).toBe(certPem);
    const done = await h.waitFor(4);
    expect(done.every((ex) => ex.tags.includes('loupe-page'))).toBe(true);
    expect(done.every((ex) => ex.upstreamConnectionId === undefined)).toBe(true);
  });
});
