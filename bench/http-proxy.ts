/**
 * HTTP/1.1 forwarding benchmark: requests per second with 50 concurrent keep-alive clients and
 * 1 KiB bodies, throughput of one 50 MiB streamed body, and time to first byte on a fresh
 * connection — each direct to a local upstream and through `loupe headless` (a separate process,
 * as in real use), in the same run. Through Loupe, also the Loupe process's CPU per 10,000
 * requests and per MiB. Targets take turns within each round, the order reversed every other
 * round; figures are medians over rounds. The machine is shared and noisy: read the ratios.
 *
 * Loupe is this checkout's `bin/loupe.js`, or with `--engine SPEC` (repeatable) an engine from a
 * source tree each (`.`, a directory or a git revision: see engines.ts); with two or more, each
 * is also set against the first.
 *
 *   npm run bench            (or: node --import tsx bench/http-proxy.ts [seconds [rounds]] [--engine SPEC]…)
 */
import http from 'node:http';
import net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startHeadless, type HeadlessProcess } from '../src-main/test-support/headless';
import { pump } from '../src-main/test-support/payloads';
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
const SECONDS = Number(ARGS[0] ?? 5);
const RATE_ROUNDS = Number(ARGS[1] ?? 5);
const BIG_ROUNDS = Number(ARGS[1] ?? 7);
const TTFB_ROUNDS = 3;
const TTFB_SAMPLES = 20;
const CONCURRENCY = 50;
const BODY = Buffer.alloc(1024, 'x');
const BIG = 50 * 1024 * 1024;
const BIG_MIB = BIG / 1024 / 1024;

/** A target's figures, one per round. */
interface Figures {
  reqPerS: number[];
  cpuMsPer10kReq: number[];
  mibPerS: number[];
  cpuMsPerMib: number[];
  firstByteMs: number[];
}

/** Direct, or one Loupe. */
interface Target extends Figures {
  name: string;
  agent: http.Agent;
  options(path: string): http.RequestOptions;
  /** Starts a Loupe for this target; none for direct. */
  launch?: () => Promise<HeadlessProcess>;
  loupe?: HeadlessProcess;
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

function request(target: Target, path: string, agent = target.agent): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ ...target.options(path), agent }, (res) => {
      let bytes = 0;
      res.on('data', (d: Buffer) => (bytes += d.length));
      res.on('end', () => resolve(bytes));
    });
    req.on('error', reject);
    req.end();
  });
}

async function requestsPerSecond(target: Target, seconds: number, record = true): Promise<void> {
  const [[count, elapsed], cpu] = await withCpu(target.loupe?.child.pid, async () => {
    const start = performance.now();
    const deadline = start + seconds * 1000;
    let count = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (performance.now() < deadline) {
          await request(target, '/small');
          count++;
        }
      }),
    );
    return [count, (performance.now() - start) / 1000];
  });
  if (!record) return;
  target.reqPerS.push(count / elapsed);
  target.cpuMsPer10kReq.push((cpu / count) * 10_000);
}

async function bigBody(target: Target): Promise<void> {
  const [seconds, cpu] = await withCpu(target.loupe?.child.pid, async () => {
    const start = performance.now();
    const bytes = await request(target, '/big');
    if (bytes !== BIG) throw new Error(`${target.name}: got ${bytes} of ${BIG} bytes`);
    return (performance.now() - start) / 1000;
  });
  target.mibPerS.push(BIG_MIB / seconds);
  target.cpuMsPerMib.push(cpu / BIG_MIB);
}

async function firstByteMs(target: Target): Promise<void> {
  const samples: number[] = [];
  for (let i = 0; i < TTFB_SAMPLES; i++) {
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
  target.firstByteMs.push(median(samples));
}

/**
 * Starts each measure with a fresh Loupe (an empty session) and a new agent: every flow of a
 * req/s run stays in the session, and a larger heap would weigh on the next measure.
 */
async function fresh(targets: Target[], agentOptions: http.AgentOptions): Promise<void> {
  for (const t of targets) {
    t.agent.destroy();
    t.agent = new http.Agent(agentOptions);
    await t.loupe?.stop('SIGINT');
    if (t.launch) t.loupe = await t.launch();
  }
}

function printTable(targets: Target[]): void {
  const [direct, first, ...others] = targets as [Target, Target, ...Target[]];
  const measures: [string, keyof Figures, boolean][] = [
    [`HTTP req/s (${CONCURRENCY} keep-alive clients, 1 KiB)`, 'reqPerS', false],
    ['req/s run, Loupe CPU ms per 10,000 requests', 'cpuMsPer10kReq', true],
    ['50 MiB body, MiB/s', 'mibPerS', false],
    ['50 MiB body, Loupe CPU ms per MiB', 'cpuMsPerMib', true],
    ['time to first byte, new connection, ms', 'firstByteMs', true],
  ];
  const loupes = targets.slice(1);
  console.log(
    `| measure | direct | ${loupes.map((t) => `${t.name}: value (/ direct)`).join(' | ')}` +
      `${others.map((t) => ` | ${t.name} / ${first.name}`).join('')} |`,
  );
  console.log(
    `| --- | --- | ${loupes.map(() => '---').join(' | ')}${others.map(() => ' | ---').join('')} |`,
  );
  for (const [label, key, lowerIsBetter] of measures) {
    const values = (t: Target): number[] => t[key];
    const cpu = Number.isNaN(values(direct)[0]);
    const cells = [
      cpu ? '—' : fmt(median(values(direct))),
      ...loupes.map((t) =>
        cpu
          ? fmt(median(values(t)))
          : `${fmt(median(values(t)))} (${(median(values(t)) / median(values(direct))).toFixed(2)})`,
      ),
      ...others.map((t) => ratio(values(t), values(first))),
    ];
    console.log(
      `| ${label} (${lowerIsBetter ? 'lower' : 'higher'} is better) | ${cells.join(' | ')} |`,
    );
  }
}

async function main(): Promise<void> {
  const started = performance.now();
  const { server, port } = await startUpstream();
  const agentOptions = { keepAlive: true, maxSockets: CONCURRENCY };
  const figures = (): Figures => ({
    reqPerS: [],
    cpuMsPer10kReq: [],
    mibPerS: [],
    cpuMsPerMib: [],
    firstByteMs: [],
  });
  const targets: Target[] = [
    {
      name: 'direct',
      agent: new http.Agent(agentOptions),
      options: (path) => ({ host: '127.0.0.1', port, path }),
      ...figures(),
    },
  ];
  const sources: EngineSource[] = [];
  const dataDirs: string[] = [];
  try {
    for (const spec of ENGINES.length ? ENGINES : [undefined]) {
      const source = spec === undefined ? undefined : engineSource(spec);
      if (source) sources.push(source);
      const dir = mkdtempSync(join(tmpdir(), 'loupe-bench-'));
      dataDirs.push(dir);
      const args = ['--port', '0', '--data-dir', dir];
      const target: Target = {
        name: source?.name ?? 'loupe',
        agent: new http.Agent(agentOptions),
        options: (path) => ({
          host: '127.0.0.1',
          port: target.loupe!.port,
          path: `http://127.0.0.1:${port}${path}`,
          headers: { Host: `127.0.0.1:${port}` },
        }),
        launch: () => (source ? startEngine(source.root, args) : startHeadless(args)),
        ...figures(),
      };
      targets.push(target);
    }
    const turns = (round: number): Target[] => (round % 2 ? [...targets].reverse() : targets);
    // Each measure warms every path up (JIT, pools) first.
    await fresh(targets, agentOptions);
    for (const t of targets) await requestsPerSecond(t, 1, false);
    for (let r = 0; r < RATE_ROUNDS; r++)
      for (const t of turns(r)) await requestsPerSecond(t, SECONDS);
    // One connection per target for the downloads, kept alive across rounds.
    await fresh(targets, { keepAlive: true, maxSockets: 1 });
    for (const t of targets) await request(t, '/big');
    for (let r = 0; r < BIG_ROUNDS; r++) for (const t of turns(r)) await bigBody(t);
    await fresh(targets, agentOptions);
    for (const t of targets) await request(t, '/small');
    for (let r = 0; r < TTFB_ROUNDS; r++) for (const t of turns(r)) await firstByteMs(t);
    printTable(targets);
    console.log(`bench run: ${((performance.now() - started) / 1000).toFixed(0)} s`);
  } finally {
    for (const t of targets) {
      t.agent.destroy();
      await t.loupe?.stop('SIGINT');
    }
    removeWorktrees(sources);
    server.close();
    server.closeAllConnections();
    for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
  }
}

await main();
