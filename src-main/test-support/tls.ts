/**
 * TLS peers for tests: a test PKI (a CA of its own in a temp directory, minting server
 * certificates for any name), HTTPS upstreams serving those certificates by SNI, a Loupe CA and
 * leaf minter for the proxy, and Node clients that CONNECT through the proxy and speak TLS.
 * Everything started here is closed by servers.ts's `cleanup()`.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { loadOrCreateCa, type CaHandle } from '../certs/ca';
import { LeafMinter } from '../certs/leaf';
import { registerCloser } from './servers';

export interface TestPki {
  dir: string;
  ca: CaHandle;
  minter: LeafMinter;
  /** The CA certificate file (for curl --cacert, --upstream-ca). */
  caFile: string;
}

/** A CA in a fresh temp directory with a minter for it; removed at cleanup. */
export async function testPki(opts: { now?: () => number } = {}): Promise<TestPki> {
  const dir = mkdtempSync(join(tmpdir(), 'loupe-pki-'));
  registerCloser(async () => rmSync(dir, { recursive: true, force: true }));
  const ca = await loadOrCreateCa(dir);
  return {
    dir,
    ca,
    minter: new LeafMinter(ca, opts.now ? { now: opts.now } : {}),
    caFile: join(dir, 'ca.pem'),
  };
}

/** A self-signed certificate and key for `name` (openssl), as PEM. */
export function selfSigned(name: string): { cert: string; key: string } {
  const dir = mkdtempSync(join(tmpdir(), 'loupe-self-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-subj',
        `/CN=${name}`,
        '-addext',
        `subjectAltName=DNS:${name}`,
        '-days',
        '2',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    return {
      cert: readFileSync(join(dir, 'cert.pem'), 'utf8'),
      key: readFileSync(join(dir, 'key.pem'), 'utf8'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface HttpsUpstream {
  server: https.Server;
  port: number;
  /** SNI names the server was asked for, in order. */
  names: string[];
}

/**
 * An HTTPS server on 127.0.0.1 presenting, for each SNI name, a certificate from `pki` (or the
 * fixed `context` when given, for wrong-name and self-signed cases).
 */
export async function httpsUpstream(
  pki: TestPki | { context: tls.SecureContext },
  handler: http.RequestListener,
  opts: { ALPNProtocols?: string[] } = {},
): Promise<HttpsUpstream> {
  const names: string[] = [];
  // Without SNI (a client connecting to an address) the server's default certificate is used.
  const fallback = 'context' in pki ? {} : pki.minter.credentialsFor('127.0.0.1');
  const server = https.createServer(
    {
      SNICallback: (name, done) => {
        names.push(name);
        done(null, 'context' in pki ? pki.context : pki.minter.contextFor(name));
      },
      ...fallback,
      ...(opts.ALPNProtocols ? { ALPNProtocols: opts.ALPNProtocols } : {}),
    },
    handler,
  );
  const sockets = new Set<net.Socket>();
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port));
  });
  registerCloser(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { server, port, names };
}

/** Opens a CONNECT tunnel through the proxy; resolves with the raw socket after the 200. */
export function connectTunnel(proxyPort: number, authority: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1',
      port: proxyPort,
      method: 'CONNECT',
      path: authority,
      headers: { Host: authority },
      agent: false,
    });
    req.once('connect', (res, socket, head) => {
      if (res.statusCode !== 200) {
        socket.destroy();
        reject(new Error(`CONNECT answered ${res.statusCode}`));
        return;
      }
      if (head.length) socket.unshift(head);
      resolve(socket);
    });
    req.once('error', reject);
    req.end();
  });
}

export interface TlsThroughProxy {
  socket: tls.TLSSocket;
  /** The certificate the client was shown. */
  peer: tls.PeerCertificate;
}

/** CONNECT, then a TLS handshake inside the tunnel with the given trust and SNI. */
export async function tlsThroughProxy(
  proxyPort: number,
  authority: string,
  opts: tls.ConnectionOptions,
): Promise<TlsThroughProxy> {
  const raw = await connectTunnel(proxyPort, authority);
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ ...opts, socket: raw });
    socket.once('secureConnect', () => resolve({ socket, peer: socket.getPeerCertificate() }));
    socket.once('close', () => raw.destroy());
    socket.once('error', (err) => {
      // A TLS socket made over an existing one leaves that one open when it fails.
      raw.destroy();
      reject(err);
    });
  });
}

/** One HTTPS request through the proxy with Node's https client; collects the response. */
export async function httpsViaProxy(
  proxyPort: number,
  url: string,
  ca: string | string[],
  init: { method?: string; headers?: Record<string, string>; body?: Buffer | string } = {},
): Promise<{
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  peer: tls.PeerCertificate;
}> {
  const u = new URL(url);
  const authority = `${u.hostname}:${u.port || 443}`;
  const { socket, peer } = await tlsThroughProxy(proxyPort, authority, {
    ca,
    host: u.hostname,
    ...(net.isIP(u.hostname) ? {} : { servername: u.hostname }),
    ALPNProtocols: ['http/1.1'],
  });
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        method: init.method ?? 'GET',
        host: u.hostname,
        path: u.pathname + u.search,
        headers: init.headers ?? {},
        createConnection: () => socket,
        agent: undefined,
      } as https.RequestOptions,
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => {
          socket.destroy();
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks),
            peer,
          });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(init.body);
  });
}
