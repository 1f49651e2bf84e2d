/**
 * HTTPS interception benchmark: what decrypting costs against the same client speaking TLS
 * directly to a local upstream, in one run. Loupe runs as `loupe headless` (a separate process,
 * capture on, as in real use); the clients and the upstream share this process. Measures:
 *
 * 1. new host: time to first byte for sequential requests to names never seen before, each a
 *    full TLS handshake (direct) or CONNECT + a leaf minted for the name + a new upstream
 *    connection (through a fresh Loupe); plus LeafMinter's mint + secure context alone;
 * 2. cached host: new TLS connections (no keep-alive, no session resumption) to a host Loupe
 *    already has a leaf for: handshakes per second with 8 concurrent clients, and TTFB;
 * 3. requests per second with 50 concurrent keep-alive HTTPS clients and 1 KiB bodies;
 * 4. one 50 MiB HTTPS download, MiB/s.
 *
 * The upstream serves a certificate per SNI name from its own test CA, minted before timing.
 * Each figure is the median over rounds; direct and Loupe alternate within a round. The machine
 * is shared and noisy: read the ratios.
 *
 *   npm run bench:https      (or: node --import tsx bench/https-proxy.ts [seconds])
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { LeafMinter } from '../src-main/certs/leaf';
import { startHeadless, type HeadlessProcess } from '../src-main/test-support/headless';
import { pump } from '../src-main/test-support/payloads';
import { cleanup } from '../src-main/test-support/servers';
import { connectTunnel, httpsUpstream, testPki } from '../src-main/test-support/tls';

/** Seconds of load per round for the keep-alive throughput. */
const SECONDS = Number(process.argv[2] ?? 3);
const ROUNDS = 5;
const THROUGHPUT_ROUNDS = 3;
const NEW_HOSTS = 200;
const MINTS = 1000;
const CONCURRENCY = 50;
const HANDSHAKE_CLIENTS = 8;
const HANDSHAKE_SECONDS = 1.5;
const CACHED_SAMPLES = 100;
const BODY = Buffer.alloc(1024, 'x');
const BIG = 50 * 1024 * 1024;

const DOMAIN = 'bench.loupe.test';
const newHost = (i: number): string => `n${i}.${DOMAIN}`;
const warmHost = (round: number): string => `warm${round}.${DOMAIN}`;
const CACHED_HOST = `cached.${DOMAIN}`;

/** Speaks TLS to the server named by a request's `host` inside a CONNECT tunnel through Loupe. */
class TunnelAgent extends https.Agent {
  constructor(
    private readonly proxyPort: number,
    options: https.AgentOptions,
  ) {
    super(options);
  }

  override createConnection(
    options: https.RequestOptions,
    done?: (err: Error | null, stream: Duplex) => void,
  ): undefined {
    connectTunnel(this.proxyPort, `${options.host}:${options.port}`).then(
      (socket) => done?.(null, tls.connect({ ...(options as tls.ConnectionOptions), socket })),
      (err: Error) => done?.(err, undefined as unknown as Duplex),
    );
    return undefined;
  }
}

/** How a client reaches the upstream for a host name: direct to its port, or through Loupe. */
interface Route {
  name: string;
  agent(options: https.AgentOptions): https.Agent;
  options(host: string, path: string): https.RequestOptions;
}

function directRoute(port: number, ca: string): Route {
  return {
    name: 'direct',
    agent: (options) => new https.Agent(options),
    options: (host, path) => ({
      host: '127.0.0.1',
      port,
      servername: host,
      path,
      ca,
      ALPNProtocols: ['http/1.1'],
      headers: { Host: `${host}:${port}` },
    }),
  };
}

function loupeRoute(proxyPort: number, port: number, ca: string): Route {
  return {
    name: 'loupe',
    agent: (options) => new TunnelAgent(proxyPort, options),
    options: (host, path) => ({
      host,
      port,
      servername: host,
      path,
      ca,
      ALPNProtocols: ['http/1.1'],
      headers: { Host: `${host}:${port}` },
    }),
  };
}

/** One request; resolves with the body size and the ms from the call to the first body byte. */
function request(
  route: Route,
  agent: https.Agent,
  host: string,
  path: string,
): Promise<{ bytes: number; firstByteMs: number }> {
  const start = performance.now();
  return new Promise((resolve, reject) => {
    const req = https.request({ ...route.options(host, path), agent }, (res) => {
      let bytes = 0;
      let firstByteMs = 0;
      res.on('data', (d: Buffer) => {
        if (bytes === 0) firstByteMs = performance.now() - start;
        bytes += d.length;
      });
      res.on('end', () =>
        res.statusCode === 200
          ? resolve({ bytes, firstByteMs })
          : reject(new Error(`${route.name} ${host}${path}: status ${res.statusCode}`)),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** A request on a connection of its own: full handshake, no keep-alive, no session reuse. */
async function freshConnection(route: Route, host: string): Promise<number> {
  const agent = route.agent({ keepAlive: false, maxCachedSessions: 0 });
  try {
    return (await request(route, agent, host, '/small')).firstByteMs;
  } finally {
    agent.destroy();
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Runs `work` in `clients` concurrent loops for `seconds`; resolves with completions per s. */
async function rate(
  clients: number,
  seconds: number,
  work: () => Promise<unknown>,
): Promise<number> {
  const deadline = performance.now() + seconds * 1000;
  let count = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < deadline) {
        await work();
        count++;
      }
    }),
  );
  return count / ((performance.now() - start) / 1000);
}

/** Median TTFB over NEW_HOSTS names, each the first request for that name. */
async function newHostsMs(route: Route): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < NEW_HOSTS; i++) samples.push(await freshConnection(route, newHost(i)));
  return median(samples);
}

/** Mint + secure context per new name, ms: [mean, median] over MINTS names of a fresh minter. */
function mintCost(minter: LeafMinter): [number, number] {
  for (let i = 0; i < 20; i++) minter.contextFor(`jit${i}.${DOMAIN}`);
  const samples: number[] = [];
  const start = performance.now();
  for (let i = 0; i < MINTS; i++) {
    const t = performance.now();
    minter.contextFor(`m${i}.${DOMAIN}`);
    samples.push(performance.now() - t);
  }
  return [(performance.now() - start) / MINTS, median(samples)];
}

interface Row {
  measure: string;
  direct: number[];
  loupe: number[];
  lowerIsBetter: boolean;
}

function printTable(rows: Row[], mint: [number, number], startupMs: number[]): void {
  const fmt = (n: number): string => (n >= 100 ? n.toFixed(0) : n.toFixed(2));
  console.log('| measure | direct | through Loupe | Loupe / direct (median; per-round range) |');
  console.log('| --- | --- | --- | --- |');
  for (const row of rows) {
    const ratios = row.loupe.map((p, i) => p / row.direct[i]!);
    const range = `${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}`;
    console.log(
      `| ${row.measure} | ${fmt(median(row.direct))} | ${fmt(median(row.loupe))} | ` +
        `${(median(row.loupe) / median(row.direct)).toFixed(2)} (${range}; ` +
        `${row.lowerIsBetter ? 'lower' : 'higher'} is better) |`,
    );
  }
  console.log(
    `\nLeafMinter mint + createSecureContext, ${MINTS} names: ${mint[0].toFixed(3)} ms mean, ` +
      `${mint[1].toFixed(3)} ms median`,
  );
  console.log(`loupe headless start to listening: ${fmt(median(startupMs))} ms median`);
}

async function main(): Promise<void> {
  const started = performance.now();
  const pki = await testPki();
  const upstreamCa = readFileSync(pki.caFile, 'utf8');
  const chunk = Buffer.alloc(64 * 1024, 'y');
  const { server, port } = await httpsUpstream(pki, (req, res) => {
    if (req.url === '/big') {
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': BIG });
      pump(res, chunk, BIG);
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': BODY.length });
    res.end(BODY);
  });
  server.keepAliveTimeout = 60_000;
  const names = [
    CACHED_HOST,
    ...Array.from({ length: NEW_HOSTS }, (_, i) => newHost(i)),
    ...Array.from({ length: ROUNDS + 1 }, (_, r) => warmHost(r)),
  ];
  // The upstream's own minting is not what is measured.
  for (const name of names) pki.minter.contextFor(name);

  const mint = mintCost(new LeafMinter(pki.ca, { cacheSize: MINTS * 2 }));

  const dataDir = mkdtempSync(join(tmpdir(), 'loupe-bench-https-'));
  const args = ['--port', '0', '--data-dir', dataDir, '--upstream-ca', pki.caFile];
  for (const name of names) args.push('--resolve', `${name}=127.0.0.1`);
  const startupMs: number[] = [];
  const launch = async (): Promise<HeadlessProcess> => {
    const t = performance.now();
    const loupe = await startHeadless(args);
    startupMs.push(performance.now() - t);
    return loupe;
  };
  const direct = directRoute(port, upstreamCa);
  let loupe: HeadlessProcess | undefined;
  const agents: https.Agent[] = [];
  try {
    const rows: Row[] = [];

    // 1. New hosts, a fresh Loupe per round (its CA is created by the first and then reused).
    const newRow: Row = {
      measure: `new host: TTFB, ms (median of ${NEW_HOSTS} names)`,
      direct: [],
      loupe: [],
      lowerIsBetter: true,
    };
    for (let r = 0; r < ROUNDS; r++) {
      loupe = await launch();
      const route = loupeRoute(loupe.port, port, readFileSync(join(dataDir, 'ca.pem'), 'utf8'));
      // One request to a name outside the set warms the fresh process (JIT, upstream trust).
      await freshConnection(route, warmHost(r));
      await freshConnection(direct, warmHost(ROUNDS));
      newRow.direct.push(await newHostsMs(direct));
      newRow.loupe.push(await newHostsMs(route));
      await loupe.stop('SIGINT');
      loupe = undefined;
    }
    rows.push(newRow);

    loupe = await launch();
    const proxied = loupeRoute(loupe.port, port, readFileSync(join(dataDir, 'ca.pem'), 'utf8'));
    const routes = [direct, proxied];

    // 2. New connections to a host Loupe has already minted for.
    const hsRate: Row = {
      measure: `cached host: new TLS connections/s (${HANDSHAKE_CLIENTS} clients, 1 request each)`,
      direct: [],
      loupe: [],
      lowerIsBetter: false,
    };
    const hsTtfb: Row = {
      measure: `cached host: TTFB on a new TLS connection, ms (median of ${CACHED_SAMPLES})`,
      direct: [],
      loupe: [],
      lowerIsBetter: true,
    };
    for (const route of routes) await freshConnection(route, CACHED_HOST);
    for (let r = 0; r < ROUNDS; r++) {
      for (const route of routes) {
        const samples: number[] = [];
        for (let i = 0; i < CACHED_SAMPLES; i++)
          samples.push(await freshConnection(route, CACHED_HOST));
        (route === direct ? hsTtfb.direct : hsTtfb.loupe).push(median(samples));
        const perSecond = await rate(HANDSHAKE_CLIENTS, HANDSHAKE_SECONDS, () =>
          freshConnection(route, CACHED_HOST),
        );
        (route === direct ? hsRate.direct : hsRate.loupe).push(perSecond);
      }
    }
    rows.push(hsTtfb, hsRate);

    // 3. Keep-alive throughput: 50 clients, each on its own connection, kept for the run.
    const rps: Row = {
      measure: `req/s, ${CONCURRENCY} keep-alive clients, 1 KiB bodies (${SECONDS} s per round)`,
      direct: [],
      loupe: [],
      lowerIsBetter: false,
    };
    const keepAlive = new Map<Route, https.Agent>();
    for (const route of routes) {
      const agent = route.agent({ keepAlive: true, maxSockets: CONCURRENCY });
      agents.push(agent);
      keepAlive.set(route, agent);
      await rate(CONCURRENCY, 0.5, () => request(route, agent, CACHED_HOST, '/small'));
    }
    for (let r = 0; r < THROUGHPUT_ROUNDS; r++) {
      for (const route of routes) {
        const agent = keepAlive.get(route)!;
        const perSecond = await rate(CONCURRENCY, SECONDS, () =>
          request(route, agent, CACHED_HOST, '/small'),
        );
        (route === direct ? rps.direct : rps.loupe).push(perSecond);
      }
    }
    rows.push(rps);

    // 4. One 50 MiB download at a time on a kept-alive connection.
    const big: Row = {
      measure: '50 MiB HTTPS download, MiB/s',
      direct: [],
      loupe: [],
      lowerIsBetter: false,
    };
    const single = new Map<Route, https.Agent>();
    for (const route of routes) {
      const agent = route.agent({ keepAlive: true, maxSockets: 1 });
      agents.push(agent);
      single.set(route, agent);
      await request(route, agent, CACHED_HOST, '/small');
    }
    for (let r = 0; r < ROUNDS; r++) {
      for (const route of routes) {
        const t = performance.now();
        const { bytes } = await request(route, single.get(route)!, CACHED_HOST, '/big');
        if (bytes !== BIG) throw new Error(`${route.name}: got ${bytes} of ${BIG} bytes`);
        (route === direct ? big.direct : big.loupe).push(
          BIG / 1024 / 1024 / ((performance.now() - t) / 1000),
        );
      }
    }
    rows.push(big);

    printTable(rows, mint, startupMs);
    console.log(`bench run: ${((performance.now() - started) / 1000).toFixed(0)} s`);
  } finally {
    for (const agent of agents) agent.destroy();
    await loupe?.stop('SIGINT');
    await cleanup();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
