import { execFile } from 'node:child_process';
import { createPublicKey, generateKeyPairSync, X509Certificate } from 'node:crypto';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import forge from 'node-forge';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { needTool } from '../test-support/tools';
import {
  CA_CERT_FILE,
  CA_KEY_FILE,
  CaError,
  forgePublicKey,
  loadCa,
  loadOrCreateCa,
  randomSerial,
  rotateCa,
  signWithNativeKey,
  WRAPPED_KEY_MARKER,
  type CaHandle,
} from './ca';

const run = promisify(execFile);
const dirs: string[] = [];
const tempDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'loupe-ca-'));
  dirs.push(dir);
  return dir;
};
let dir: string;
beforeEach(() => {
  dir = tempDir();
});
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Every file in `d` with its bytes, to show a refusal touched nothing. */
const snapshot = (d: string): Record<string, Buffer> =>
  Object.fromEntries(readdirSync(d).map((f) => [f, readFileSync(join(d, f))]));

async function expectRefusal(d: string, code: string, mentions: string[] = []): Promise<CaError> {
  const before = snapshot(d);
  const err = await loadOrCreateCa(d).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(CaError);
  expect((err as CaError).code).toBe(code);
  for (const text of mentions) expect((err as CaError).message).toContain(text);
  expect(snapshot(d)).toEqual(before);
  return err as CaError;
}

/** A certificate signed by `key` with the given extensions, built the way leaves will be. */
function certWith(extensions: object[], key = generateKeyPairSync('rsa', { modulusLength: 2048 })) {
  const cert = forge.pki.createCertificate();
  cert.publicKey = forgePublicKey(key.publicKey);
  cert.serialNumber = randomSerial();
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 86_400_000);
  cert.setSubject([{ name: 'commonName', value: 'not a CA' }]);
  cert.setIssuer([{ name: 'commonName', value: 'not a CA' }]);
  cert.setExtensions(extensions);
  return { pem: signWithNativeKey(cert, key.privateKey), key: key.privateKey };
}

describe('CA creation', () => {
  let ca: CaHandle;
  let cert: X509Certificate;
  beforeEach(async () => {
    ca = await loadOrCreateCa(dir);
    cert = new X509Certificate(readFileSync(join(dir, CA_CERT_FILE)));
  });

  it('is a self-signed CA whose signature (made natively) verifies', () => {
    expect(cert.ca).toBe(true);
    expect(cert.verify(cert.publicKey)).toBe(true);
    expect(cert.verify(createPublicKey(ca.key))).toBe(true);
    // OpenSSL's issuer check also requires keyCertSign when keyUsage is present.
    expect(cert.checkIssued(cert)).toBe(true);
    expect(cert.subject).toBe(cert.issuer);
    expect(cert.subject).toMatch(/^CN=Loupe CA \(.+ [0-9a-f]{6}\)\nO=Loupe$/);
    expect(cert.checkPrivateKey(ca.key)).toBe(true);
    expect(ca.key.asymmetricKeyType).toBe('rsa');
    expect(ca.key.asymmetricKeyDetails?.modulusLength).toBe(2048);
  });

  it('has a positive serial of at most 20 octets, and ~10 years from a day ago', () => {
    const serial = BigInt(`0x${cert.serialNumber}`);
    expect(serial > 0n).toBe(true);
    expect(cert.serialNumber.length).toBeLessThanOrEqual(40);
    const from = new Date(cert.validFrom).getTime();
    const to = new Date(cert.validTo).getTime();
    expect(Date.now() - from).toBeGreaterThan(23 * 3600_000);
    expect(Date.now() - from).toBeLessThan(25 * 3600_000);
    expect((to - Date.now()) / (365.25 * 86_400_000)).toBeCloseTo(10, 1);
  });

  it('carries critical basicConstraints CA:TRUE, critical keyUsage and an SKI', () => {
    const parsed = forge.pki.certificateFromPem(ca.certPem);
    const ext = (name: string) => parsed.getExtension(name) as Record<string, unknown> | null;
    expect(ext('basicConstraints')).toMatchObject({ critical: true, cA: true });
    expect(ext('keyUsage')).toMatchObject({
      critical: true,
      keyCertSign: true,
      cRLSign: true,
      digitalSignature: false,
    });
    const ski = ext('subjectKeyIdentifier')?.subjectKeyIdentifier;
    expect(ski).toBe(parsed.generateSubjectKeyIdentifier().toHex());
    expect(parsed.siginfo.algorithmOid).toBe(forge.pki.oids.sha256WithRSAEncryption);
  });

  it('shows basicConstraints, keyUsage and SKI to openssl, which accepts it strictly', async (ctx) => {
    needTool(ctx, 'openssl');
    const path = join(dir, CA_CERT_FILE);
    const { stdout } = await run('openssl', ['x509', '-in', path, '-noout', '-text']);
    expect(stdout).toMatch(/X509v3 Basic Constraints: critical\s+CA:TRUE/);
    expect(stdout).toMatch(/X509v3 Key Usage: critical\s+Certificate Sign, CRL Sign\s/);
    expect(stdout).toMatch(/X509v3 Subject Key Identifier:\s+[0-9A-F]{2}(:[0-9A-F]{2}){19}\s/);
    expect(stdout).toContain('Signature Algorithm: sha256WithRSAEncryption');
    expect(stdout).toContain('Public-Key: (2048 bit)');
    const verified = await run('openssl', ['verify', '-x509_strict', '-CAfile', path, path]);
    expect(verified.stdout.trim()).toBe(`${path}: OK`);
  });

  it('exposes the certificate, never the key, in what can be serialised', () => {
    expect(ca.certDer.equals(cert.raw)).toBe(true);
    expect(ca.certPem).toBe(cert.toString());
    expect(ca.fingerprint256).toBe(cert.fingerprint256);
    expect(ca.subject).toBe(cert.subject);
    expect(ca.notAfter.getTime()).toBe(new Date(cert.validTo).getTime());
    expect(Object.keys(ca)).not.toContain('key');
    expect(Object.keys({ ...ca })).not.toContain('key');
    expect(JSON.stringify(ca)).not.toMatch(/PRIVATE|"key"/);
  });

  it('keeps the key readable only by its owner and leaves no temporary file', () => {
    if (process.platform !== 'win32') {
      expect(statSync(join(dir, CA_KEY_FILE)).mode & 0o777).toBe(0o600);
    }
    expect(readdirSync(dir).sort()).toEqual([CA_KEY_FILE, CA_CERT_FILE].sort());
    expect(readFileSync(join(dir, CA_KEY_FILE), 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
  });
});

describe('CA per data directory', () => {
  it('is unique per directory and the same on every load', async () => {
    const other = tempDir();
    const a = await loadOrCreateCa(dir);
    const b = await loadOrCreateCa(other);
    expect(a.fingerprint256).not.toBe(b.fingerprint256);
    expect(a.cert.serialNumber).not.toBe(b.cert.serialNumber);
    expect(a.subject).not.toBe(b.subject);
    expect(a.key.equals(b.key)).toBe(false);

    const files = snapshot(dir);
    const again = await loadOrCreateCa(dir);
    expect(again.fingerprint256).toBe(a.fingerprint256);
    expect(again.certPem).toBe(a.certPem);
    expect(again.key.equals(a.key)).toBe(true);
    expect(snapshot(dir)).toEqual(files);
  });

  it('creates the key 0600 even under a umask that would allow more', async () => {
    if (process.platform === 'win32') return;
    const previous = process.umask(0);
    try {
      await loadOrCreateCa(dir);
    } finally {
      process.umask(previous);
    }
    expect(statSync(join(dir, CA_KEY_FILE)).mode & 0o777).toBe(0o600);
  });
});

describe('CA refusals leave every file as it was', () => {
  beforeEach(async () => {
    await loadOrCreateCa(dir);
  });

  it('a certificate that does not parse', async () => {
    writeFileSync(
      join(dir, CA_CERT_FILE),
      '-----BEGIN CERTIFICATE-----\nZ2FyYmFnZQ==\n-----END CERTIFICATE-----\n',
    );
    await expectRefusal(dir, 'ca_corrupt', [
      join(dir, CA_CERT_FILE),
      'may be trusted',
      `loupe ca rotate --data-dir "${dir}"`,
    ]);
  });

  it('an empty certificate file', async () => {
    writeFileSync(join(dir, CA_CERT_FILE), '');
    await expectRefusal(dir, 'ca_corrupt', [join(dir, CA_CERT_FILE)]);
  });

  it('a key that does not parse', async () => {
    writeFileSync(join(dir, CA_KEY_FILE), 'not a key');
    await expectRefusal(dir, 'ca_corrupt', [join(dir, CA_KEY_FILE), 'may be trusted']);
  });

  it('a key that does not belong to the certificate', async () => {
    const other = tempDir();
    await loadOrCreateCa(other);
    writeFileSync(join(dir, CA_KEY_FILE), readFileSync(join(other, CA_KEY_FILE)));
    await expectRefusal(dir, 'ca_mismatch', [
      join(dir, CA_KEY_FILE),
      join(dir, CA_CERT_FILE),
      'loupe ca rotate',
    ]);
  });

  it('a certificate that is not a CA, even with its own key', async () => {
    const leaf = certWith([{ name: 'basicConstraints', cA: false }]);
    writeFileSync(join(dir, CA_CERT_FILE), leaf.pem);
    writeFileSync(join(dir, CA_KEY_FILE), leaf.key.export({ type: 'pkcs8', format: 'pem' }));
    await expectRefusal(dir, 'ca_corrupt', ['is not a CA certificate']);
  });

  it('the key missing: no new key is made', async () => {
    rmSync(join(dir, CA_KEY_FILE));
    await expectRefusal(dir, 'ca_incomplete', [
      join(dir, CA_KEY_FILE),
      'is missing',
      'loupe ca rotate',
    ]);
    expect(existsSync(join(dir, CA_KEY_FILE))).toBe(false);
  });

  it('the certificate missing: no new certificate is made', async () => {
    rmSync(join(dir, CA_CERT_FILE));
    await expectRefusal(dir, 'ca_incomplete', [join(dir, CA_CERT_FILE), 'is missing']);
    expect(existsSync(join(dir, CA_CERT_FILE))).toBe(false);
  });

  it.each([
    `${WRAPPED_KEY_MARKER}\nAAAA\n`,
    `${WRAPPED_KEY_MARKER}\r\nAAAA`,
    `\uFEFF${WRAPPED_KEY_MARKER}\n`,
  ])('a key wrapped by the desktop app (%j), with the way out', async (wrapped) => {
    writeFileSync(join(dir, CA_KEY_FILE), wrapped);
    await expectRefusal(dir, 'ca_wrapped', ['headless mode cannot unlock it', '--data-dir']);
  });

  it('an EC key pair, which Loupe cannot sign with', async (ctx) => {
    needTool(ctx, 'openssl');
    const key = join(dir, CA_KEY_FILE);
    const cert = join(dir, CA_CERT_FILE);
    // prettier-ignore
    await run('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
      '-subj', '/CN=EC CA', '-days', '1', '-keyout', key, '-out', cert,
      '-addext', 'basicConstraints=critical,CA:TRUE',
    ]);
    await expectRefusal(dir, 'ca_unsupported', ['RSA CA keys only', '--data-dir']);
  });
});

describe('loadCa', () => {
  it('reads an existing CA and creates nothing when there is none', async () => {
    expect(await loadCa(dir)).toBeUndefined();
    expect(readdirSync(dir)).toEqual([]);
    const made = await loadOrCreateCa(dir);
    const files = snapshot(dir);
    expect((await loadCa(dir))?.fingerprint256).toBe(made.fingerprint256);
    expect(snapshot(dir)).toEqual(files);
  });
});

describe('CA rotation', () => {
  const backups = (d: string): string[] => readdirSync(d).filter((f) => f.includes('.old-'));

  it('makes a new CA and keeps the old pair byte for byte, the key 0600', async () => {
    const old = await loadOrCreateCa(dir);
    const before = snapshot(dir);
    const { ca, backup } = await rotateCa(dir);
    expect(ca.fingerprint256).not.toBe(old.fingerprint256);
    expect(ca.key.equals(old.key)).toBe(false);
    expect(ca.cert.checkPrivateKey(ca.key)).toBe(true);
    // ISO 8601 in basic format (no colons, which Windows forbids in file names), shared by both.
    const stamp = /\.old-(\d{8}T\d{6}\.\d{3}Z)$/.exec(backup.cert ?? '')?.[1];
    expect(stamp).toBeDefined();
    expect(backup.cert).toBe(join(dir, `${CA_CERT_FILE}.old-${stamp}`));
    expect(backup.key).toBe(join(dir, `${CA_KEY_FILE}.old-${stamp}`));
    expect(readFileSync(backup.cert!)).toEqual(before[CA_CERT_FILE]);
    expect(readFileSync(backup.key!)).toEqual(before[CA_KEY_FILE]);
    if (process.platform !== 'win32') {
      expect(statSync(backup.key!).mode & 0o777).toBe(0o600);
      expect(statSync(join(dir, CA_KEY_FILE)).mode & 0o777).toBe(0o600);
    }
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);

    const loaded = await loadOrCreateCa(dir);
    expect(loaded.fingerprint256).toBe(ca.fingerprint256);
    expect(loaded.key.equals(ca.key)).toBe(true);
  });

  it('keeps every generation: a second rotation backs up the first new pair', async () => {
    await loadOrCreateCa(dir);
    const first = await rotateCa(dir);
    const second = await rotateCa(dir);
    expect(second.backup.cert).not.toBe(first.backup.cert);
    expect(readFileSync(second.backup.cert!, 'utf8')).toBe(first.ca.certPem);
    expect(backups(dir)).toHaveLength(4);
  });

  it('recovers a mismatched pair, backing up the bad files as they were', async () => {
    await loadOrCreateCa(dir);
    const other = tempDir();
    await loadOrCreateCa(other);
    writeFileSync(join(dir, CA_KEY_FILE), readFileSync(join(other, CA_KEY_FILE)));
    const before = snapshot(dir);
    const { backup } = await rotateCa(dir);
    expect(readFileSync(backup.cert!)).toEqual(before[CA_CERT_FILE]);
    expect(readFileSync(backup.key!)).toEqual(before[CA_KEY_FILE]);
    expect((await loadCa(dir))?.cert.checkPrivateKey((await loadCa(dir))!.key)).toBe(true);
  });

  it('backs up only what exists: a lone certificate, or nothing at all', async () => {
    await loadOrCreateCa(dir);
    rmSync(join(dir, CA_KEY_FILE));
    const lone = await rotateCa(dir);
    expect(Object.keys(lone.backup)).toEqual(['cert']);
    expect(backups(dir)).toHaveLength(1);

    const empty = tempDir();
    const fresh = await rotateCa(empty);
    expect(fresh.backup).toEqual({});
    expect(readdirSync(empty).sort()).toEqual([CA_KEY_FILE, CA_CERT_FILE].sort());
  });
});

describe('signing helpers for leaves', () => {
  it('sign a forge-built certificate natively so that its issuer verifies it', async () => {
    const ca = await loadOrCreateCa(dir);
    const cert = forge.pki.createCertificate();
    const leafKey = generateKeyPairSync('rsa', { modulusLength: 2048 });
    cert.publicKey = forgePublicKey(leafKey.publicKey);
    cert.serialNumber = randomSerial();
    cert.validity.notBefore = new Date(Date.now() - 60_000);
    cert.validity.notAfter = new Date(Date.now() + 86_400_000);
    cert.setSubject([{ name: 'commonName', value: 'leaf.test' }]);
    cert.setIssuer(forge.pki.certificateFromPem(ca.certPem).subject.attributes);
    const leaf = new X509Certificate(signWithNativeKey(cert, ca.key));
    expect(leaf.verify(ca.cert.publicKey)).toBe(true);
    expect(leaf.checkIssued(ca.cert)).toBe(true);
  });

  it('make serials that are positive, minimal and different', () => {
    const serials = new Set(Array.from({ length: 200 }, randomSerial));
    expect(serials.size).toBe(200);
    for (const s of serials) {
      expect(s).toMatch(/^[0-9a-f]{32}$/);
      expect(parseInt(s.slice(0, 2), 16)).toBeGreaterThan(0);
      expect(parseInt(s.slice(0, 2), 16)).toBeLessThan(0x80);
    }
  });

  it('refuse a key that is not RSA', () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const cert = forge.pki.createCertificate();
    expect(() => signWithNativeKey(cert, ec.privateKey)).toThrow(/RSA/);
  });
});
