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
 * 3. requests per second with 50 concurrent keep-alive HTTPS clients and 1 KiB bodies, and the
 *    Loupe process's CPU per 10,000 requests;
 * 4. one 50 MiB HTTPS download, MiB/s and Loupe's CPU per MiB.
 *
 * The upstream serves a certificate per SNI name from its own test CA, minted before timing.
 * Each figure is the median over rounds; direct and Loupe alternate within a round, the order
 * reversed every other round. The machine is shared and noisy: read the ratios.
 *
 * Loupe is this checkout's `bin/loupe.js`, or with `--engine SPEC` (repeatable) an engine from a
 * source tree each (`.`, a directory or a git revision: see engines.ts); with two or more, each
 * is also set against the first.
 *
 *   npm run bench:https  (or: node --import tsx bench/https-proxy.ts [seconds [rounds]] [--engine SPEC]…)
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
import {
  engineArgs,
  engineSource,
  fmt,
  median,
  ratio,
  removeWorktrees,
  startEngine,
  withCpu,
  type EngineSource,
} from './engines';

const { engines: ENGINES, rest: ARGS } = engineArgs(process.argv.slice(2));
/** Seconds of load per round for the keep-alive throughput. */
const SECONDS = Number(ARGS[0] ?? 3);
const ROUNDS = 5;
/** Rounds of the keep-alive throughput and of the download. */
const THROUGHPUT_ROUNDS = Number(ARGS[1] ?? 3);
const DOWNLOAD_ROUNDS = Number(ARGS[1] ?? 5);
const NEW_HOSTS = 200;
const MINTS = 1000;
const CONCURRENCY = 50;
const HANDSHAKE_CLIENTS = 8;
const HANDSHAKE_SECONDS = 1.5;
const CACHED_SAMPLES = 100;
const BODY = Buffer.alloc(1024, 'x');
const BIG = 50 * 1024 * 1024;
const BIG_MIB = BIG / 1024 / 1024;

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

/** One Loupe under test: where it runs from, its data directory and arguments, its process. */
interface Engine {
  name: string;
  source?: EngineSource;
  dataDir: string;
  args: string[];
  loupe?: HeadlessProcess;
  startupMs: number[];
}

/** A measure's figures per round: `values[0]` direct's, then each engine's in order. */
interface Row {
  measure: string;
  values: number[][];
  lowerIsBetter: boolean;
  /** Loupe's own cost: no direct figure. */
  cpu?: boolean;
}

function row(measure: string, targets: number, lowerIsBetter: boolean, cpu = false): Row {
  return { measure, values: Array.from({ length: targets }, () => []), lowerIsBetter, cpu };
}

function printTable(rows: Row[], engines: Engine[], mint: [number, number]): void {
  const others = engines.slice(1);
  console.log(
    `| measure | direct | ${engines.map((e) => `${e.name}: value, / direct (per-round range)`).join(' | ')}` +
      `${others.map((e) => ` | ${e.name} / ${engines[0]!.name}`).join('')} |`,
  );
  console.log(
    `| --- | --- |${engines.map(() => ' --- |').join('')}${others.map(() => ' --- |').join('')}`,
  );
  for (const { measure, values, lowerIsBetter, cpu } of rows) {
    const [direct, first, ...rest] = values as [number[], number[], ...number[][]];
    const cells = [
      cpu ? '—' : fmt(median(direct)),
      ...[first, ...rest].map((v) =>
        cpu ? fmt(median(v)) : `${fmt(median(v))}: ${ratio(v, direct)}`,
      ),
      ...rest.map((v) => ratio(v, first)),
    ];
    console.log(
      `| ${measure} (${lowerIsBetter ? 'lower' : 'higher'} is better) | ${cells.join(' | ')} |`,
    );
  }
  console.log(
    `\nLeafMinter mint + createSecureContext, ${MINTS} names: ${mint[0].toFixed(3)} ms mean, ` +
      `${mint[1].toFixed(3)} ms median`,
  );
  for (const e of engines)
    console.log(`${e.name}: start to listening ${fmt(median(e.startupMs))} ms median`);
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

  const engines: Engine[] = [];
  const launch = async (engine: Engine): Promise<Route> => {
    const t = performance.now();
    const { source, args } = engine;
    engine.loupe = source ? await startEngine(source.root, args) : await startHeadless(args);
    engine.startupMs.push(performance.now() - t);
    const ca = readFileSync(join(engine.dataDir, 'ca.pem'), 'utf8');
    return loupeRoute(engine.loupe.port, port, ca);
  };
  const stop = async (engine: Engine): Promise<void> => {
    await engine.loupe?.stop('SIGINT');
    engine.loupe = undefined;
  };
  const direct = directRoute(port, upstreamCa);
  const agents: https.Agent[] = [];
  try {
    for (const spec of ENGINES.length ? ENGINES : [undefined]) {
      const source = spec === undefined ? undefined : engineSource(spec);
      const dataDir = mkdtempSync(join(tmpdir(), 'loupe-bench-https-'));
      const args = ['--port', '0', '--data-dir', dataDir, '--upstream-ca', pki.caFile];
      for (const name of names) args.push('--resolve', `${name}=127.0.0.1`);
      engines.push({ name: source?.name ?? 'loupe', source, dataDir, args, startupMs: [] });
    }
    const count = engines.length + 1;
    /** Target indexes (0 direct, then the engines) in turn, reversed every other round. */
    const turns = (round: number): number[] => {
      const order = Array.from({ length: count }, (_, i) => i);
      return round % 2 ? order.reverse() : order;
    };
    const rows: Row[] = [];

    // 1. New hosts, a fresh Loupe per round (its CA is created by the first and then reused).
    const newRow = row(`new host: TTFB, ms (median of ${NEW_HOSTS} names)`, count, true);
    for (let r = 0; r < ROUNDS; r++) {
      const routes = [direct];
      for (const engine of engines) {
        const route = await launch(engine);
        // One request to a name outside the set warms the fresh process (JIT, upstream trust).
        await freshConnection(route, warmHost(r));
        routes.push(route);
      }
      await freshConnection(direct, warmHost(ROUNDS));
      for (const i of turns(r)) newRow.values[i]!.push(await newHostsMs(routes[i]!));
      for (const engine of engines) await stop(engine);
    }
    rows.push(newRow);

    // From here each measure starts every Loupe afresh (an empty session): every flow of a
    // measure stays in the session, and a larger heap would weigh on the next measure.
    let routes: Route[] = [];
    let pids: (number | undefined)[] = [];
    const fresh = async (): Promise<void> => {
      routes = [direct];
      for (const engine of engines) {
        await stop(engine);
        routes.push(await launch(engine));
      }
      pids = [undefined, ...engines.map((e) => e.loupe!.child.pid!)];
    };

    // 2. New connections to a host Loupe has already minted for.
    await fresh();
    const hsRate = row(
      `cached host: new TLS connections/s (${HANDSHAKE_CLIENTS} clients, 1 request each)`,
      count,
      false,
    );
    const hsTtfb = row(
      `cached host: TTFB on a new TLS connection, ms (median of ${CACHED_SAMPLES})`,
      count,
      true,
    );
    for (const route of routes) await freshConnection(route, CACHED_HOST);
    for (let r = 0; r < ROUNDS; r++) {
      for (const i of turns(r)) {
        const samples: number[] = [];
        for (let n = 0; n < CACHED_SAMPLES; n++)
          samples.push(await freshConnection(routes[i]!, CACHED_HOST));
        hsTtfb.values[i]!.push(median(samples));
        const perSecond = await rate(HANDSHAKE_CLIENTS, HANDSHAKE_SECONDS, () =>
          freshConnection(routes[i]!, CACHED_HOST),
        );
        hsRate.values[i]!.push(perSecond);
      }
    }
    rows.push(hsTtfb, hsRate);

    // 3. Keep-alive throughput: 50 clients, each on its own connection, kept for the run.
    await fresh();
    const rps = row(
      `req/s, ${CONCURRENCY} keep-alive clients, 1 KiB bodies (${SECONDS} s per round)`,
      count,
      false,
    );
    const rpsCpu = row('req/s run, Loupe CPU ms per 10,000 requests', count, true, true);
    const keepAlive = routes.map((route) => {
      const agent = route.agent({ keepAlive: true, maxSockets: CONCURRENCY });
      agents.push(agent);
      return agent;
    });
    for (const [i, route] of routes.entries())
      await rate(CONCURRENCY, 0.5, () => request(route, keepAlive[i]!, CACHED_HOST, '/small'));
    for (let r = 0; r < THROUGHPUT_ROUNDS; r++) {
      for (const i of turns(r)) {
        let done = 0;
        const [perSecond, cpu] = await withCpu(pids[i], () =>
          rate(CONCURRENCY, SECONDS, async () => {
            await request(routes[i]!, keepAlive[i]!, CACHED_HOST, '/small');
            done++;
          }),
        );
        rps.values[i]!.push(perSecond);
        rpsCpu.values[i]!.push((cpu / done) * 10_000);
      }
    }
    rows.push(rps, rpsCpu);

    // 4. One 50 MiB download at a time on a kept-alive connection.
    await fresh();
    const big = row('50 MiB HTTPS download, MiB/s', count, false);
    const bigCpu = row('50 MiB HTTPS download, Loupe CPU ms per MiB', count, true, true);
    const single = routes.map((route) => {
      const agent = route.agent({ keepAlive: true, maxSockets: 1 });
      agents.push(agent);
      return agent;
    });
    for (const [i, route] of routes.entries())
      await request(route, single[i]!, CACHED_HOST, '/small');
    for (let r = 0; r < DOWNLOAD_ROUNDS; r++) {
      for (const i of turns(r)) {
        const [seconds, cpu] = await withCpu(pids[i], async () => {
          const t = performance.now();
          const { bytes } = await request(routes[i]!, single[i]!, CACHED_HOST, '/big');
          if (bytes !== BIG) throw new Error(`${routes[i]!.name}: got ${bytes} of ${BIG} bytes`);
          return (performance.now() - t) / 1000;
        });
        big.values[i]!.push(BIG_MIB / seconds);
        bigCpu.values[i]!.push(cpu / BIG_MIB);
      }
    }
    rows.push(big, bigCpu);

    printTable(rows, engines, mint);
    console.log(`bench run: ${((performance.now() - started) / 1000).toFixed(0)} s`);
  } finally {
    for (const agent of agents) agent.destroy();
    for (const engine of engines) await stop(engine);
    removeWorktrees(engines.flatMap((e) => (e.source ? [e.source] : [])));
    await cleanup();
    for (const engine of engines) rmSync(engine.dataDir, { recursive: true, force: true });
  }
}

await main();
