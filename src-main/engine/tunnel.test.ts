import { afterEach, describe, expect, it } from 'vitest';
import {
  cleanup,
  deadPort,
  httpUpstream,
  proxyHarness,
  rawRequest,
  rawUpstream,
  viaProxy,
} from '../test-support/servers';

afterEach(cleanup);

const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const ca = { certPem: PEM, certDer: Buffer.from([0x30, 0x82, 0x01]), fingerprint256: 'AA:BB' };

describe('CONNECT tunnels', () => {
  it('relays a non-TLS tunnel raw and records it as a tunnel flow with byte counts', async () => {
    const { port } = await httpUpstream((_req, res) => res.end('inside the tunnel'));
    const h = await proxyHarness();
    const text = await rawRequest(
      h.proxy.port,
      `CONNECT 127.0.0.1:${port} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
    );
    expect(text.endsWith('inside the tunnel')).toBe(true);
    await expect.poll(() => h.tunnels.length).toBe(1);
    const t = h.tunnels[0]!;
    expect(t).toMatchObject({
      protocol: 'unknown',
      target: { host: '127.0.0.1', port, address: '127.0.0.1' },
    });
    expect(t.bytesUp).toBeGreaterThan(30);
    expect(t.bytesDown).toBeGreaterThan(100);
    expect(t.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('recognises TLS in a tunnel it does not decrypt', async () => {
    const { port } = await rawUpstream((s) => s.once('data', () => s.end()));
    const h = await proxyHarness();
    // The first bytes of a TLS ClientHello record.
    await rawRequest(
      h.proxy.port,
      Buffer.concat([
        Buffer.from(`CONNECT 127.0.0.1:${port} HTTP/1.1\r\nHost: x\r\n\r\n`),
        Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5]),
      ]),
    );
    await expect.poll(() => h.tunnels.length).toBe(1);
    expect(h.tunnels[0]!.protocol).toBe('tls');
    expect(h.tunnels[0]!.reason).toContain('without decryption');
  });

  it('tags a tunnel to a host on the bypass list and says why it was not decrypted', async () => {
    const { port } = await rawUpstream((s) => s.once('data', () => s.end()));
    const h = await proxyHarness({
      resolve: [['bank.loupe.test', '127.0.0.1']],
      isBypassed: (host) => host === 'bank.loupe.test',
    });
    await rawRequest(
      h.proxy.port,
      Buffer.concat([
        Buffer.from(`CONNECT bank.loupe.test:${port} HTTP/1.1\r\nHost: x\r\n\r\n`),
        Buffer.from([0x16, 0x03, 0x01, 0x00, 0x01, 0]),
      ]),
    );
    await expect.poll(() => h.tunnels.length).toBe(1);
    expect(h.tunnels[0]!.tags).toContain('bypassed');
    expect(h.tunnels[0]!.reason).toBe('On the SSL bypass list: relayed without decryption.');
  });

  it('answers CONNECT to a dead port with 502 and records the error', async () => {
    const port = await deadPort();
    const h = await proxyHarness();
    const text = await rawRequest(
      h.proxy.port,
      `CONNECT 127.0.0.1:${port} HTTP/1.1\r\nHost: x\r\n\r\n`,
    );
    expect(text).toMatch(/^HTTP\/1\.1 502 Bad Gateway/);
    expect(text).toContain('refused the connection');
    await expect.poll(() => h.tunnels.length).toBe(1);
    expect(h.tunnels[0]!.error?.code).toBe('connection_refused');
  });

  it('refuses a malformed CONNECT target', async () => {
    const h = await proxyHarness();
    const text = await rawRequest(h.proxy.port, 'CONNECT nonsense HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(text).toMatch(/^HTTP\/1\.1 400 Bad Request/);
    expect(text).toContain('host:port');
  });
});

describe("Loupe's own page", () => {
  it('serves http://loupe.local/ through the proxy, with the CA for download', async () => {
    const h = await proxyHarness({ ca });
    const page = await viaProxy(h.proxy.port, 'http://loupe.local/');
    expect(page.status).toBe(200);
    expect(page.body.toString()).toContain('Loupe is working');
    expect(page.body.toString()).toContain('AA:BB');
    const pem = await viaProxy(h.proxy.port, 'http://loupe.local/ca.pem');
    expect(pem.body.toString()).toBe(PEM);
    const der = await viaProxy(h.proxy.port, 'http://loupe.local/ca.crt');
    expect(der.body).toEqual(ca.certDer);
    expect(der.rawHeaders).toContain('application/x-x509-ca-cert');
    const [ex] = await h.waitFor(1);
    expect(ex!.tags).toContain('loupe-page');
  });

  it('answers requests addressed to its own port itself, never forwarding them', async () => {
    const h = await proxyHarness({ ca });
    // Absolute form naming the proxy, and origin form (a browser opening the proxy's address).
    const absolute = await viaProxy(h.proxy.port, `http://127.0.0.1:${h.proxy.port}/ca.pem`);
    expect(absolute.body.toString()).toBe(PEM);
    const origin = await rawRequest(
      h.proxy.port,
      `GET / HTTP/1.1\r\nHost: localhost:${h.proxy.port}\r\nConnection: close\r\n\r\n`,
    );
    expect(origin).toContain('Loupe is working');
    const [a, b] = await h.waitFor(2);
    expect(a!.upstreamConnectionId).toBeUndefined();
    expect(b!.upstreamConnectionId).toBeUndefined();
  });

  it('explains itself to a client that forgot it is talking to a proxy', async () => {
    const h = await proxyHarness();
    const text = await rawRequest(
      h.proxy.port,
      'GET /api HTTP/1.1\r\nHost: api.example.test\r\nConnection: close\r\n\r\n',
    );
    expect(text).toMatch(/^HTTP\/1\.1 400 Bad Request/);
    expect(text).toContain('Loupe is a proxy');
    const [ex] = await h.waitFor(1);
    expect(ex!.error?.code).toBe('bad_request');
  });
});
