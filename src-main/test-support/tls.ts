/**
 * TLS peers for tests: a test PKI (a CA of its own in a temp directory, minting server
 * certificates for any name), HTTPS upstreams serving those certificates by SNI, a Loupe CA and
 * leaf minter for the proxy, and Node clients that CONNECT through the proxy and speak TLS.
 * Everything started here is closed by servers.ts's `cleanup()`.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { loadOrCreateCa, type CaHandle } from '../certs/ca';
import { LeafMinter } from '../certs/leaf';
import { closeWithCleanup, listen, registerCloser } from './servers';

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
  const port = await listen(server, '127.0.0.1');
  closeWithCleanup(server);
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

/**
 * An HTTP/2 (or, with `allowHTTP1`, HTTP/2 and HTTP/1.1) server on 127.0.0.1 with certificates
 * from `pki` by SNI. The handler gets the compatibility API's request and response.
 */
export async function h2Upstream(
  pki: TestPki,
  handler: (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void,
  opts: { allowHTTP1?: boolean } = {},
): Promise<HttpsUpstream & { h2server: http2.Http2SecureServer }> {
  const names: string[] = [];
  const server = http2.createSecureServer(
    {
      SNICallback: (name, done) => {
        names.push(name);
        done(null, pki.minter.contextFor(name));
      },
      ...pki.minter.credentialsFor('127.0.0.1'),
      allowHTTP1: opts.allowHTTP1 ?? false,
    },
    handler,
  );
  const port = await listen(server, '127.0.0.1');
  closeWithCleanup(server);
  return { server: server as unknown as https.Server, h2server: server, port, names };
}

/** An HTTP/2 session to `authority` inside a CONNECT tunnel through the proxy. */
export async function h2ViaProxy(
  proxyPort: number,
  authority: string,
  ca: string,
): Promise<http2.ClientHttp2Session> {
  const raw = await connectTunnel(proxyPort, authority);
  const host = authority.replace(/:\d+$/, '');
  const session = http2.connect(`https://${authority}`, {
    createConnection: () =>
      tls.connect({ socket: raw, ca, servername: host, ALPNProtocols: ['h2'] }),
  });
  registerCloser(async () => void session.destroy());
  await new Promise<void>((resolve, reject) => {
    session.once('connect', () => resolve());
    session.once('error', reject);
  });
  return session;
}

/** One request on an HTTP/2 session; resolves with status, headers, body and trailers. */
export function h2Request(
  session: http2.ClientHttp2Session,
  headers: http2.OutgoingHttpHeaders,
  body?: Buffer,
): Promise<{
  status: number;
  headers: http2.IncomingHttpHeaders;
  body: Buffer;
  trailers?: http2.IncomingHttpHeaders;
}> {
  return new Promise((resolve, reject) => {
    const stream = session.request(headers, { endStream: !body });
    let status = 0;
    let got: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders | undefined;
    const chunks: Buffer[] = [];
    stream.on('response', (h) => {
      status = Number(h[':status']);
      got = h;
    });
    stream.on('trailers', (t) => (trailers = t));
    stream.on('data', (d: Buffer) => chunks.push(d));
    stream.on('end', () =>
      resolve({
        status,
        headers: got,
        body: Buffer.concat(chunks),
        ...(trailers ? { trailers } : {}),
      }),
    );
    stream.on('error', reject);
    if (body) stream.end(body);
  });
}
