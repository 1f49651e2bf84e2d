import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { needTool } from '../test-support/tools';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startProxy } from './index';
import {
  cleanup,
  deadPort,
  httpUpstream,
  proxyHarness,
  rawHeader,
  rawRequest,
  upstreamProxy,
  viaProxy,
} from '../test-support/servers';
import { tunnelsClosed } from '../test-support/wait';

afterEach(cleanup);

describe('name resolution', () => {
  it('connects a made-up host to the --resolve address', async () => {
    const { port } = await httpUpstream((req, res) => res.end(`host ${req.headers.host}`));
    const h = await proxyHarness({ resolve: [['api.loupe.test', '127.0.0.1']] });
    const res = await viaProxy(h.proxy.port, `http://API.loupe.test:${port}/`);
    // URLs lower-case host names; the override matches whatever the case.
    expect(res.body.toString()).toBe(`host api.loupe.test:${port}`);
    const [ex] = await h.waitFor(1);
    expect(ex!.server).toMatchObject({ host: 'api.loupe.test', address: '127.0.0.1' });
  });

  it('resolves names through the OS resolver (localhost, as /etc/hosts says)', async () => {
    const { port } = await httpUpstream((_req, res) => res.end('local'));
    const h = await proxyHarness();
    const res = await viaProxy(h.proxy.port, `http://localhost:${port}/`);
    expect(res.body.toString()).toBe('local');
  });
});

describe('upstream proxy chaining', () => {
  it('sends plain requests through the upstream proxy in absolute form with its credentials', async () => {
    const target = await httpUpstream((req, res) => res.end(`from target ${req.url}`));
    const chain = await upstreamProxy(target.port);
    const h = await proxyHarness({ upstreamProxy: `http://user:p%40ss@127.0.0.1:${chain.port}` });
    const url = `http://far.example.test:${target.port}/path/../x?q='1'`;
    // The client's own proxy credentials are for Loupe; the upstream proxy gets the URL's.
    const res = await viaProxy(h.proxy.port, url, {
      headers: ['Proxy-Authorization', 'Basic Y2xpZW50OmNsaWVudA==', 'X-End', 'e'],
    });
    expect(res.body.toString()).toBe("from target /path/../x?q='1'");
    expect(rawHeader(res.rawHeaders, 'x-via-chain')).toBe('1');
    expect(chain.seen).toHaveLength(1);
    const seen = chain.seen[0]!;
    expect(seen).toMatchObject({ method: 'GET', url });
    expect(rawHeader(seen.rawHeaders, 'proxy-authorization')).toBe(
      `Basic ${Buffer.from('user:p@ss').toString('base64')}`,
    );
    expect(seen.rawHeaders.filter((v) => v.toLowerCase() === 'proxy-authorization')).toHaveLength(
      1,
    );
    expect(rawHeader(seen.rawHeaders, 'x-end')).toBe('e');
    const [ex] = await h.waitFor(1);
    expect(ex!.tags).toContain('upstream-proxy');
    expect(ex!.error).toBeUndefined();
  });

  it('sends CONNECT tunnels through the upstream proxy, with its credentials', async () => {
    const target = await httpUpstream((_req, res) => res.end('tunnelled'));
    const chain = await upstreamProxy(target.port);
    const h = await proxyHarness({ upstreamProxy: `http://user:pw@127.0.0.1:${chain.port}` });
    const text = await rawRequest(
      h.proxy.port,
      `CONNECT far.example.test:${target.port} HTTP/1.1\r\nHost: far.example.test:${target.port}\r\n\r\nGET / HTTP/1.1\r\nHost: far\r\nConnection: close\r\n\r\n`,
    );
    expect(text).toMatch(/^HTTP\/1\.1 200 Connection Established\r\n\r\nHTTP\/1\.1 200 OK/);
    expect(text.endsWith('tunnelled')).toBe(true);
    expect(chain.seen).toMatchObject([
      { method: 'CONNECT', url: `far.example.test:${target.port}` },
    ]);
    expect(rawHeader(chain.seen[0]!.rawHeaders, 'proxy-authorization')).toBe(
      `Basic ${Buffer.from('user:pw').toString('base64')}`,
    );
    await tunnelsClosed(h, 1);
    expect(h.tunnels[0]!.tags).toContain('upstream-proxy');
  });

  it('goes direct for hosts on the no-proxy list', async () => {
    const target = await httpUpstream((_req, res) => res.end('direct'));
    const chain = await upstreamProxy(target.port);
    const h = await proxyHarness({
      upstreamProxy: `http://127.0.0.1:${chain.port}`,
      noProxy: (host) => host === '127.0.0.1',
    });
    const res = await viaProxy(h.proxy.port, `http://127.0.0.1:${target.port}/`);
    expect(res.body.toString()).toBe('direct');
    const tunnelled = await rawRequest(
      h.proxy.port,
      `CONNECT 127.0.0.1:${target.port} HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
    );
    expect(tunnelled.endsWith('direct')).toBe(true);
    expect(chain.seen).toEqual([]);
    const [ex] = await h.waitFor(1);
    expect(ex!.tags).not.toContain('upstream-proxy');
  });

  it('reports an upstream proxy that refuses CONNECT', async () => {
    const { server, port } = await httpUpstream((_req, res) => res.end());
    server.on('connect', (_req, socket: net.Socket) =>
      socket.end('HTTP/1.1 407 Proxy Authentication Required\r\n\r\n'),
    );
    const h = await proxyHarness({ upstreamProxy: `http://127.0.0.1:${port}` });
    const text = await rawRequest(
      h.proxy.port,
      'CONNECT far.example.test:443 HTTP/1.1\r\nHost: far.example.test:443\r\n\r\n',
    );
    expect(text).toMatch(/^HTTP\/1\.1 502 Bad Gateway/);
    expect(text).toContain('407');
    await tunnelsClosed(h, 1);
    expect(h.tunnels[0]!.error?.code).toBe('upstream_proxy_failed');
  });

  it('chains through an https:// upstream proxy, verifying it against the trusted CAs', async (ctx) => {
    needTool(ctx, 'openssl');
    const dir = mkdtempSync(join(tmpdir(), 'loupe-tls-proxy-'));
    try {
      await promisify(execFile)('openssl', [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-days',
        '2',
        '-subj',
        '/CN=test upstream proxy',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ]);
      const cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
      const target = await httpUpstream((_req, res) => res.end('via TLS proxy'));
      const seen: string[] = [];
      const tlsProxy = https.createServer(
        { cert, key: readFileSync(join(dir, 'key.pem')) },
        (req, res) => {
          seen.push(`${req.method} ${req.url}`);
          http.get(
            { host: '127.0.0.1', port: target.port, path: new URL(req.url!).pathname },
            (up) => up.pipe(res),
          );
        },
      );
      await new Promise<void>((resolve) => tlsProxy.listen(0, '127.0.0.1', resolve));
      const proxyPort = (tlsProxy.address() as net.AddressInfo).port;
      try {
        const trusted = await proxyHarness({
          upstreamProxy: `https://127.0.0.1:${proxyPort}`,
          trustedCa: [cert],
        });
        const ok = await viaProxy(trusted.proxy.port, `http://far.example.test:${target.port}/x`);
        expect(ok.body.toString(), ok.body.toString()).toBe('via TLS proxy');
        expect(seen).toEqual([`GET http://far.example.test:${target.port}/x`]);

        const untrusted = await proxyHarness({
          upstreamProxy: `https://127.0.0.1:${proxyPort}`,
          trustedCa: [],
        });
        const refused = await viaProxy(
          untrusted.proxy.port,
          `http://far.example.test:${target.port}/x`,
        );
        expect(refused.status).toBe(502);
        const [ex] = await untrusted.waitFor(1);
        expect(ex!.error?.detail).toMatch(/SELF_SIGNED|UNABLE_TO_VERIFY|DEPTH_ZERO/);
      } finally {
        tlsProxy.closeAllConnections();
        tlsProxy.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses to chain to itself', async () => {
    const port = await deadPort();
    await expect(startProxy({ port, upstreamProxy: `http://127.0.0.1:${port}` })).rejects.toThrow(
      /is this Loupe itself; chaining to it would loop/,
    );
  });
});
