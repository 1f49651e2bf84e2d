/**
 * What the UI specs share: a real `loupe headless --ui-port 0` process (the built renderer from
 * out/renderer), a real upstream on loopback, curl through the proxy, and a factory for the
 * synthetic flows injected to load the table.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FlowSummary } from '../src-common/api/contract';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Hosts the specs use; `--resolve` sends both to the loopback upstream. */
export const HOSTS = ['api.example.test', 'cdn.example.test', 'bank.example.test'] as const;

export interface Loupe {
  proxyUrl: string;
  proxyPort: number;
  /** `http://127.0.0.1:N/?token=…` */
  uiUrl: string;
  uiOrigin: string;
  token: string;
  /** The data directory (ca.pem, settings.json). */
  dataDir: string;
  stderr(): string;
  stop(): Promise<void>;
}

/**
 * Starts `loupe headless` with the UI and resolves once both listening lines are out. `dataDir`
 * runs it on a directory the caller prepared (settings seeded); stop() removes it either way.
 */
export function startLoupe(
  extraArgs: string[] = [],
  opts: { dataDir?: string } = {},
): Promise<Loupe> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'loupe-e2e-'));
  const args = [
    join(ROOT, 'bin/loupe.js'),
    'headless',
    '--port',
    '0',
    '--ui-port',
    '0',
    '--data-dir',
    dataDir,
    ...HOSTS.flatMap((host) => ['--resolve', `${host}=127.0.0.1`]),
    ...extraArgs,
  ];
  const child: ChildProcess = spawn(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LOUPE_NO_BROWSER: '1' },
  });
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d));
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`loupe headless did not start\n${stdout}\n${stderr}`));
    }, 30_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`loupe headless exited with ${code}\n${stdout}\n${stderr}`));
    });
    child.stdout!.on('data', (d: Buffer) => {
      stdout += d;
      const proxy = /^proxy listening on (http:\/\/127\.0\.0\.1:(\d+))$/m.exec(stdout);
      const ui = /^ui listening on (http:\/\/127\.0\.0\.1:\d+)\/\?token=(\S+)$/m.exec(stdout);
      if (!proxy || !ui) return;
      clearTimeout(timer);
      resolve({
        proxyUrl: proxy[1]!,
        proxyPort: Number(proxy[2]),
        uiUrl: `${ui[1]}/?token=${ui[2]}`,
        uiOrigin: ui[1]!,
        token: ui[2]!,
        dataDir,
        stderr: () => stderr,
        async stop() {
          if (child.exitCode === null) child.kill('SIGTERM');
          await exited;
          rmSync(dataDir, { recursive: true, force: true });
        },
      });
    });
  });
}

/** An upstream answering JSON, a 404, a POST echo and an image, on 127.0.0.1. */
export async function startUpstream(): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = (req.url ?? '/').split('?')[0];
      if (path === '/missing') {
        res.writeHead(404, { 'Content-Type': 'text/plain' });
        res.end('not here');
      } else if (path === '/logo.png') {
        res.writeHead(200, { 'Content-Type': 'image/png' });
        res.end(Buffer.alloc(3000, 7));
      } else {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(
          JSON.stringify({ method: req.method, path, received: Buffer.concat(chunks).length }),
        );
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** curl through the proxy; resolves to the body. */
export function curl(proxyUrl: string, url: string, args: string[] = []): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('curl', ['-sS', '--max-time', '10', '-x', proxyUrl, ...args, url], (err, out) =>
      err ? reject(err) : resolve(out),
    );
  });
}

/** A complete synthetic HTTP flow summary, numbered `seq`, for loading the table. */
export function syntheticFlow(seq: number, overrides: Partial<FlowSummary> = {}): FlowSummary {
  const host = `host${seq % 7}.example.test`;
  const status = [200, 201, 304, 404, 500][seq % 5]!;
  return {
    kind: 'http',
    id: `synthetic-${seq}`,
    seq,
    startedAt: Date.UTC(2026, 10, 30, 12, 0, 0) + seq,
    state: 'complete',
    client: { address: '127.0.0.1', port: 40000 + (seq % 1000) },
    request: {
      method: seq % 3 === 0 ? 'POST' : 'GET',
      url: `http://${host}/items/${seq}?page=${seq % 10}`,
      httpVersion: 'HTTP/1.1',
      headers: [['Host', host]],
      trailers: [],
      body: { size: seq % 3 === 0 ? 120 : 0, captured: 0, truncated: false },
    },
    response: {
      status,
      statusText: 'OK',
      httpVersion: 'HTTP/1.1',
      headers: [['Content-Type', 'application/json']],
      trailers: [],
      body: { size: 100 + seq, captured: 0, truncated: false },
    },
    timings: { blocked: 0, dns: 1, connect: 1, ssl: -1, send: 0, wait: 5 + (seq % 50), receive: 1 },
    connection: { clientConnectionId: `c${seq}`, reused: false },
    tags: [],
    ...overrides,
  } as FlowSummary;
}
