/**
 * Real peers for engine tests: upstream servers on loopback port 0, a raw-byte client, a raw TCP
 * server for hostile upstreams, and an engine with its hook reports collected. Everything started
 * here is closed by `cleanup()` (call it in afterEach).
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import type { Exchange, Tunnel } from '../engine/hooks';
import { startProxy, type ProxyOptions, type RunningProxy } from '../engine/index';

const closers: (() => Promise<void>)[] = [];

export async function cleanup(): Promise<void> {
  for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
}

/** An HTTP upstream on loopback; returns its port. */
export async function httpUpstream(
  handler: http.RequestListener,
  host = '127.0.0.1',
): Promise<{ server: http.Server; port: number }> {
  const server = http.createServer(handler);
  const sockets = new Set<net.Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  closers.push(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { server, port: (server.address() as net.AddressInfo).port };
}

/** A TCP server whose connections are handed to `onSocket` (scripted, possibly hostile, bytes). */
export async function rawUpstream(
  onSocket: (socket: net.Socket) => void,
): Promise<{ port: number; connections: () => number }> {
  let count = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    count++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    onSocket(s);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { port: (server.address() as net.AddressInfo).port, connections: () => count };
}

export interface Harness {
  proxy: RunningProxy;
  /** Exchanges that finished (response or error), in finishing order. */
  done: Exchange[];
  tunnels: Tunnel[];
  /** Resolves once `n` exchanges have finished. */
  waitFor(n: number): Promise<Exchange[]>;
}

export async function proxyHarness(opts: ProxyOptions = {}): Promise<Harness> {
  const proxy = await startProxy(opts);
  closers.push(() => proxy.close());
  const done: Exchange[] = [];
  const tunnels: Tunnel[] = [];
  const waiters: (() => void)[] = [];
  const notify = (): void => waiters.splice(0).forEach((w) => w());
  proxy.hooks.on('response', (ex) => (done.push(ex), notify()));
  proxy.hooks.on('error', (ex) => (done.push(ex), notify()));
  proxy.hooks.on('tunnelClose', (t) => (tunnels.push(t), notify()));
  proxy.hooks.on('internalError', (err) => {
    throw err;
  });
  return {
    proxy,
    done,
    tunnels,
    waitFor: (n) =>
      new Promise((resolve) => {
        const check = (): void => (done.length >= n ? resolve(done) : void waiters.push(check));
        check();
      }),
  };
}

/** Sends exact bytes to host:port and collects everything until the peer closes (or `until` matches). */
export function rawRequest(
  port: number,
  bytes: string | Buffer,
  opts: { until?: (text: string) => boolean; timeoutMs?: number } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no complete answer in time; got ${JSON.stringify(text.slice(0, 300))}`));
    }, opts.timeoutMs ?? 5000);
    socket.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      if (opts.until?.(text)) {
        clearTimeout(timer);
        socket.destroy();
        resolve(text);
      }
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(text);
    });
    socket.on('error', () => undefined);
    socket.write(bytes);
  });
}

export interface ProxiedResponse {
  status: number;
  rawHeaders: string[];
  trailers: string[];
  body: Buffer;
}

/** One request through the proxy with Node's http client (absolute form, raw headers as given). */
export function viaProxy(
  proxyPort: number,
  url: string,
  init: { method?: string; headers?: string[]; body?: Buffer | string; agent?: http.Agent } = {},
): Promise<ProxiedResponse> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = http.request({
      host: '127.0.0.1',
      port: proxyPort,
      method: init.method ?? 'GET',
      path: url,
      headers: ['Host', u.host, ...(init.headers ?? [])] as unknown as http.OutgoingHttpHeaders,
      setHost: false,
      agent: init.agent ?? false,
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          rawHeaders: res.rawHeaders,
          trailers: res.rawTrailers,
          body: Buffer.concat(chunks),
        }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

/** A loopback port with nothing listening on it. */
export async function deadPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Runs curl (asynchronously: upstreams in this process must keep answering). */
export function curl(
  args: string[],
  input?: Buffer,
): Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('curl', ['-sS', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out), stderr }));
    child.stdin.end(input);
  });
}
