/**
 * The root CA: created once per data directory, loaded afterwards, never overwritten. This
 * module (with its siblings in certs/) is the only importer of node-forge, used for X.509
 * structure only; keys are generated and signatures made by Node's native crypto (see
 * shared MEASURED.md: ~0.35 ms against ~19 ms for forge's pure-JS RSA signing).
 *
 * The private key is the crown jewel: it stays in `ca-key.pem` (mode 0600) and in a KeyObject
 * in memory. Nothing here serialises it for any API.
 */
import {
  createPrivateKey,
  generateKeyPairSync,
  randomBytes,
  sign,
  X509Certificate,
  type KeyObject,
} from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import forge from 'node-forge';
import { writeFileAtomic } from '../data/atomic-write';

export const CA_CERT_FILE = 'ca.pem';
export const CA_KEY_FILE = 'ca-key.pem';
/** First line of a key file wrapped by the desktop app with Electron's safeStorage. */
export const WRAPPED_KEY_MARKER = 'LOUPE-SAFESTORAGE-V1';

export type CaErrorCode = 'ca_corrupt' | 'ca_mismatch' | 'ca_incomplete' | 'ca_wrapped';

export class CaError extends Error {
  constructor(
    readonly code: CaErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface CaHandle {
  certPem: string;
  certDer: Buffer;
  /** SHA-256 fingerprint, colon-separated hex, as browsers show it. */
  fingerprint256: string;
  subject: string;
  notAfter: Date;
  /** The CA's private key. Never send it anywhere; it is for signing leaves in this process. */
  readonly key: KeyObject;
  readonly cert: X509Certificate;
}

/** A positive serial of at most 20 octets (RFC 5280 §4.1.2.2), as hex. */
export function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = bytes[0]! & 0x7f || 0x01;
  return bytes.toString('hex');
}

/**
 * Signs a forge-built certificate with a native key (sha256WithRSAEncryption) and returns it as
 * PEM. Shared by the CA and, later, leaf minting.
 */
export function signWithNativeKey(cert: forge.pki.Certificate, key: KeyObject): string {
  const oid = forge.pki.oids.sha256WithRSAEncryption!;
  cert.signatureOid = oid;
  cert.siginfo.algorithmOid = oid;
  // getTBSCertificate exists in node-forge but is missing from its type definitions.
  const { getTBSCertificate } = forge.pki as unknown as {
    getTBSCertificate(c: forge.pki.Certificate): forge.asn1.Asn1;
  };
  const tbs = forge.asn1.toDer(getTBSCertificate(cert)).getBytes();
  const signature = sign('sha256', Buffer.from(tbs, 'binary'), key);
  cert.signature = signature.toString('binary');
  return forge.pki.certificateToPem(cert);
}

function createCa(): { certPem: string; keyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(
    publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  );
  cert.serialNumber = randomSerial();
  const now = Date.now();
  cert.validity.notBefore = new Date(now - 24 * 3600 * 1000);
  cert.validity.notAfter = new Date(now + 10 * 365 * 24 * 3600 * 1000);
  const host =
    hostname()
      .replace(/[^\x20-\x7e]/g, '')
      .slice(0, 32) || 'host';
  const attrs = [
    { name: 'commonName', value: `Loupe CA (${host} ${randomBytes(3).toString('hex')})` },
    { name: 'organizationName', value: 'Loupe' },
    { shortName: 'OU', value: 'Loupe local interception CA' },
  ];
  cert.setSubject(attrs);
  cert.setIssuer(attrs);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  const certPem = signWithNativeKey(cert, privateKey);
  const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  return { certPem, keyPem };
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

function handleFrom(certPem: string, keyPem: string, dir: string): CaHandle {
  if (keyPem.startsWith(WRAPPED_KEY_MARKER)) {
    throw new CaError(
      'ca_wrapped',
      `The CA key in ${dir} is encrypted by the desktop app and cannot be unlocked here. Run the desktop app, or pass --data-dir with another directory (a new CA will be created there).`,
    );
  }
  let cert: X509Certificate;
  let key: KeyObject;
  try {
    cert = new X509Certificate(certPem);
  } catch {
    throw new CaError(
      'ca_corrupt',
      `${join(dir, CA_CERT_FILE)} is not a readable certificate. Loupe will not replace it, since it may be trusted; move it away to create a new CA.`,
    );
  }
  try {
    key = createPrivateKey(keyPem);
  } catch {
    throw new CaError(
      'ca_corrupt',
      `${join(dir, CA_KEY_FILE)} is not a readable private key. Loupe will not replace the CA, since it may be trusted; move both files away to create a new one.`,
    );
  }
  if (!cert.checkPrivateKey(key)) {
    throw new CaError(
      'ca_mismatch',
      `The key in ${join(dir, CA_KEY_FILE)} does not belong to the certificate in ${join(dir, CA_CERT_FILE)}. Restore the matching pair, or move both away to create a new CA.`,
    );
  }
  if (!cert.ca) {
    throw new CaError('ca_corrupt', `${join(dir, CA_CERT_FILE)} is not a CA certificate.`);
  }
  return {
    certPem,
    certDer: Buffer.from(cert.raw),
    fingerprint256: cert.fingerprint256,
    subject: cert.subject,
    notAfter: new Date(cert.validTo),
    key,
    cert,
  };
}

/**
 * Loads the CA from `dir`, creating it on first use. Refuses (CaError) a corrupt, mismatched or
 * half-present pair rather than overwrite a CA the user may have trusted.
 */
export async function loadOrCreateCa(dir: string): Promise<CaHandle> {
  const certPath = join(dir, CA_CERT_FILE);
  const keyPath = join(dir, CA_KEY_FILE);
  const [certPem, keyPem] = await Promise.all([readIfExists(certPath), readIfExists(keyPath)]);
  if (certPem !== undefined && keyPem !== undefined) return handleFrom(certPem, keyPem, dir);
  if (certPem !== undefined || keyPem !== undefined) {
    const missing = certPem === undefined ? certPath : keyPath;
    throw new CaError(
      'ca_incomplete',
      `${missing} is missing while its partner exists. Restore it, or move the other file away to create a new CA.`,
    );
  }
  const created = createCa();
  // Key first: a crash between the two writes leaves a lone key, which is refused, not reused silently.
  await writeFileAtomic(keyPath, created.keyPem, { mode: 0o600 });
  await writeFileAtomic(certPath, created.certPem, { mode: 0o644 });
  return handleFrom(created.certPem, created.keyPem, dir);
}
