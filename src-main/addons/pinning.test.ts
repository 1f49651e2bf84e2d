/**
 * Pinning detection end to end: the engine's failed-handshake flows and reports feeding the
 * bypass-learning addon, with curl and Node's TLS client as the rejecting clients.
 */
import net from 'node:net';
import tls from 'node:tls';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { HandshakeReport, ProxyOptions } from '../engine/index';
import { cleanup, curlVia, proxyHarness, type Harness } from '../test-support/servers';
import {
  connectTunnel,
  httpsUpstream,
  httpsViaProxy,
  testPki,
  tlsThroughProxy,
  type TestPki,
} from '../test-support/tls';
import { needTool } from '../test-support/tools';
import { nextEvent, tunnelsClosed, until } from '../test-support/wait';
import { createBypassLearning, type BypassLearning } from './bypass-learning';

/** The bytes of a real ClientHello from Node's TLS client for `servername`. */
function captureClientHello(servername: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const server = net.createServer((s) => {
      s.once('data', (d: Buffer) => {
        resolve(d);
        s.destroy();
        server.close();
      });
    });
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      const c = tls.connect({ host: '127.0.0.1', port, servername });
      c.on('error', () => undefined);
    });
    server.on('error', reject);
  });
}

const NAMES = ['api.test', 'pinned.test', 'a.test', 'b.test', 'c.test'];

let loupe: TestPki;
let origin: TestPki;

beforeEach(async () => {
  loupe = await testPki();
  origin = await testPki();
});
afterEach(cleanup);

function intercepting(opts: ProxyOptions = {}): Promise<Harness> {
  return proxyHarness({
    tls: loupe.minter,
    trustedCa: [origin.ca.certPem],
    resolve: NAMES.map((n) => [n, '127.0.0.1']),
    ...opts,
  });
}

describe('pinning detection', () => {
  let reports: HandshakeReport[];
  let learning: BypassLearning;
  let notices: string[];

  async function learningProxy(): Promise<Harness> {
    notices = [];
    const holder: { learning?: BypassLearning } = {};
    const h = await intercepting({ isBypassed: (host) => holder.learning?.matches(host) ?? false });
    learning = createBypassLearning({ hooks: h.proxy.hooks, onNotice: (m) => notices.push(m) });
    holder.learning = learning;
    reports = [];
    h.proxy.hooks.on('tlsHandshake', (r) => reports.push(r));
    return h;
  }

  /** Resolves once `n` handshakes have been reported on the `tlsHandshake` hook. */
  const reported = (h: Harness, n: number): Promise<void> =>
    until(
      `${n} handshake report${n === 1 ? '' : 's'}`,
      (notify) => h.proxy.hooks.on('tlsHandshake', notify),
      () => reports.length >= n,
    );

  /**
   * A barrier after a silent close: a later request to api.test through Loupe, settling to its
   * status (or the error of a client that no longer gets Loupe's certificate). Loupe judges a
   * silent close as its side of the connection closes, before the client sees it closed, so
   * whatever it concluded is recorded by the time this later request is through.
   */
  const laterRequest = (h: Harness, port: number): Promise<number | string> =>
    httpsViaProxy(h.proxy.port, `https://api.test:${port}/`, loupe.ca.certPem).then(
      (r) => r.status,
      (err: Error) => err.message,
    );

  it('turns a rejected certificate into a failed-handshake flow, then tunnels that host', async (t) => {
    needTool(t, 'curl');
    const up = await httpsUpstream(origin, (_req, res) => res.end('the real server'));
    const h = await learningProxy();
    // curl trusts only the origin's CA, so it rejects Loupe's leaf…
    const first = await curlVia(h.proxy.url, `https://pinned.test:${up.port}/`, [
      '--cacert',
      origin.caFile,
    ]);
    expect(first.code).toBe(60);
    await tunnelsClosed(h, 1);
    const failed = h.tunnels[0]!;
    expect(failed.error?.code).toBe('tls_handshake_failed');
    expect(failed.error?.message).toMatch(
      /rejected Loupe's certificate for pinned\.test \(alert unknown_ca\): it pins its certificates, or it does not trust the Loupe CA/,
    );
    expect(failed.tags).toContain('handshake-failed');
    expect(reports).toEqual([
      expect.objectContaining({ host: 'pinned.test', ok: false, failure: 'certificate_rejected' }),
    ]);
    expect(learning.list().map((e) => e.host)).toEqual(['pinned.test']);
    // …and its next attempt is tunnelled to the real server, whose certificate it trusts.
    const second = await curlVia(h.proxy.url, `https://pinned.test:${up.port}/`, [
      '--cacert',
      origin.caFile,
    ]);
    expect(second.code, second.stderr).toBe(0);
    expect(second.body.toString()).toBe('the real server');
    expect(notices).toEqual([]);
  });

  it('learns from a client that completes the handshake and closes without a request', async () => {
    const up = await httpsUpstream(origin, (_req, res) => res.end('x'));
    const h = await learningProxy();
    const { socket } = await tlsThroughProxy(h.proxy.port, `pinned.test:${up.port}`, {
      ca: loupe.ca.certPem,
      servername: 'pinned.test',
    });
    socket.end();
    await reported(h, 1);
    expect(reports[0]).toMatchObject({ ok: false, failure: 'closed_after_handshake' });
    await tunnelsClosed(h, 1);
    expect(h.tunnels[0]!.error?.message).toMatch(/pins its certificates/);
    expect(learning.matches('pinned.test')).toBe(true);
  });

  it('takes a silent spare connection to a host already decrypted for what it is, not pinning', async () => {
    const up = await httpsUpstream(origin, (_req, res) => res.end('x'));
    const h = await learningProxy();
    const r = await httpsViaProxy(h.proxy.port, `https://api.test:${up.port}/`, loupe.ca.certPem);
    expect(r.status).toBe(200);
    // A browser's speculative second connection: handshake, then closed unused.
    const { socket } = await tlsThroughProxy(h.proxy.port, `api.test:${up.port}`, {
      ca: loupe.ca.certPem,
      servername: 'api.test',
    });
    const closed = nextEvent(socket, 'close', 'the spare connection to close');
    socket.end();
    await closed;
    const later = await laterRequest(h, up.port);
    expect(h.tunnels).toEqual([]);
    expect(reports.filter((x) => !x.ok)).toEqual([]);
    expect(learning.list()).toEqual([]);
    expect(later).toBe(200);
  });

  it('takes a silent close while another connection to the host is open for a spare one', async () => {
    const up = await httpsUpstream(origin, (_req, res) => res.end('x'));
    const h = await learningProxy();
    // The connection the client is about to use stays open.
    await tlsThroughProxy(h.proxy.port, `api.test:${up.port}`, {
      ca: loupe.ca.certPem,
      servername: 'api.test',
    });
    const spare = await tlsThroughProxy(h.proxy.port, `api.test:${up.port}`, {
      ca: loupe.ca.certPem,
      servername: 'api.test',
    });
    const closed = nextEvent(spare.socket, 'close', 'the spare connection to close');
    spare.socket.end();
    await closed;
    const later = await laterRequest(h, up.port);
    expect(h.tunnels).toEqual([]);
    expect(learning.list()).toEqual([]);
    expect(later).toBe(200);
  });

  it('learns nothing from a burst of rejections for many hosts, and says the CA is not trusted once', async () => {
    const up = await httpsUpstream(origin, (_req, res) => res.end('x'));
    const h = await learningProxy();
    for (const host of ['a.test', 'b.test', 'c.test', 'api.test']) {
      await tlsThroughProxy(h.proxy.port, `${host}:${up.port}`, {
        ca: origin.ca.certPem,
        servername: host,
      }).then(
        (r) => r.socket.destroy(),
        () => undefined,
      );
    }
    await tunnelsClosed(h, 3);
    expect(learning.list()).toEqual([]);
    expect(learning.distrusted).toBe(true);
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatch(/does not trust the Loupe CA/);
    // A successful interception ends the suspicion.
    const r = await httpsViaProxy(h.proxy.port, `https://api.test:${up.port}/`, loupe.ca.certPem);
    expect(r.status).toBe(200);
    expect(learning.distrusted).toBe(false);
  });

  it('learns nothing from a client that resets mid-handshake', async () => {
    const up = await httpsUpstream(origin, (_req, res) => res.end('x'));
    const h = await learningProxy();
    const hello = await captureClientHello('api.test');
    const raw = await connectTunnel(h.proxy.port, `api.test:${up.port}`);
    raw.write(hello);
    // Reset as soon as Loupe's first flight arrives.
    raw.once('data', () => raw.resetAndDestroy());
    await reported(h, 1);
    expect(reports[0]).toMatchObject({ ok: false, failure: 'reset' });
    expect(learning.list()).toEqual([]);
    await tunnelsClosed(h, 1);
    expect(h.tunnels[0]!.error?.message).toMatch(/closed the connection .* without saying why/);
  });
});
