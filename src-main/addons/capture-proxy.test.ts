// Capture behind the real engine: real client, proxy and upstream sockets (capture.test.ts drives
// the hooks with synthetic exchanges instead).
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import zlib from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { HttpFlow } from '../../src-common/flow';
import { startProxy, type RunningProxy } from '../engine/index';
import { BodyStore } from '../flows/body-store';
import { FlowStore } from '../flows/flow-store';
import { createCapture, type Capture } from './capture';

let dir: string;
let upstream: http.Server;
let port: number;
let proxy: RunningProxy;
let flows: FlowStore;
let bodies: BodyStore;
let capture: Capture;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'loupe-capture-'));
  upstream = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const size = Number(new URL(req.url ?? '/', 'http://h').searchParams.get('size') ?? 10);
      if (req.url?.startsWith('/gzip')) {
        res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Encoding': 'gzip' });
        res.end(zlib.gzipSync('x'.repeat(size)));
        return;
      }
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('x'.repeat(size));
    });
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  port = (upstream.address() as AddressInfo).port;
  proxy = await startProxy();
  flows = new FlowStore();
  bodies = new BodyStore({ dir });
  capture = createCapture({ hooks: proxy.hooks, flows, bodies, bodyCap: 1000 });
});

afterEach(async () => {
  capture.dispose();
  await proxy.close();
  upstream.closeAllConnections();
  await new Promise<void>((resolve) => upstream.close(() => resolve()));
  await bodies.close();
  rmSync(dir, { recursive: true, force: true });
});

function send(path: string, body?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port: proxy.port,
        method: body ? 'POST' : 'GET',
        path: `http://127.0.0.1:${port}${path}`,
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('capture behind the proxy', () => {
  it('records a flow with both bodies, in order', async () => {
    await send('/a?size=5', 'hello');
    await send('/b?size=7');
    const list = flows.list() as HttpFlow[];
    expect(
      list.map((f) => [f.seq, f.request.method, new URL(f.request.url).pathname, f.state]),
    ).toEqual([
      [1, 'POST', '/a', 'complete'],
      [2, 'GET', '/b', 'complete'],
    ]);
    const first = list[0]!;
    expect(first.request.body).toMatchObject({ size: 5, captured: 5, truncated: false });
    expect((await bodies.read(first.request.body.bodyId!)).toString()).toBe('hello');
    expect((await bodies.read(first.response!.body.bodyId!)).toString()).toBe('xxxxx');
  });

  it('keeps a body up to the cap, marks it truncated, and still forwards all of it', async () => {
    let received = 0;
    await new Promise<void>((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port: proxy.port, path: `http://127.0.0.1:${port}/big?size=5000` },
        (res) => {
          res.on('data', (d: Buffer) => (received += d.length));
          res.on('end', resolve);
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(received).toBe(5000);
    const flow = flows.list()[0] as HttpFlow;
    expect(flow.response!.body).toMatchObject({ size: 5000, captured: 1000, truncated: true });
    expect((await bodies.read(flow.response!.body.bodyId!)).length).toBe(1000);
  });

  it('records nothing while recording is off, though traffic still flows', async () => {
    capture.setRecording(false);
    expect(await send('/off')).toBe(200);
    capture.setRecording(true);
    expect(await send('/on')).toBe(200);
    expect(flows.list().map((f) => (f as HttpFlow).request.url)).toEqual([
      `http://127.0.0.1:${port}/on`,
    ]);
  });

  it('adds the decoded size of a compressed body once the exchange is done', async () => {
    await send('/gzip?size=50000');
    await send('/plain?size=10');
    const [gzip, plain] = flows.list() as HttpFlow[];
    expect(gzip!.response!.body.size).toBeLessThan(1000);
    await expect
      .poll(() => (flows.get(gzip!.id) as HttpFlow).response!.body.decodedSize)
      .toBe(50000);
    expect(plain!.response!.body.decodedSize).toBeUndefined();
  });

  it('records a failed exchange with its error', async () => {
    await new Promise<void>((resolve) => {
      http.get({ host: '127.0.0.1', port: proxy.port, path: 'http://127.0.0.1:1/' }, (res) =>
        res.resume().on('end', resolve),
      );
    });
    const flow = flows.list()[0] as HttpFlow;
    expect(flow.state).toBe('error');
    expect(flow.error?.code).toBe('connection_refused');
  });
});
