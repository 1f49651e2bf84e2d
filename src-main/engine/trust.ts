/**
 * The roots Loupe trusts for upstream TLS: Node's bundled roots, the operating system's store,
 * `NODE_EXTRA_CA_CERTS`, and the user's `--upstream-ca` files. Node replaces its defaults when a
 * `ca` list is given, so every source has to be gathered here explicitly.
 */
import { readFileSync } from 'node:fs';
import tls from 'node:tls';

/** Where Linux distributions and BSDs keep the system bundle, for runtimes without an API. */
const SYSTEM_BUNDLES = [
  '/etc/ssl/certs/ca-certificates.crt',
  '/etc/pki/tls/certs/ca-bundle.crt',
  '/etc/ssl/ca-bundle.pem',
  '/etc/ssl/cert.pem',
  '/usr/local/etc/ssl/cert.pem',
];

type GetCaCertificates = (type: 'system' | 'bundled' | 'extra' | 'default') => string[];

function systemRoots(): string[] {
  // Node ≥ 22.15 / 23.5 reads the OS store itself (Keychain, Windows store, OpenSSL dirs).
  const get = (tls as unknown as { getCACertificates?: GetCaCertificates }).getCACertificates;
  if (get) return get('system');
  for (const file of SYSTEM_BUNDLES) {
    try {
      return splitPem(readFileSync(file, 'utf8'));
    } catch {
      // Not on this system; try the next location.
    }
  }
  return [];
}

function extraRoots(): string[] {
  const file = process.env.NODE_EXTRA_CA_CERTS;
  if (!file) return [];
  try {
    return splitPem(readFileSync(file, 'utf8'));
  } catch {
    return [];
  }
}

/** Splits a PEM bundle into single certificates. */
export function splitPem(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}

/** Every root Loupe trusts for upstream TLS, deduplicated. */
export function trustedRoots(userPems: readonly string[] = []): string[] {
  const all = new Set<string>([...tls.rootCertificates, ...systemRoots(), ...extraRoots()]);
  for (const pem of userPems) for (const cert of splitPem(pem)) all.add(cert);
  return [...all];
}
