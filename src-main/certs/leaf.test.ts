import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { needTool } from '../test-support/tools';
import { loadOrCreateCa, type CaHandle } from './ca';
import { LEAF_VALIDITY_DAYS, LeafError, LeafMinter, normaliseLeafHost } from './leaf';

const DAY = 24 * 3600 * 1000;
let dir: string;
let ca: CaHandle;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'loupe-leaf-'));
  ca = await loadOrCreateCa(dir);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function openssl(args: string[], input?: string): string {
  return execFileSync('openssl', args, { input, encoding: 'utf8' });
}

describe('leaf certificates', () => {
  for (const [host, san] of [
    ['api.example.test', 'DNS:api.example.test'],
    ['127.0.0.1', 'IP Address:127.0.0.1'],
    ['::1', 'IP Address:0:0:0:0:0:0:0:1'],
  ] as const) {
    it(`carries what clients demand for ${host}, and openssl verifies it strictly`, (t) => {
      needTool(t, 'openssl');
      const leaf = new LeafMinter(ca).leafFor(host);
      const text = openssl(['x509', '-noout', '-text'], leaf.certPem);
      expect(text).toContain(san);
      expect(text).toMatch(/Basic Constraints: critical\s+CA:FALSE/);
      expect(text).toMatch(/Key Usage: critical\s+Digital Signature\n/);
      expect(text).toMatch(/Extended Key Usage:\s+TLS Web Server Authentication\n/);
      expect(text).toContain('X509v3 Subject Key Identifier');
      expect(text).toContain('X509v3 Authority Key Identifier');
      expect(text).toContain('Signature Algorithm: sha256WithRSAEncryption');
      expect(text).toContain('ASN1 OID: prime256v1');
      const aki = /Authority Key Identifier:\s*\n\s*(?:keyid:)?([0-9A-F:]+)/.exec(text)?.[1];
      const caText = openssl(['x509', '-noout', '-text'], ca.certPem);
      const caSki = /Subject Key Identifier:\s*\n\s*([0-9A-F:]+)/.exec(caText)?.[1];
      expect(aki).toBe(caSki);
      const certFile = join(dir, `leaf-${host.replace(/:/g, '_')}.pem`);
      writeFileSync(certFile, leaf.certPem);
      const verify = openssl([
        'verify',
        '-x509_strict',
        '-purpose',
        'sslserver',
        '-CAfile',
        join(dir, 'ca.pem'),
        certFile,
      ]);
      expect(verify.trim()).toBe(`${certFile}: OK`);
    });
  }

  it('has a positive serial of at most 20 octets and at most 397 days of validity, backdated', () => {
    const minter = new LeafMinter(ca);
    for (let i = 0; i < 50; i++) {
      const cert = new X509Certificate(minter.leafFor(`h${i}.test`).certPem);
      const serial = Buffer.from(cert.serialNumber.padStart(2, '0'), 'hex');
      expect(serial.length).toBeLessThanOrEqual(20);
      expect(serial[0]! & 0x80).toBe(0);
      const from = new Date(cert.validFrom).getTime();
      const to = new Date(cert.validTo).getTime();
      expect(to - from).toBeLessThanOrEqual(LEAF_VALIDITY_DAYS * DAY);
      expect(from).toBeLessThan(Date.now() - DAY);
      expect(cert.checkIssued(ca.cert)).toBe(true);
      expect(cert.verify(ca.cert.publicKey)).toBe(true);
    }
  });

  it('mints once per host and shares it between concurrent handshakes', async () => {
    const minter = new LeafMinter(ca);
    const server = tls.createServer({ SNICallback: (n, cb) => cb(null, minter.contextFor(n)) });
    server.on('secureConnection', (s) => s.end());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as { port: number }).port;
    const peers = await Promise.all(
      Array.from(
        { length: 10 },
        () =>
          new Promise<string>((resolve, reject) => {
            const c = tls.connect({
              port,
              host: '127.0.0.1',
              servername: 'new.test',
              ca: ca.certPem,
            });
            c.once('secureConnect', () => {
              resolve(c.getPeerCertificate().fingerprint256);
              c.destroy();
            });
            c.once('error', reject);
          }),
      ),
    );
    server.close();
    expect(new Set(peers).size).toBe(1);
    expect(minter.stats().minted).toBe(1);
  });

  it('keeps at most cacheSize hosts, dropping the least recently used', () => {
    const minter = new LeafMinter(ca, { cacheSize: 3 });
    for (const h of ['a.test', 'b.test', 'c.test']) minter.contextFor(h);
    minter.contextFor('a.test'); // a is now the most recent
    minter.contextFor('d.test'); // evicts b
    expect(minter.stats()).toEqual({ minted: 4, cached: 3 });
    minter.contextFor('a.test');
    expect(minter.stats().minted).toBe(4);
    minter.contextFor('b.test');
    expect(minter.stats().minted).toBe(5);
  });

  it('re-mints a cached leaf a day before it expires', () => {
    let now = Date.now();
    const minter = new LeafMinter(ca, { now: () => now });
    const first = minter.leafFor('a.test');
    now += 300 * DAY;
    expect(minter.leafFor('a.test').serial).toBe(first.serial);
    now += 95 * DAY;
    const second = minter.leafFor('a.test');
    expect(second.serial).not.toBe(first.serial);
    expect(second.notAfter.getTime()).toBeGreaterThan(first.notAfter.getTime());
  });

  it('normalises host names and refuses what no certificate can name', () => {
    expect(normaliseLeafHost('API.Example.TEST.')).toBe('api.example.test');
    expect(normaliseLeafHost('[::1]')).toBe('::1');
    const minter = new LeafMinter(ca);
    for (const bad of ['', 'a b.test', 'x'.repeat(300), 'bad..test', '-x.test.', 'ex*.test']) {
      expect(() => minter.contextFor(bad), bad).toThrow(LeafError);
    }
  });

  it('uses one key pair for every leaf of a process', () => {
    const minter = new LeafMinter(ca);
    const a = new X509Certificate(minter.leafFor('a.test').certPem).publicKey;
    const b = new X509Certificate(minter.leafFor('b.test').certPem).publicKey;
    expect(a.equals(b)).toBe(true);
  });
});
