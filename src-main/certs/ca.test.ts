import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { needTool } from '../test-support/tools';
import { CA_CERT_FILE, CA_KEY_FILE, CaError, loadOrCreateCa, WRAPPED_KEY_MARKER } from './ca';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'loupe-ca-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const files = (d: string) => ({
  cert: readFileSync(join(d, CA_CERT_FILE)),
  key: readFileSync(join(d, CA_KEY_FILE)),
});

async function refusal(code: string): Promise<void> {
  const before = files(dir);
  const err = await loadOrCreateCa(dir).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(CaError);
  expect((err as CaError).code).toBe(code);
  expect(files(dir)).toEqual(before);
}

describe('CA store', () => {
  it('creates a self-signed CA with the extensions clients demand, signed natively', async () => {
    const ca = await loadOrCreateCa(dir);
    const cert = new X509Certificate(readFileSync(join(dir, CA_CERT_FILE)));
    expect(cert.ca).toBe(true);
    expect(cert.verify(cert.publicKey)).toBe(true);
    expect(cert.subject).toBe(cert.issuer);
    expect(cert.subject).toMatch(/CN=Loupe CA \(/);
    expect(Number(BigInt(`0x${cert.serialNumber}`) > 0n)).toBe(1);
    expect(cert.serialNumber.length).toBeLessThanOrEqual(40);
    expect(new Date(cert.validFrom).getTime()).toBeLessThan(Date.now() - 3600_000);
    expect(ca.fingerprint256).toBe(cert.fingerprint256);
    expect(ca.certDer.equals(cert.raw)).toBe(true);
  });

  it('shows basicConstraints, keyUsage and SKI to openssl', async (ctx) => {
    needTool(ctx, 'openssl');
    await loadOrCreateCa(dir);
    const { stdout } = await promisify(execFile)('openssl', [
      'x509',
      '-in',
      join(dir, CA_CERT_FILE),
      '-noout',
      '-text',
    ]);
    expect(stdout).toMatch(/X509v3 Basic Constraints: critical\s+CA:TRUE/);
    expect(stdout).toMatch(/X509v3 Key Usage: critical\s+Certificate Sign, CRL Sign/);
    expect(stdout).toContain('X509v3 Subject Key Identifier');
    expect(stdout).toContain('Signature Algorithm: sha256WithRSAEncryption');
    expect(stdout).toContain('Public-Key: (2048 bit)');
  });

  it('keeps the key readable only by its owner', async () => {
    await loadOrCreateCa(dir);
    expect(statSync(join(dir, CA_KEY_FILE)).mode & 0o777).toBe(0o600);
  });

  it('creates a different CA per directory and reloads the same one', async () => {
    const other = mkdtempSync(join(tmpdir(), 'loupe-ca-'));
    try {
      const a = await loadOrCreateCa(dir);
      const b = await loadOrCreateCa(other);
      expect(a.fingerprint256).not.toBe(b.fingerprint256);
      const again = await loadOrCreateCa(dir);
      expect(again.fingerprint256).toBe(a.fingerprint256);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });

  it('refuses a corrupt certificate without touching either file', async () => {
    await loadOrCreateCa(dir);
    writeFileSync(
      join(dir, CA_CERT_FILE),
      '-----BEGIN CERTIFICATE-----\ngarbage\n-----END CERTIFICATE-----\n',
    );
    await refusal('ca_corrupt');
  });

  it('refuses a corrupt key without touching either file', async () => {
    await loadOrCreateCa(dir);
    writeFileSync(join(dir, CA_KEY_FILE), 'not a key');
    await refusal('ca_corrupt');
  });

  it('refuses a key that does not match the certificate', async () => {
    const other = mkdtempSync(join(tmpdir(), 'loupe-ca-'));
    try {
      await loadOrCreateCa(dir);
      await loadOrCreateCa(other);
      writeFileSync(join(dir, CA_KEY_FILE), readFileSync(join(other, CA_KEY_FILE)));
      await refusal('ca_mismatch');
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });

  it('refuses half a pair instead of creating a new CA', async () => {
    await loadOrCreateCa(dir);
    rmSync(join(dir, CA_KEY_FILE));
    const before = readFileSync(join(dir, CA_CERT_FILE));
    const err = (await loadOrCreateCa(dir).catch((e: unknown) => e)) as CaError;
    expect(err.code).toBe('ca_incomplete');
    expect(err.message).toContain(CA_KEY_FILE);
    expect(readFileSync(join(dir, CA_CERT_FILE))).toEqual(before);
  });

  it('explains that a key wrapped by the desktop app cannot be used headless', async () => {
    await loadOrCreateCa(dir);
    writeFileSync(join(dir, CA_KEY_FILE), `${WRAPPED_KEY_MARKER}\nAAAA\n`);
    const err = (await loadOrCreateCa(dir).catch((e: unknown) => e)) as CaError;
    expect(err.code).toBe('ca_wrapped');
    expect(err.message).toContain('--data-dir');
  });
});
