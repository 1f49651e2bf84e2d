/** Loupe's own page (`loupe.local`, the proxy's own address): answered locally, never forwarded. */
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, proxyHarness, rawRequest, viaProxy } from '../test-support/servers';

afterEach(cleanup);

const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const ca = { certPem: PEM, certDer: Buffer.from([0x30, 0x82, 0x01]), fingerprint256: 'AA:BB' };

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
