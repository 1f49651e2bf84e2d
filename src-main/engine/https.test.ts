/**
 * HTTPS interception against real peers: curl and Node's TLS clients through the proxy, HTTPS
 * upstreams with a test CA of their own (trusted like `--upstream-ca`), host names mapped to
 * loopback like `--resolve`.
 */
import { createHash, X509Certificate } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ProxyOptions } from './index';
import { cleanup, curlVia, proxyHarness, rawRequest, type Harness } from '../test-support/servers';
import {
  connectTunnel,
  httpsUpstream,
  httpsViaProxy,
  selfSigned,
  testPki,
  tlsThroughProxy,
  type TestPki,
} from '../test-support/tls';
import { needTool } from '../test-support/tools';
import { tunnelsClosed } from '../test-support/wait';

const DAY = 24 * 3600 * 1000;
const NAMES = ['api.test', 'bank.test', 'pinned.test', 'a.test', 'b.test', 'c.test', 'self.test'];

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

const issuerCn = (peer: tls.PeerCertificate): string => String(peer.issuer?.CN ?? '');
/** True when `peer` is the very leaf `pki` serves for `host` (the server's own certificate). */
const servedBy = (peer: tls.PeerCertificate, pki: TestPki, host: string): boolean =>
  peer.fingerprint256 === new X509Certificate(pki.minter.leafFor(host).certPem).fingerprint256;
const loupeIssued = (peer: tls.PeerCertificate): boolean =>
  issuerCn(peer) === /CN=([^\n]*)/.exec(loupe.ca.subject)?.[1];

describe('HTTPS interception over HTTP/1.1', () => {
  it('decrypts curl --cacert traffic and records TLS on both legs', async (t) => {
    needTool(t, 'curl');
    const up = await httpsUpstream(origin, (req, res) => {
      res.setHeader('Content-Type', 'text/plain');
      res.end(`secret ${req.method} ${req.url} ${req.headers.host}`);
    });
    const h = await intercepting();
    const r = await curlVia(h.proxy.url, `https://api.test:${up.port}/v1/items?page=2`, [
      '--http1.1',
      '--cacert',
      loupe.caFile,
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.body.toString()).toBe(`secret GET /v1/items?page=2 api.test:${up.port}`);
    const [ex] = await h.waitFor(1);
    expect(ex!.request.url).toBe(`https://api.test:${up.port}/v1/items?page=2`);
    expect(ex!.response?.status).toBe(200);
    expect(ex!.tls?.client).toMatchObject({
      version: 'TLSv1.3',
      alpn: 'http/1.1',
      sni: 'api.test',
    });
    expect(ex!.tls?.client?.cipher).toMatch(/^TLS_/);
    const upstream = ex!.tls?.upstream;
    expect(upstream).toMatchObject({ version: 'TLSv1.3', sni: 'api.test', verified: true });
    expect(upstream?.chain?.[0]?.san).toEqual(['api.test']);
    expect(upstream?.chain?.[0]?.issuer).toContain('Loupe CA');
    expect(new Date(upstream!.chain![0]!.validTo).getTime()).toBeGreaterThan(Date.now());
    expect(ex!.timings.ssl).toBeGreaterThanOrEqual(0);
    expect(ex!.timings.connect).toBeGreaterThanOrEqual(ex!.timings.ssl);
    expect(up.names).toEqual(['api.test']);
    expect(h.tunnels).toHaveLength(0);
  });

  it('presents a Loupe leaf for the SNI to a Node client and relays a 1 MB upload', async () => {
    const up = await httpsUpstream(origin, (req, res) => {
      const hash = createHash('sha256');
      req.on('data', (d: Buffer) => hash.update(d));
      req.on('end', () => res.end(hash.digest('hex')));
    });
    const h = await intercepting();
    const body = Buffer.alloc(1024 * 1024, 7);
    const r = await httpsViaProxy(
      h.proxy.port,
      `https://api.test:${up.port}/upload`,
      loupe.ca.certPem,
      {
        method: 'POST',
        body,
      },
    );
    expect(r.status).toBe(200);
    expect(r.body.toString()).toBe(createHash('sha256').update(body).digest('hex'));
    expect(loupeIssued(r.peer)).toBe(true);
    expect(r.peer.subjectaltname).toBe('DNS:api.test');
    const [ex] = await h.waitFor(1);
    expect(ex!.request.bodySize).toBe(body.length);
  });

  it('mints an iPAddress leaf when the client connects to an IP literal without SNI', async () => {
    const up = await httpsUpstream(origin, (_req, res) => res.end('by address'));
    const h = await intercepting();
    const { socket, peer } = await tlsThroughProxy(h.proxy.port, `127.0.0.1:${up.port}`, {
      ca: loupe.ca.certPem,
      host: '127.0.0.1',
    });
    socket.destroy();
    expect(peer.subjectaltname).toBe('IP Address:127.0.0.1');
    const r = await httpsViaProxy(h.proxy.port, `https://127.0.0.1:${up.port}/`, loupe.ca.certPem);
    expect(r.body.toString(), r.body.toString()).toBe('by address');
  });

  it('speaks TLS 1.2 to a client that offers nothing newer', async () => {
    const up = await httpsUpstream(origin, (_req, res) => res.end('old client'));
    const h = await intercepting();
    const { socket } = await tlsThroughProxy(h.proxy.port, `api.test:${up.port}`, {
      ca: loupe.ca.certPem,
      servername: 'api.test',
      maxVersion: 'TLSv1.2',
    });
    expect(socket.getProtocol()).toBe('TLSv1.2');
    socket.write('GET /legacy HTTP/1.1\r\nHost: api.test\r\nConnection: close\r\n\r\n');
    const text = await new Promise<string>((resolve) => {
      let got = '';
      socket.on('data', (d: Buffer) => (got += d.toString()));
      socket.on('close', () => resolve(got));
    });
    expect(text).toMatch(/old client$/);
    const [ex] = await h.waitFor(1);
    expect(ex!.tls?.client?.version).toBe('TLSv1.2');
    expect(ex!.tls?.client?.cipher).toMatch(/^TLS_ECDHE_ECDSA_WITH_/);
  });

  it('strips h3 from Alt-Svc and notes it on the flow', async (t) => {
    needTool(t, 'curl');
    const up = await httpsUpstream(origin, (_req, res) => {
      res.setHeader('Alt-Svc', 'h3=":443"; ma=86400, h3-29=":443", h2=":443"; ma=60');
      res.end('ok');
    });
    const h = await intercepting();
    const r = await curlVia(h.proxy.url, `https://api.test:${up.port}/`, [
      '--http1.1',
      '--cacert',
      loupe.caFile,
    ]);
    expect(r.headers).toContain('Alt-Svc: h2=":443"; ma=60');
    const [ex] = await h.waitFor(1);
    expect(ex!.tags).toContain('alt-svc-h3-stripped');
    // The flow records what the server sent.
    expect(ex!.response?.headers).toContainEqual([
      'Alt-Svc',
      'h3=":443"; ma=86400, h3-29=":443", h2=":443"; ma=60',
    ]);
  });

  it('leaves Alt-Svc alone when steering is off', async (t) => {
    needTool(t, 'curl');
    const up = await httpsUpstream(origin, (_req, res) => {
      res.setHeader('Alt-Svc', 'h3=":443"');
      res.end('ok');
    });
    const h = await intercepting({ stripAltSvcH3: false });
    const r = await curlVia(h.proxy.url, `https://api.test:${up.port}/`, [
      '--http1.1',
      '--cacert',
      loupe.caFile,
    ]);
    expect(r.headers).toContain('Alt-Svc: h3=":443"');
  });
});

describe('non-HTTP inside TLS', () => {
  it('relays a decrypted connection that does not speak HTTP, with byte counts', async () => {
    const server = tls.createServer(
      { SNICallback: (name, done) => done(null, origin.minter.contextFor(name)) },
      (s) => s.on('data', (d: Buffer) => s.write(`ECHO:${d.toString()}`)),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const port = (server.address() as net.AddressInfo).port;
    const h = await intercepting();
    const { socket, peer } = await tlsThroughProxy(h.proxy.port, `api.test:${port}`, {
      ca: loupe.ca.certPem,
      servername: 'api.test',
    });
    expect(loupeIssued(peer)).toBe(true);
    socket.write('HELLO 1\n');
    const reply = await new Promise<string>((resolve) =>
      socket.once('data', (d: Buffer) => resolve(d.toString())),
    );
    expect(reply).toBe('ECHO:HELLO 1\n');
    socket.end();
    await tunnelsClosed(h, 1);
    server.close();
    const t = h.tunnels[0]!;
    expect(t.tags).toContain('decrypted');
    expect(t.reason).toMatch(/not HTTP/);
    expect(t.bytesUp).toBe(8);
    expect(t.bytesDown).toBe(13);
    expect(h.done).toEqual([]);
  });
});

describe('hostile TLS clients', () => {
  it('relays a malformed ClientHello raw, says why, and keeps serving', async () => {
    const server = net.createServer((s) => s.end('upstream saw it'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const port = (server.address() as net.AddressInfo).port;
    const h = await intercepting();
    // A handshake record whose first message claims to be a ClientHello but is cut short.
    const junk = Buffer.from([0x16, 3, 1, 0, 8, 1, 0, 0, 4, 3, 3, 0, 0]);
    const text = await rawRequest(
      h.proxy.port,
      Buffer.concat([
        Buffer.from(`CONNECT api.test:${port} HTTP/1.1\r\nHost: api.test\r\n\r\n`),
        junk,
      ]),
    );
    server.close();
    expect(text).toContain('upstream saw it');
    await tunnelsClosed(h, 1);
    expect(h.tunnels[0]!.reason).toMatch(/ClientHello is malformed/);
    // The proxy still intercepts the next client.
    const up = await httpsUpstream(origin, (_req, res) => res.end('still here'));
    const r = await httpsViaProxy(h.proxy.port, `https://api.test:${up.port}/`, loupe.ca.certPem);
    expect(r.body.toString()).toBe('still here');
  });

  it('survives a flood of half-finished handshakes', async () => {
    const up = await httpsUpstream(origin, (_req, res) => res.end('ok'));
    const h = await intercepting();
    const hello = await new Promise<Buffer>((resolve) => {
      const srv = net.createServer((s) =>
        s.once('data', (d: Buffer) => {
          resolve(d);
          s.destroy();
          srv.close();
        }),
      );
      srv.listen(0, '127.0.0.1', () => {
        const c = tls.connect({
          host: '127.0.0.1',
          port: (srv.address() as net.AddressInfo).port,
          servername: 'api.test',
        });
        c.on('error', () => undefined);
      });
    });
    const sockets = await Promise.all(
      Array.from({ length: 100 }, async () => {
        const raw = await connectTunnel(h.proxy.port, `api.test:${up.port}`);
        raw.on('error', () => undefined);
        raw.write(hello); // and never finish the handshake
        return raw;
      }),
    );
    const r = await httpsViaProxy(h.proxy.port, `https://api.test:${up.port}/`, loupe.ca.certPem);
    expect(r.body.toString()).toBe('ok');
    for (const s of sockets) s.destroy();
    await tunnelsClosed(h, 100);
    expect(h.tunnels.every((t) => t.error?.code === 'tls_handshake_failed')).toBe(true);
  });
});

describe('upstream certificate verification', () => {
  const cases: [string, () => Promise<tls.SecureContext | TestPki>, RegExp][] = [
    [
      'an expired certificate',
      async () => testPki({ now: () => Date.now() - 500 * DAY }),
      /has expired/,
    ],
    [
      'a self-signed certificate',
      async () => {
        const { cert, key } = selfSigned('api.test');
        return tls.createSecureContext({ cert, key });
      },
      /self-signed/,
    ],
    [
      'a certificate for another host',
      async () => origin.minter.contextFor('other.test'),
      /another host name/,
    ],
    ['an unknown issuer', async () => testPki(), /unknown authority/],
  ];
  for (const [name, make, words] of cases) {
    it(`fails the flow with words and a 502 for ${name}`, async (t) => {
      needTool(t, 'curl');
      needTool(t, 'openssl');
      const made = await make();
      let served = 0;
      const pki = 'minter' in made ? made : { context: made };
      // An expired-PKI's CA is trusted (only the date is wrong); an unknown issuer's is not.
      const trusted = name === 'an expired certificate' && 'ca' in made ? [made.ca.certPem] : [];
      const up = await httpsUpstream(pki, (_req, res) => {
        served++;
        res.end('should not be seen');
      });
      const h = await intercepting({ trustedCa: [origin.ca.certPem, ...trusted] });
      const r = await curlVia(h.proxy.url, `https://api.test:${up.port}/`, [
        '--cacert',
        loupe.caFile,
      ]);
      expect(r.status).toBe(502);
      expect(r.body.toString()).toMatch(words);
      const [ex] = await h.waitFor(1);
      expect(ex!.error?.code).toBe('upstream_certificate_invalid');
      expect(ex!.error?.message).toMatch(words);
      expect(served).toBe(0);
    });
  }

  it('accepts an invalid certificate for a host the user made an exception for', async (t) => {
    needTool(t, 'curl');
    needTool(t, 'openssl');
    const { cert, key } = selfSigned('self.test');
    const up = await httpsUpstream({ context: tls.createSecureContext({ cert, key }) }, (_q, res) =>
      res.end('accepted anyway'),
    );
    const h = await intercepting({ allowInvalidCertificate: (host) => host === 'self.test' });
    const r = await curlVia(h.proxy.url, `https://self.test:${up.port}/`, [
      '--cacert',
      loupe.caFile,
    ]);
    expect(r.body.toString()).toBe('accepted anyway');
    const [ex] = await h.waitFor(1);
    expect(ex!.tls?.upstream?.verified).toBe(false);
  });
});

describe('SSL bypass list', () => {
  it('tunnels a host bypassed by its CONNECT name: the client sees the server’s own certificate', async () => {
    const up = await httpsUpstream(origin, (_req, res) => res.end('direct'));
    const h = await intercepting({ isBypassed: (host) => host === 'bank.test' });
    const r = await httpsViaProxy(h.proxy.port, `https://bank.test:${up.port}/`, origin.ca.certPem);
    expect(r.body.toString()).toBe('direct');
    expect(servedBy(r.peer, origin, 'bank.test')).toBe(true);
    await tunnelsClosed(h, 1);
    expect(h.tunnels[0]!.tags).toContain('bypassed');
    expect(h.tunnels[0]!.protocol).toBe('tls');
    expect(h.done).toHaveLength(0);
  });

  it('tunnels a connection whose SNI is bypassed though its CONNECT target is an address', async () => {
    const up = await httpsUpstream(origin, (_req, res) => res.end('direct'));
    const h = await intercepting({ isBypassed: (host) => host === 'bank.test' });
    const { socket, peer } = await tlsThroughProxy(h.proxy.port, `127.0.0.1:${up.port}`, {
      ca: origin.ca.certPem,
      servername: 'bank.test',
    });
    socket.destroy();
    expect(servedBy(peer, origin, 'bank.test')).toBe(true);
    await tunnelsClosed(h, 1);
    expect(h.tunnels[0]!.reason).toMatch(/SNI bank\.test/);
    expect(h.tunnels[0]!.hello).toMatchObject({ sni: 'bank.test' });
  });

  it('closes decrypted connections to a host that became bypassed, and only those', async () => {
    const up = await httpsUpstream(origin, (_req, res) => res.end('x'));
    let bypassed = false;
    const h = await intercepting({ isBypassed: (host) => bypassed && host === 'bank.test' });
    const bank = await tlsThroughProxy(h.proxy.port, `bank.test:${up.port}`, {
      ca: loupe.ca.certPem,
      servername: 'bank.test',
    });
    const api = await tlsThroughProxy(h.proxy.port, `api.test:${up.port}`, {
      ca: loupe.ca.certPem,
      servername: 'api.test',
    });
    const bankClosed = new Promise((resolve) => bank.socket.once('close', resolve));
    bypassed = true;
    expect(h.proxy.bypassChanged()).toBe(1);
    await bankClosed;
    expect(api.socket.destroyed).toBe(false);
    api.socket.destroy();
    // The next connection to bank.test is a tunnel with the server's own certificate.
    const again = await tlsThroughProxy(h.proxy.port, `bank.test:${up.port}`, {
      ca: origin.ca.certPem,
      servername: 'bank.test',
    });
    again.socket.destroy();
    expect(servedBy(again.peer, origin, 'bank.test')).toBe(true);
    expect(loupeIssued(bank.peer)).toBe(true);
  });

  it('relays TLS that offers only non-HTTP protocols without decrypting it', async () => {
    const up = await httpsUpstream(origin, (_req, res) => res.end('x'), {
      ALPNProtocols: ['imap'],
    });
    const h = await intercepting();
    const { socket, peer } = await tlsThroughProxy(h.proxy.port, `api.test:${up.port}`, {
      ca: origin.ca.certPem,
      servername: 'api.test',
      ALPNProtocols: ['imap'],
    });
    expect(socket.alpnProtocol).toBe('imap');
    socket.destroy();
    expect(servedBy(peer, origin, 'api.test')).toBe(true);
    await tunnelsClosed(h, 1);
    expect(h.tunnels[0]!.reason).toMatch(/imap/);
  });

  it('relays a tunnel that does not start TLS', async () => {
    const server = net.createServer((s) => s.end('plain bytes'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as net.AddressInfo).port;
    const h = await intercepting();
    const text = await rawRequest(
      h.proxy.port,
      `CONNECT 127.0.0.1:${port} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\nhello`,
    );
    server.close();
    expect(text).toContain('plain bytes');
    await tunnelsClosed(h, 1);
    expect(h.tunnels[0]!.reason).toMatch(/did not start TLS/);
  });
});

describe('TLS sent straight to the proxy port', () => {
  it('terminates it with a leaf for its SNI', async (t) => {
    needTool(t, 'curl');
    const h = await intercepting();
    // curl talks TLS to the proxy port as if it were api.test's server; port 443 behind it is closed.
    const r = await curlVia('', `https://api.test:${h.proxy.port}/direct`, [
      '--noproxy',
      '*',
      '--resolve',
      `api.test:${h.proxy.port}:127.0.0.1`,
      '--cacert',
      loupe.caFile,
    ]);
    expect(r.stderr).not.toMatch(/SSL/);
    expect([502, 504]).toContain(r.status);
    const [ex] = await h.waitFor(1);
    expect(ex!.request.url).toBe('https://api.test/direct');
    expect(ex!.tls?.client?.sni).toBe('api.test');
  });

  it('refuses TLS without a server name, with a flow saying why', async () => {
    const h = await intercepting();
    const socket = tls.connect({
      host: '127.0.0.1',
      port: h.proxy.port,
      rejectUnauthorized: false,
    });
    await new Promise((resolve) => {
      socket.once('error', resolve);
      socket.once('close', resolve);
    });
    await tunnelsClosed(h, 1);
    expect(h.tunnels[0]!.error?.message).toMatch(/without a server name/);
  });
});
