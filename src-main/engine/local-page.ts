/**
 * Loupe's own little web page, served for requests addressed to the proxy itself or to the magic
 * host `loupe.local` (never forwarded, so a client pointed at the proxy cannot make it loop).
 * It offers the CA certificate for download, the first thing a user needs on a new device.
 */
import type { HeaderPair } from '../../src-common/flow';
import type { CaForPage } from './context';

export const MAGIC_HOST = 'loupe.local';

export interface LocalResponse {
  status: number;
  statusText: string;
  headers: HeaderPair[];
  body: Buffer;
}

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function respond(
  status: number,
  statusText: string,
  type: string,
  body: Buffer,
  extra: HeaderPair[] = [],
): LocalResponse {
  return {
    status,
    statusText,
    headers: [
      ['Content-Type', type],
      ['Content-Length', String(body.length)],
      ['Cache-Control', 'no-store'],
      ['X-Content-Type-Options', 'nosniff'],
      ...extra,
    ],
    body,
  };
}

function page(ca: CaForPage | undefined): string {
  const caPart = ca
    ? `<p>Download the certificate, then trust it on this device so Loupe can show HTTPS traffic:</p>
<ul>
<li><a href="/ca.pem">ca.pem</a> — PEM, for macOS, Linux, Firefox, curl <code>--cacert</code></li>
<li><a href="/ca.crt">ca.crt</a> — DER, for Windows, iOS and Android</li>
</ul>
<p>SHA-256 fingerprint (compare it with the one Loupe shows before trusting):<br><code>${escapeHtml(ca.fingerprint256)}</code></p>`
    : '<p>No CA certificate is loaded in this Loupe process.</p>';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Loupe</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem}code{font-size:13px;word-break:break-all}</style>
</head><body>
<h1>Loupe is working</h1>
<p>This device sends its traffic through Loupe.</p>
${caPart}
</body></html>
`;
}

/** Answers a request for Loupe's own page. Only GET and HEAD are served. */
export function localPage(method: string, path: string, ca: CaForPage | undefined): LocalResponse {
  if (method !== 'GET' && method !== 'HEAD') {
    return respond(
      405,
      'Method Not Allowed',
      'text/plain; charset=utf-8',
      Buffer.from('Only GET is served here.\n'),
      [['Allow', 'GET, HEAD']],
    );
  }
  const pathname = path.split('?')[0];
  if (pathname === '/' || pathname === '/index.html') {
    return respond(200, 'OK', 'text/html; charset=utf-8', Buffer.from(page(ca)));
  }
  if (ca && pathname === '/ca.pem') {
    return respond(200, 'OK', 'application/x-pem-file', Buffer.from(ca.certPem), [
      ['Content-Disposition', 'attachment; filename="loupe-ca.pem"'],
    ]);
  }
  if (ca && (pathname === '/ca.crt' || pathname === '/ca.der' || pathname === '/ca.cer')) {
    return respond(200, 'OK', 'application/x-x509-ca-cert', ca.certDer, [
      ['Content-Disposition', 'attachment; filename="loupe-ca.crt"'],
    ]);
  }
  return respond(
    404,
    'Not Found',
    'text/plain; charset=utf-8',
    Buffer.from('Not found. Try / for the CA certificate.\n'),
  );
}
