/** What the status bar and the empty state say about where the proxy is and how to use it. */
import type { ProxyStatus, SystemInfo } from '../../../src-common/api/contract';

/** `127.0.0.1:PORT`, with a wildcard listen address named as the loopback a client can use. */
export function proxyAddress(proxy: ProxyStatus): string {
  const wildcard = proxy.host === '0.0.0.0' || proxy.host === '::' || proxy.host === '';
  const host = wildcard ? '127.0.0.1' : proxy.host.includes(':') ? `[${proxy.host}]` : proxy.host;
  return `${host}:${proxy.port}`;
}

/** A path as one shell word: quoted when it holds anything a shell would split or expand. */
function shellWord(path: string, platform: string | undefined): string {
  if (/^[\w@%+=:,./\\-]+$/.test(path)) return path;
  return platform === 'win32' ? `"${path}"` : `'${path.replace(/'/g, `'\\''`)}'`;
}

/** The first thing to try: curl through the proxy, trusting the Loupe CA for HTTPS. */
export function curlLine(proxy: ProxyStatus, system: SystemInfo | undefined): string {
  const ca = system ? ` --cacert ${shellWord(system.ca.certPath, system.platform)}` : '';
  return `curl -x http://${proxyAddress(proxy)}${ca} https://example.com`;
}

/** `AB:CD:EF:01…` — enough of the SHA-256 fingerprint to compare by eye. */
export function shortFingerprint(fingerprint: string): string {
  return fingerprint.split(':').slice(0, 4).join(':') + '…';
}
