/**
 * HTTP/1.1 forwarding benchmark: requests per second with 50 concurrent keep-alive clients and
 * 1 KiB bodies, throughput of one 50 MiB streamed body, and time to first byte on a fresh
 * connection — each direct to a local upstream and through `loupe headless` (a separate process,
 * as in real use), in the same run. The machine is shared and noisy: read the ratios.
 *
 *   npm run bench            (or: node --import tsx bench/http-proxy.ts [seconds])
 */
import http from 'node:http';
import net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startHeadless } from '../src-main/test-support/headless';
import { pump } from '../src-main/test-support/payloads';

const SECONDS = Number(process.argv[2] ?? 5);
const CONCURRENCY = 50;
const BODY = Buffer.alloc(1024, 'x');
const BIG = 50 * 1024 * 1024;

interface Target {
  name: string;
  agent: http.Agent;
  options(path: string): http.RequestOptions;
}

function startUpstream(): Promise<{ server: http.Server; port: number }> {
  const chunk = Buffer.alloc(64 * 1024, 'y');
  const server = http.createServer((req, res) => {
    if (req.url === '/big') {
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': BIG });
      pump(res, chunk, BIG);
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': BODY.length });
    res.end(BODY);
  });
  server.keepAliveTimeout = 60_000;
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ server, port: (server.address() as net.AddressInfo).port }),
    ),
  );
}

function request(target: Target, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ ...target.options(path), agent: target.agent }, (res) => {
      let bytes = 0;
      res.on('data', (d: Buffer) => (bytes += d.length));
      res.on('end', () => resolve(bytes));
    });
    req.on('error', reject);
    req.end();
  });
}

async function requestsPerSecond(target: Target): Promise<number> {
  const deadline = performance.now() + SECONDS * 1000;
  let count = 0;
  const worker = async (): Promise<void> => {
    while (performance.now() < deadline) {
      await request(target, '/small');
      count++;
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return count / ((performance.now() - start) / 1000);
}

/** Median of 5 downloads of the 50 MiB body, in MiB/s. */
async function bigBodyMiBs(target: Target): Promise<number> {
  const rates: number[] = [];
  for (let i = 0; i < 5; i++) {
    const start = performance.now();
    const bytes = await request(target, '/big');
    if (bytes !== BIG) throw new Error(`${target.name}: got ${bytes} of ${BIG} bytes`);
    rates.push(BIG / 1024 / 1024 / ((performance.now() - start) / 1000));
  }
  return rates.sort((a, b) => a - b)[2]!;
}

async function firstByteMs(target: Target): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < 20; i++) {
    const agent = new http.Agent({ keepAlive: false });
    const start = performance.now();
    await new Promise<void>((resolve, reject) => {
      const req = http.request({ ...target.options('/small'), agent }, (res) => {
        res.once('data', () => samples.push(performance.now() - start));
        res.on('end', resolve);
        res.resume();
      });
      req.on('error', reject);
      req.end();
    });
    agent.destroy();
  }
  samples.sort((a, b) => a - b);
  return samples[samples.length >> 1]!;
}

async function main(): Promise<void> {
  const { server, port } = await startUpstream();
  const dir = mkdtempSync(join(tmpdir(), 'loupe-bench-'));
  const loupe = await startHeadless(['--port', '0', '--data-dir', dir]);
  const agentOptions = { keepAlive: true, maxSockets: CONCURRENCY };
  const direct: Target = {
    name: 'direct',
    agent: new http.Agent(agentOptions),
    options: (path) => ({ host: '127.0.0.1', port, path }),
  };
  const proxied: Target = {
    name: 'loupe',
    agent: new http.Agent(agentOptions),
    options: (path) => ({
      host: '127.0.0.1',
      port: loupe.port,
      path: `http://127.0.0.1:${port}${path}`,
      headers: { Host: `127.0.0.1:${port}` },
    }),
  };
  try {
    const rows: [string, number, number, string][] = [];
    // Warm up both paths (JIT, pools) before measuring.
    await request(direct, '/small');
    await request(proxied, '/small');
    const d1 = await requestsPerSecond(direct);
    const p1 = await requestsPerSecond(proxied);
    rows.push(['HTTP req/s (50 keep-alive clients, 1 KiB)', d1, p1, 'higher is better']);
    const d2 = await bigBodyMiBs(direct);
    const p2 = await bigBodyMiBs(proxied);
    rows.push(['50 MiB body, MiB/s (median of 5)', d2, p2, 'higher is better']);
    const d3 = await firstByteMs(direct);
    const p3 = await firstByteMs(proxied);
    rows.push(['time to first byte, new connection, ms (median of 20)', d3, p3, 'lower is better']);
    console.log(`| measure | direct | through Loupe | Loupe / direct |`);
    console.log(`| --- | --- | --- | --- |`);
    for (const [name, d, p, note] of rows) {
      console.log(
        `| ${name} | ${d.toFixed(1)} | ${p.toFixed(1)} | ${(p / d).toFixed(2)} (${note}) |`,
      );
    }
  } finally {
    direct.agent.destroy();
    proxied.agent.destroy();
    await loupe.stop('SIGINT');
    server.close();
    server.closeAllConnections();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
