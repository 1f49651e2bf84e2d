/**
 * Leaf certificates for intercepted hosts. One EC P-256 key pair per process serves every leaf
 * (a TLS 1.3 handshake with it costs about half of an RSA-2048 one; shared MEASURED.md). forge
 * lays out the X.509 structure, the leaf's public key is put into it as DER, and Node's crypto
 * signs the to-be-signed bytes with the CA key, so a new host costs well under a millisecond.
 *
 * What clients demand (docs/ARCHITECTURE.md "Certificates"): subjectAltName with the DNS name or
 * an iPAddress entry (a CN alone is ignored by Apple platforms and Chromium), EKU serverAuth,
 * keyUsage digitalSignature, basicConstraints CA:FALSE, AKI and SKI, a positive serial of at
 * most 20 octets, validity at most 397 days with notBefore backdated.
 *
 * Secure contexts are cached per host in a bounded LRU; an entry is re-minted a day before its
 * certificate expires. Minting is synchronous, so concurrent handshakes for one new host share
 * the first one's certificate.
 */
import {
  createHash,
  createPublicKey,
  generateKeyPairSync,
  sign,
  type KeyObject,
} from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import forge from 'node-forge';
import { forgePublicKey, randomSerial, type CaHandle } from './ca';

const DAY_MS = 24 * 3600 * 1000;
/** The CA/Browser Forum's and Apple's ceiling is 398 days; one less absorbs rounding. */
export const LEAF_VALIDITY_DAYS = 397;
/** notBefore is set this far in the past, for clients whose clocks run behind. */
export const LEAF_BACKDATE_MS = 2 * DAY_MS;
export const DEFAULT_CACHE_SIZE = 1000;

const { getTBSCertificate } = forge.pki as unknown as {
  getTBSCertificate(cert: forge.pki.Certificate): forge.asn1.Asn1;
};

export interface MintedLeaf {
  host: string;
  certPem: string;
  serial: string;
  notAfter: Date;
}

export interface LeafStats {
  /** Certificates minted since the minter was made. */
  minted: number;
  /** Secure contexts currently cached. */
  cached: number;
}

/** Thrown for a host name that cannot be put in a certificate; the message says why. */
export class LeafError extends Error {}

const DNS_NAME =
  /^(?=.{1,253}$)(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.)*[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;

/** The form of a host used as the cache key and in the certificate; throws LeafError. */
export function normaliseLeafHost(host: string): string {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  const h = bare.toLowerCase().replace(/\.$/, '');
  if (net.isIPv4(h)) return h;
  if (net.isIPv6(h)) return h.split('%', 1)[0]!;
  if (!DNS_NAME.test(h)) {
    throw new LeafError(`'${host.slice(0, 100)}' is not a host name a certificate can name`);
  }
  return h;
}

function pem(der: Buffer): string {
  const b64 = der.toString('base64').replace(/(.{64})/g, '$1\n');
  return `-----BEGIN CERTIFICATE-----\n${b64}${b64.endsWith('\n') ? '' : '\n'}-----END CERTIFICATE-----\n`;
}

function octets(bytes: Buffer): forge.asn1.Asn1 {
  return forge.asn1.create(
    forge.asn1.Class.UNIVERSAL,
    forge.asn1.Type.OCTETSTRING,
    false,
    bytes.toString('binary'),
  );
}

/** The CA's subject key identifier, which a leaf's AKI names (computed when the CA lacks one). */
function caKeyId(ca: CaHandle): Buffer {
  const cert = forge.pki.certificateFromPem(ca.certPem);
  const ext = cert.getExtension('subjectKeyIdentifier') as
    { subjectKeyIdentifier?: string } | undefined;
  if (ext?.subjectKeyIdentifier) return Buffer.from(ext.subjectKeyIdentifier, 'hex');
  return Buffer.from(cert.generateSubjectKeyIdentifier().getBytes(), 'binary');
}

export class LeafMinter {
  private readonly key: KeyObject;
  private readonly keyPem: string;
  private readonly spki: forge.asn1.Asn1;
  private readonly ski: Buffer;
  private readonly aki: Buffer;
  private readonly issuer: forge.pki.CertificateField[];
  /** Placeholder public key for forge's layout; replaced by the leaf's SPKI before signing. */
  private readonly placeholder: forge.pki.PublicKey;
  private readonly cache = new Map<string, { context: tls.SecureContext; leaf: MintedLeaf }>();
  private minted = 0;

  constructor(
    private readonly ca: CaHandle,
    private readonly opts: { cacheSize?: number; now?: () => number } = {},
  ) {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    this.key = privateKey;
    this.keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const spkiDer = publicKey.export({ type: 'spki', format: 'der' });
    this.spki = forge.asn1.fromDer(spkiDer.toString('binary'));
    // RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits (the uncompressed point).
    const point = Buffer.from(
      ((this.spki.value as forge.asn1.Asn1[])[1]!.value as string).slice(1),
      'binary',
    );
    this.ski = createHash('sha1').update(point).digest();
    this.aki = caKeyId(ca);
    this.issuer = forge.pki.certificateFromPem(ca.certPem).subject.attributes.map((a) => ({
      ...(a.type ? { type: a.type } : {}),
      value: a.value as string,
      ...(a.valueTagClass !== undefined ? { valueTagClass: a.valueTagClass } : {}),
    }));
    this.placeholder = forgePublicKey(createPublicKey(ca.key));
  }

  stats(): LeafStats {
    return { minted: this.minted, cached: this.cache.size };
  }

  /** A secure context presenting a leaf for `host` (DNS name or IP literal); throws LeafError. */
  contextFor(host: string): tls.SecureContext {
    return this.entry(host).context;
  }

  /** The leaf currently served for `host`, minting it if needed; throws LeafError. */
  leafFor(host: string): MintedLeaf {
    return this.entry(host).leaf;
  }

  /**
   * The leaf for `host` with the process's leaf key, as PEM, for a server that takes
   * certificate files (test servers). The key is the shared leaf key, never the CA's.
   */
  credentialsFor(host: string): { cert: string; key: string } {
    return { cert: this.entry(host).leaf.certPem, key: this.keyPem };
  }

  /** Forgets every cached leaf (after the CA changed, say). */
  clear(): void {
    this.cache.clear();
  }

  private now(): number {
    return this.opts.now ? this.opts.now() : Date.now();
  }

  private entry(host: string): { context: tls.SecureContext; leaf: MintedLeaf } {
    const name = normaliseLeafHost(host);
    const hit = this.cache.get(name);
    if (hit) {
      this.cache.delete(name);
      if (hit.leaf.notAfter.getTime() - DAY_MS > this.now()) {
        this.cache.set(name, hit);
        return hit;
      }
    }
    const leaf = this.mint(name);
    const context = tls.createSecureContext({ cert: leaf.certPem, key: this.keyPem });
    const fresh = { context, leaf };
    this.cache.set(name, fresh);
    const max = this.opts.cacheSize ?? DEFAULT_CACHE_SIZE;
    while (this.cache.size > max) this.cache.delete(this.cache.keys().next().value!);
    return fresh;
  }

  /** Builds and signs a certificate for an already normalised host. */
  private mint(host: string): MintedLeaf {
    const ip = net.isIP(host) !== 0;
    const cert = forge.pki.createCertificate();
    cert.publicKey = this.placeholder;
    cert.serialNumber = randomSerial();
    const now = this.now();
    cert.validity.notBefore = new Date(now - LEAF_BACKDATE_MS);
    const notAfter = new Date(now + LEAF_VALIDITY_DAYS * DAY_MS - LEAF_BACKDATE_MS);
    cert.validity.notAfter = notAfter;
    // A CN is at most 64 characters; clients use the SAN, so a longer name simply has none.
    cert.setSubject(
      host.length <= 64
        ? [
            { name: 'commonName', value: host },
            { name: 'organizationName', value: 'Loupe' },
          ]
        : [{ name: 'organizationName', value: 'Loupe' }],
    );
    cert.setIssuer(this.issuer);
    cert.setExtensions([
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [ip ? { type: 7, ip: host } : { type: 2, value: host }],
      },
      { id: forge.pki.oids.subjectKeyIdentifier!, value: octets(this.ski) },
      {
        id: forge.pki.oids.authorityKeyIdentifier!,
        value: forge.asn1.create(forge.asn1.Class.UNIVERSAL, forge.asn1.Type.SEQUENCE, true, [
          forge.asn1.create(
            forge.asn1.Class.CONTEXT_SPECIFIC,
            0,
            false,
            this.aki.toString('binary'),
          ),
        ]),
      },
    ]);
    const oid = forge.pki.oids.sha256WithRSAEncryption!;
    cert.signatureOid = oid;
    cert.siginfo.algorithmOid = oid;
    const tbs = getTBSCertificate(cert);
    // [0] version, serial, signature, issuer, validity, subject, subjectPublicKeyInfo, …
    (tbs.value as forge.asn1.Asn1[])[6] = this.spki;
    const tbsDer = Buffer.from(forge.asn1.toDer(tbs).getBytes(), 'binary');
    const signature = sign('sha256', tbsDer, this.ca.key);
    const { Class, Type, create } = forge.asn1;
    const certAsn1 = create(Class.UNIVERSAL, Type.SEQUENCE, true, [
      tbs,
      create(Class.UNIVERSAL, Type.SEQUENCE, true, [
        create(Class.UNIVERSAL, Type.OID, false, forge.asn1.oidToDer(oid).getBytes()),
        create(Class.UNIVERSAL, Type.NULL, false, ''),
      ]),
      create(Class.UNIVERSAL, Type.BITSTRING, false, `\x00${signature.toString('binary')}`),
    ]);
    this.minted++;
    return {
      host,
      certPem: pem(Buffer.from(forge.asn1.toDer(certAsn1).getBytes(), 'binary')),
      serial: cert.serialNumber,
      notAfter,
    };
  }
}
