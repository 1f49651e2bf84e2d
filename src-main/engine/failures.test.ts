import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startProxy } from './index';
import {
  cleanup,
  deadPort,
  httpUpstream,
  proxyHarness,
  rawHeader,
  rawRequest,
  rawUpstream,
  viaProxy,
} from '../test-support/servers';
import { deadline, deferred } from '../test-support/wait';

afterEach(cleanup);

describe('upstream failures', () => {
  it('answers a dead port with 502 and connection_refused', async () => {
    const port = await deadPort();
    const h = await proxyHarness();
    const res = await viaProxy(h.proxy.port, `http://127.0.0.1:${port}/`);
    expect(res.status).toBe(502);
    expect(res.body.toString()).toContain('refused the connection');
    expect(rawHeader(res.rawHeaders, 'x-loupe-error')).toBe('connection_refused');
    const [ex] = await h.waitFor(1);
    expect(ex!.error).toMatchObject({ code: 'connection_refused', phase: 'connect' });
  });

  it('answers an unresolvable host with 502 and dns_failed', async () => {
    const h = await proxyHarness();
    const res = await viaProxy(h.proxy.port, 'http://no-such-host.invalid/');
    expect(res.status).toBe(502);
    expect(res.body.toString()).toContain('no-such-host.invalid could not be resolved');
    const [ex] = await h.waitFor(1);
    expect(ex!.error).toMatchObject({ code: 'dns_failed', phase: 'connect' });
  });

  it('answers an upstream that never responds with 504 and upstream_timeout', async () => {
    const { port, connections } = await rawUpstream(() => undefined);
    const h = await proxyHarness({ upstreamTimeoutMs: 500 });
    const res = await viaProxy(h.proxy.port, `http://127.0.0.1:${port}/`);
    expect(res.status).toBe(504);
    expect(res.body.toString()).toContain('did not answer in time');
    expect(connections()).toBe(1);
    const [ex] = await h.waitFor(1);
    expect(ex!.error).toMatchObject({ code: 'upstream_timeout', phase: 'request' });
  });

  it('cuts the client off when the upstream stalls mid-body, and records upstream_timeout', async () => {
    const { port } = await rawUpstream((s) =>
      s.once('data', () => s.write('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc')),
    );
    const h = await proxyHarness({ upstreamTimeoutMs: 300 });
    const text = await rawRequest(
      h.proxy.port,
      `GET http://127.0.0.1:${port}/ HTTP/1.1\r\nHost: x\r\n\r\n`,
    );
    // The head was already relayed: the only way left to say "incomplete" is to close early.
    expect(text).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\nabc$/);
    const [ex] = await h.waitFor(1);
    expect(ex!.error).toMatchObject({ code: 'upstream_timeout', phase: 'response' });
    expect(ex!.response?.bodySize).toBe(3);
  });

  it('answers a malformed upstream response with 502 and malformed_response', async () => {
    const { port } = await rawUpstream((s) => s.once('data', () => s.end('SMTP READY\r\n\r\n')));
    const h = await proxyHarness();
    const res = await viaProxy(h.proxy.port, `http://127.0.0.1:${port}/`);
    expect(res.status).toBe(502);
    expect(res.body.toString()).toContain('not valid HTTP/1.1');
    expect(res.body.toString()).toContain('malformed_response');
    const [ex] = await h.waitFor(1);
    expect(ex!.error?.code).toBe('malformed_response');
  });

  it('cuts the client off when the upstream resets mid-body, and records upstream_reset', async () => {
    const h = await proxyHarness();
    const { port } = await rawUpstream((s) =>
      s.once('data', () => {
        s.write('HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n' + 'x'.repeat(100));
        // Reset once the proxy has relayed those bytes, never before it has read them.
        h.proxy.hooks.on('responseBody', (ex) => {
          if (ex.response!.bodySize === 100) s.resetAndDestroy();
        });
      }),
    );
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

  it.each([
    ['closes', (s: net.Socket) => s.end()],
    ['resets', (s: net.Socket) => s.resetAndDestroy()],
  ])('records one client_aborted exchange when the client %s mid-upload', async (_how, hangUp) => {
    // Closing mid-body once also produced a phantom "rejected" flow (HPE_INVALID_EOF_STATE).
    let received = 0;
    const bodyArrived = deferred();
    const upstreamClosed = deferred<boolean>();
    const { port } = await httpUpstream((req) => {
      req.on('data', (d: Buffer) => {
        received += d.length;
        if (received === 3) bodyArrived.resolve();
      });
      req.on('close', () => upstreamClosed.resolve(req.complete));
    });
    const h = await proxyHarness();
    const socket = net.connect(h.proxy.port, '127.0.0.1');
    socket.on('error', () => undefined);
    socket.write(
      `POST http://127.0.0.1:${port}/ HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc`,
    );
    await deadline(bodyArrived.promise, 'the upstream to receive the first 3 bytes');
    hangUp(socket);
    const [ex] = await h.waitFor(1);
    expect(ex!.error).toMatchObject({ code: 'client_aborted', phase: 'request' });
    expect(ex!.request).toMatchObject({ method: 'POST', bodySize: 3 });
    expect(await deadline(upstreamClosed.promise, 'the upstream request to close')).toBe(false);
    // The upstream hears of the abort only after the proxy has handled the client's hang-up and
    // torn the exchange down: a second flow from either would be recorded by now.
    expect(h.done).toHaveLength(1);
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
