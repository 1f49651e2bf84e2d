/**
 * The root CA: created once per data directory, loaded afterwards, replaced only when the user
 * asks (`rotateCa`, behind `loupe ca rotate`), which keeps the old pair as a backup. This
 * module (with its siblings in certs/) is the only importer of node-forge, used for X.509
 * structure only; keys are generated and signatures made by Node's native crypto (shared
 * MEASURED.md: ~0.35 ms per certificate against ~19 ms for forge's pure-JS RSA signing).
 *
 * The private key stays in `ca-key.pem` (mode 0600) and, in memory, in a KeyObject that is not
 * enumerable on the handle, so spreading or serialising a CaHandle never carries it. Leaf
 * minting builds on `randomSerial`, `forgePublicKey` and `signWithNativeKey` below.
 */
import {
  createPrivateKey,
  generateKeyPair,
  randomBytes,
  sign,
  X509Certificate,
  type KeyObject,
} from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import forge from 'node-forge';
import { writeFileAtomic } from '../data/atomic-write';
import { readIfExists } from '../data/read-if-exists';

export const CA_CERT_FILE = 'ca.pem';
export const CA_KEY_FILE = 'ca-key.pem';
/** First line of a key file wrapped by the desktop app with Electron's safeStorage. */
export const WRAPPED_KEY_MARKER = 'LOUPE-SAFESTORAGE-V1';

const DAY_MS = 24 * 3600 * 1000;

/**
 * - `ca_corrupt`: a file does not parse, or the certificate is not a CA
 * - `ca_mismatch`: the key does not belong to the certificate
 * - `ca_incomplete`: one of the two files is missing
 * - `ca_wrapped`: the key is wrapped by the desktop app's safeStorage (headless cannot unwrap it)
 * - `ca_unsupported`: the key is not RSA, the only kind Loupe signs with
 */
export type CaErrorCode =
  'ca_corrupt' | 'ca_mismatch' | 'ca_incomplete' | 'ca_wrapped' | 'ca_unsupported';

/** The CA in the data directory cannot be used; the message says why and what to do. */
export class CaError extends Error {
  constructor(
    readonly code: CaErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface CaHandle {
  readonly certPem: string;
  readonly certDer: Buffer;
  /** SHA-256 fingerprint, colon-separated upper-case hex, as browsers show it. */
  readonly fingerprint256: string;
  /** The subject as Node prints it (`CN=…\nO=Loupe…`). */
  readonly subject: string;
  readonly notAfter: Date;
  readonly cert: X509Certificate;
  /**
   * The CA's private key, for signing leaves in this process. It must never cross an API, IPC
   * or log; it is non-enumerable so `{ ...ca }` and `JSON.stringify(ca)` leave it out.
   */
  readonly key: KeyObject;
}

/** A positive serial of at most 20 octets (RFC 5280 §4.1.2.2), as hex for forge. */
export function randomSerial(): string {
  const bytes = randomBytes(16);
  // High bit clear keeps it positive; a non-zero first byte keeps the DER minimal.
  bytes[0] = bytes[0]! & 0x7f || 0x01;
  return bytes.toString('hex');
}

/** A native public key as forge's object, to place in a certificate being built. */
export function forgePublicKey(key: KeyObject): forge.pki.PublicKey {
  return forge.pki.publicKeyFromPem(key.export({ type: 'spki', format: 'pem' }).toString());
}

// getTBSCertificate exists in node-forge but is missing from its type definitions.
const { getTBSCertificate } = forge.pki as unknown as {
  getTBSCertificate(cert: forge.pki.Certificate): forge.asn1.Asn1;
};

/**
 * Signs a forge-built certificate with a native RSA key (sha256WithRSAEncryption) and returns
 * it as PEM: forge lays out the to-be-signed bytes, Node's crypto signs them.
 */
export function signWithNativeKey(cert: forge.pki.Certificate, key: KeyObject): string {
  if (key.asymmetricKeyType !== 'rsa') {
    throw new CaError('ca_unsupported', `Loupe signs with RSA keys, not ${key.asymmetricKeyType}.`);
  }
  const oid = forge.pki.oids.sha256WithRSAEncryption!;
  cert.signatureOid = oid;
  cert.siginfo.algorithmOid = oid;
  const tbs = Buffer.from(forge.asn1.toDer(getTBSCertificate(cert)).getBytes(), 'binary');
  cert.signature = sign('sha256', tbs, key).toString('binary');
  return forge.pki.certificateToPem(cert);
}

/** RFC 5280 asks for UTF8String in new certificates; forge defaults to PrintableString. */
function utf8(name: string, value: string): forge.pki.CertificateField {
  return { name, value, valueTagClass: forge.asn1.Type.UTF8 as unknown as forge.asn1.Class };
}

async function createCa(): Promise<{ certPem: string; keyPem: string }> {
  // Native and off the event loop: RSA-2048 generation takes 90–280 ms here.
  const { privateKey, publicKey } = await promisify(generateKeyPair)('rsa', {
    modulusLength: 2048,
  });
  const cert = forge.pki.createCertificate();
  cert.publicKey = forgePublicKey(publicKey);
  cert.serialNumber = randomSerial();
  const now = Date.now();
  // Backdated a day so a client whose clock runs behind still accepts it.
  cert.validity.notBefore = new Date(now - DAY_MS);
  cert.validity.notAfter = new Date(now + 3652 * DAY_MS);
  // The host name and a random tag tell this CA apart from others in a trust store.
  const host =
    hostname()
      .replace(/[^\x20-\x7e]/g, '')
      .slice(0, 32) || 'host';
  const name = [
    utf8('commonName', `Loupe CA (${host} ${randomBytes(3).toString('hex')})`),
    utf8('organizationName', 'Loupe'),
  ];
  cert.setSubject(name);
  cert.setIssuer(name);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  // Node's PEM has LF line ends where forge writes CRLF; the file is for people and tools.
  const certPem = new X509Certificate(signWithNativeKey(cert, privateKey)).toString();
  return { certPem, keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
}

/**
 * How to recover from an unusable pair, for the CaError messages: `loupe ca rotate` backs the
 * old files up and creates a new CA. The folder is named, quoted, so the line can be pasted.
 */
const rotateHint = (dir: string): string =>
  `run loupe ca rotate --data-dir "${dir}" to keep the old files as a backup and create a new CA`;

/** Checks a pair read from `dir` and makes the handle; throws CaError when it is unusable. */
function handleFrom(certPem: string, keyPem: string, dir: string): CaHandle {
  const certPath = join(dir, CA_CERT_FILE);
  const keyPath = join(dir, CA_KEY_FILE);
  const keep = 'Loupe will not replace it on its own, since it may be trusted';
  if (
    keyPem
      .replace(/^\uFEFF/, '')
      .split(/\r?\n/, 1)[0]!
      .trim() === WRAPPED_KEY_MARKER
  ) {
    throw new CaError(
      'ca_wrapped',
      `The CA key ${keyPath} is encrypted by the Loupe desktop app, and headless mode cannot unlock it. Use the desktop app with this folder, or pass --data-dir with another directory (a new CA is created there).`,
    );
  }
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch {
    throw new CaError(
      'ca_corrupt',
      `${certPath} is not a readable certificate. ${keep}: restore it, or ${rotateHint(dir)}.`,
    );
  }
  if (!cert.ca) {
    throw new CaError(
      'ca_corrupt',
      `${certPath} is not a CA certificate. ${keep}: restore the right one, or ${rotateHint(dir)}.`,
    );
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(keyPem);
  } catch {
    throw new CaError(
      'ca_corrupt',
      `${keyPath} is not a readable private key. ${keep}: restore it, or ${rotateHint(dir)}.`,
    );
  }
  if (!cert.checkPrivateKey(key)) {
    throw new CaError(
      'ca_mismatch',
      `The key in ${keyPath} does not belong to the certificate in ${certPath}. Restore the matching pair, or ${rotateHint(dir)}.`,
    );
  }
  if (key.asymmetricKeyType !== 'rsa') {
    throw new CaError(
      'ca_unsupported',
      `The CA in ${dir} has a ${key.asymmetricKeyType} key; Loupe signs with RSA CA keys only. Pass --data-dir with another directory to use a CA Loupe creates, or ${rotateHint(dir)}.`,
    );
  }
  const handle = {
    certPem: cert.toString(),
    certDer: Buffer.from(cert.raw),
    fingerprint256: cert.fingerprint256,
    subject: cert.subject,
    notAfter: new Date(cert.validTo),
    cert,
  };
  return Object.defineProperty(handle, 'key', { value: key, enumerable: false }) as CaHandle;
}

/**
 * Loads the CA of data directory `dir`, or resolves to undefined when neither file is there.
 * Refuses with CaError a corrupt, mismatched, half-present or wrapped pair; reads only, so it
 * needs no lock.
 */
export async function loadCa(dir: string): Promise<CaHandle | undefined> {
  const certPath = join(dir, CA_CERT_FILE);
  const keyPath = join(dir, CA_KEY_FILE);
  const [certPem, keyPem] = await Promise.all([readIfExists(certPath), readIfExists(keyPath)]);
  if (certPem !== undefined && keyPem !== undefined) return handleFrom(certPem, keyPem, dir);
  if (certPem === undefined && keyPem === undefined) return undefined;
  const [missing, present] = certPem === undefined ? [certPath, keyPath] : [keyPath, certPath];
  throw new CaError(
    'ca_incomplete',
    `${missing} is missing while ${present} exists. Loupe will not create a new CA over half of one on its own: restore the missing file, or ${rotateHint(dir)}.`,
  );
}

/** Writes a freshly made pair into `dir` over whatever is there and loads it back. */
async function writeCa(dir: string, pair: { certPem: string; keyPem: string }): Promise<CaHandle> {
  // Key first: a crash between the two writes leaves a lone key (or a new key beside the old
  // certificate), which is refused, never a certificate (perhaps trusted at once) whose key
  // was lost.
  await writeFileAtomic(join(dir, CA_KEY_FILE), pair.keyPem, { mode: 0o600 });
  await writeFileAtomic(join(dir, CA_CERT_FILE), pair.certPem, { mode: 0o644 });
  return handleFrom(pair.certPem, pair.keyPem, dir);
}

/**
 * Loads the CA of data directory `dir` (which must exist), creating it on first use. Refuses
 * with CaError a corrupt, mismatched, half-present or wrapped pair rather than replace a CA the
 * user may have trusted; the files are left exactly as they were. The caller holds the data
 * directory's lock (data/lock.ts), so no other process creates a CA in `dir` at the same time.
 */
export async function loadOrCreateCa(dir: string): Promise<CaHandle> {
  return (await loadCa(dir)) ?? writeCa(dir, await createCa());
}

/** Copies `path`, if it exists, to `path.old-STAMP` with `mode`; resolves to the copy's path. */
async function backUp(path: string, stamp: string, mode: number): Promise<string | undefined> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const copy = `${path}.old-${stamp}`;
  await writeFileAtomic(copy, bytes, { mode });
  return copy;
}

/**
 * Replaces the CA of data directory `dir` (which must exist) with a new one, whatever state the
 * old pair is in: that is how a corrupt or mismatched pair is recovered from. The old files are
 * first copied, byte for byte, to `ca.pem.old-STAMP` and `ca-key.pem.old-STAMP` (the key 0600;
 * STAMP is the ISO 8601 time in basic format, which every file system accepts), so a CA the user
 * trusted can still be restored. The new pair is made before anything is touched, and the live
 * files are only ever overwritten atomically, so a failure leaves either pair in place. The
 * caller holds the data directory's lock.
 */
export async function rotateCa(
  dir: string,
): Promise<{ ca: CaHandle; backup: { cert?: string; key?: string } }> {
  const pair = await createCa();
  const stamp = new Date().toISOString().replace(/[-:]/g, '');
  const key = await backUp(join(dir, CA_KEY_FILE), stamp, 0o600);
  const cert = await backUp(join(dir, CA_CERT_FILE), stamp, 0o644);
  const ca = await writeCa(dir, pair);
  return { ca, backup: { ...(cert ? { cert } : {}), ...(key ? { key } : {}) } };
}
