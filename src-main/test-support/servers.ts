/**
 * Real peers for engine tests: upstream servers on loopback port 0, a raw TCP server for hostile
 * upstreams, a small upstream proxy for chaining, a raw-byte client, curl, and an engine with its
 * hook reports collected. Everything started here is closed by `cleanup()` (call it in
 * afterEach), which also fails the test if a hook handler threw.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Exchange, Tunnel } from '../engine/hooks';
import { startProxy, type ProxyOptions, type RunningProxy } from '../engine/index';

const closers: (() => Promise<void>)[] = [];
const hookFailures: unknown[] = [];

/** Closes everything the helpers started; throws if a hook handler threw meanwhile. */
export async function cleanup(): Promise<void> {
  for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
  const failures = hookFailures.splice(0);
  if (failures.length) throw new Error(`a hook handler threw: ${String(failures[0])}`);
}

/** Registers something for `cleanup()` to close (other test-support modules use it). */
export function registerCloser(close: () => Promise<void>): void {
  closers.push(close);
}

/** Listens on port 0 of `host`, rejecting (rather than throwing later) when that fails. */
export function listen(server: net.Server, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => {
      server.removeListener('error', reject);
      resolve((server.address() as net.AddressInfo).port);
    });
  });
}

/** Tracks a server's connections so cleanup can cut them rather than wait for keep-alive. */
export function closeWithCleanup(server: net.Server): void {
  const sockets = new Set<net.Socket>();
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  closers.push(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
}

/** An HTTP upstream on loopback (`::1` when asked); rejects when the address is unavailable. */
export async function httpUpstream(
  handler: http.RequestListener,
  host = '127.0.0.1',
): Promise<{ server: http.Server; port: number }> {
  const server = http.createServer(handler);
  const port = await listen(server, host);
  closeWithCleanup(server);
  return { server, port };
}

/** A TCP server whose connections are handed to `onSocket` (scripted, possibly hostile, bytes). */
export async function rawUpstream(
  onSocket: (socket: net.Socket) => void,
): Promise<{ port: number; connections: () => number }> {
  let count = 0;
  const server = net.createServer((s) => {
    count++;
    s.on('error', () => undefined);
    onSocket(s);
  });
  const port = await listen(server, '127.0.0.1');
  closeWithCleanup(server);
  return { port, connections: () => count };
}

/** What a chaining test's upstream proxy was asked. */
export interface ProxiedRequest {
  method: string;
  /** The request target as received: absolute form, or host:port for CONNECT. */
  url: string;
  rawHeaders: string[];
}

/**
 * A minimal upstream proxy for chaining tests: forwards absolute-form requests (path only) and
 * CONNECT tunnels to the one local `targetPort`, recording each request it received and adding
 * `X-Via-Chain: 1` to the responses it relays.
 */
export async function upstreamProxy(
  targetPort: number,
): Promise<{ port: number; seen: ProxiedRequest[] }> {
  const seen: ProxiedRequest[] = [];
  const { server, port } = await httpUpstream((req, res) => {
    seen.push({ method: req.method!, url: req.url!, rawHeaders: req.rawHeaders });
    const up = http.request(
      {
        host: '127.0.0.1',
        port: targetPort,
        method: req.method,
        // The path as received (URL parsing would normalise it).
        path: req.url!.replace(/^[a-z]+:\/\/[^/?]*/i, '') || '/',
        headers: req.headers,
      },
      (upRes) => {
        res.writeHead(upRes.statusCode!, { ...upRes.headers, 'X-Via-Chain': '1' });
        upRes.pipe(res);
      },
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  server.on('connect', (req, socket: net.Socket, head) => {
    seen.push({ method: 'CONNECT', url: req.url!, rawHeaders: req.rawHeaders });
    const up = net.connect(targetPort, '127.0.0.1', () => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      up.write(head);
      up.pipe(socket);
      socket.pipe(up);
    });
    up.on('error', () => socket.destroy());
    socket.on('error', () => up.destroy());
  });
  return { port, seen };
}

/** Value of the first header called `name` (any case) in a flat raw header array. */
export function rawHeader(rawHeaders: readonly string[], name: string): string | undefined {
  for (let i = 0; i < rawHeaders.length; i += 2)
    if (rawHeaders[i]!.toLowerCase() === name.toLowerCase()) return rawHeaders[i + 1];
  return undefined;
}

export interface Harness {
  proxy: RunningProxy;
  /** Exchanges that finished (response or error), in finishing order. */
  done: Exchange[];
  tunnels: Tunnel[];
  /** Resolves once `n` exchanges have finished; rejects after `timeoutMs` saying what did. */
  waitFor(n: number, timeoutMs?: number): Promise<Exchange[]>;
}

/** Starts the engine in this process and collects what its hooks report. */
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
  proxy.hooks.on('internalError', (err) => void hookFailures.push(err));
  return {
    proxy,
    done,
    tunnels,
    waitFor: (n, timeoutMs = 5000) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          const got = done.map(
            (ex) =>
              `${ex.request.method} ${ex.request.url} ${ex.error?.code ?? ex.response?.status}`,
          );
          reject(
            new Error(`waited for ${n} finished exchanges, got ${done.length}: ${got.join('; ')}`),
          );
        }, timeoutMs);
        const check = (): void => {
          if (done.length < n) return void waiters.push(check);
          clearTimeout(timer);
          resolve(done);
        };
        check();
      }),
  };
}

/**
 * Sends exact bytes to host:port and collects everything (as latin1 text) until the peer closes,
 * `until` matches, or `timeoutMs` passes (which rejects).
 */
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
  const port = await listen(server, '127.0.0.1');
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
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}

export interface CurlResult {
  /** curl's exit code (0 success, 18 partial transfer, 52 empty reply, 56 receive failure…). */
  code: number | null;
  /** Status of the last response head (after any 100 Continue or CONNECT 200). */
  status: number;
  /** Lines of the last response head, without the status line. */
  headers: string[];
  body: Buffer;
  stderr: string;
  /** `--trace-ascii` output: what curl sent and received, in order. */
  trace: string;
}

/** `curl -x PROXY ARGS… URL`, with the response head and a trace captured separately. */
export async function curlVia(
  proxyUrl: string,
  url: string,
  args: string[] = [],
  input?: Buffer,
): Promise<CurlResult> {
  const dir = await mkdtemp(join(tmpdir(), 'loupe-curl-'));
  try {
    const headFile = join(dir, 'head');
    const traceFile = join(dir, 'trace');
    const run = await curl(
      ['-x', proxyUrl, '-D', headFile, '--trace-ascii', traceFile, ...args, url],
      input,
    );
    const heads = (await readFile(headFile, 'latin1').catch(() => '')).split(/\r\n\r\n/);
    const last = heads.filter((h) => h.trim()).at(-1) ?? '';
    const [statusLine = '', ...headers] = last.split('\r\n');
    return {
      code: run.code,
      status: Number(/^HTTP\/[\d.]+ (\d{3})/.exec(statusLine)?.[1] ?? 0),
      headers,
      body: run.stdout,
      stderr: run.stderr,
      trace: await readFile(traceFile, 'latin1').catch(() => ''),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Samples this process's RSS every few ms while `work` runs; resolves with the peak growth. */
export async function peakRssGrowth(work: () => Promise<void>): Promise<number> {
  const before = process.memoryUsage().rss;
  let peak = before;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  return Math.max(peak, process.memoryUsage().rss) - before;
}
