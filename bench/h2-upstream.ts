/**
 * HTTP/2 upstream benchmark: Loupe's engine from several source trees in one run, every one as
 * `loupe headless` (a separate process, capture on) forwarding to one local HTTP/2 TLS upstream.
 * Measures, per engine:
 *
 * 1. one 100 MiB download at a time: MiB/s, and CPU ms per MiB of the Loupe process (utime +
 *    stime from /proc/PID/stat around each download);
 * 2. requests per second with 50 concurrent 1 KiB requests on one kept-alive HTTP/2 client
 *    connection, and CPU ms per 1,000 requests.
 *
 * The client speaks HTTP/2 to Loupe too (one session per engine, through a CONNECT tunnel), so
 * the upstream connection is the only h2 path that differs. Each engine is `.` (this checkout),
 * a git revision (checked out into a temporary worktree whose node_modules is this checkout's,
 * removed at the end) or a directory holding a source tree; every one runs from its sources with
 * tsx, so the engines differ only in their code. Engines take turns within each round, the order
 * reversed every other round; figures are medians over rounds, and each ratio is an engine's
 * median over the first engine's, with the range of the per-round ratios.
 *
 *   npm run bench:h2      (or: node --import tsx bench/h2-upstream.ts [ENGINE…]; the default,
 *                          `. 25ad9a3~1`, sets this checkout against the engine before HTTP/2
 *                          upstream sessions ran over a frame watcher)
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type http2 from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { HeadlessProcess } from '../src-main/test-support/headless';
import { pump } from '../src-main/test-support/payloads';
import { cleanup } from '../src-main/test-support/servers';
import { h2Upstream, h2ViaProxy, testPki } from '../src-main/test-support/tls';
import {
  cpuMs,
  engineSource,
  fmt,
  median,
  ratio,
  removeWorktrees,
  startEngine,
  type EngineSource,
} from './engines';

const ENGINES = process.argv.length > 2 ? process.argv.slice(2) : ['.', '25ad9a3~1'];
const DOWNLOAD_ROUNDS = 7;
const RATE_ROUNDS = 7;
const RATE_SECONDS = 3;
const CONCURRENCY = 50;
const BIG = 100 * 1024 * 1024;
const SMALL = Buffer.alloc(1024, 'x');
const HOST = 'h2.bench.loupe.test';

/** One engine under test: a source tree, its running `loupe headless` and a client session. */
interface Engine extends EngineSource {
  loupe?: HeadlessProcess;
  session?: http2.ClientHttp2Session;
  mibPerS: number[];
  cpuMsPerMib: number[];
  reqPerS: number[];
  cpuMsPerKiloReq: number[];
}

/** One request on the engine's client session; resolves with the body's size. */
function get(engine: Engine, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const stream = engine.session!.request({ ':path': path, ':authority': HOST });
    let bytes = 0;
    stream.on('response', (headers) => {
      const status = headers[':status'];
      if (status !== 200) reject(new Error(`${engine.name} ${path}: status ${status}`));
    });
    stream.on('data', (d: Buffer) => (bytes += d.length));
    stream.on('end', () => resolve(bytes));
    stream.on('error', reject);
  });
}

/** One 100 MiB download; records MiB/s and the Loupe process's CPU per MiB. */
async function download(engine: Engine, record: boolean): Promise<void> {
  const cpu = cpuMs(engine.loupe!.child.pid!);
  const t = performance.now();
  const bytes = await get(engine, '/big');
  const seconds = (performance.now() - t) / 1000;
  if (bytes !== BIG) throw new Error(`${engine.name}: got ${bytes} of ${BIG} bytes`);
  if (!record) return;
  engine.mibPerS.push(BIG / 1024 / 1024 / seconds);
  engine.cpuMsPerMib.push((cpuMs(engine.loupe!.child.pid!) - cpu) / (BIG / 1024 / 1024));
}

/** CONCURRENCY requests in flight for `seconds`; records requests/s and CPU per 1,000. */
async function rate(engine: Engine, seconds: number, record: boolean): Promise<void> {
  const cpu = cpuMs(engine.loupe!.child.pid!);
  const start = performance.now();
  const deadline = start + seconds * 1000;
  let count = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < deadline) {
        if ((await get(engine, '/small')) !== SMALL.length) throw new Error('short body');
        count++;
      }
    }),
  );
  if (!record) return;
  engine.reqPerS.push(count / ((performance.now() - start) / 1000));
  engine.cpuMsPerKiloReq.push(((cpuMs(engine.loupe!.child.pid!) - cpu) / count) * 1000);
}

function printTable(engines: Engine[]): void {
  const [base] = engines;
  const measures: [string, keyof Engine, boolean][] = [
    ['100 MiB download, MiB/s', 'mibPerS', false],
    ['100 MiB download, Loupe CPU ms per MiB', 'cpuMsPerMib', true],
    [`req/s, ${CONCURRENCY} concurrent 1 KiB requests`, 'reqPerS', false],
    ['req/s run, Loupe CPU ms per 1,000 requests', 'cpuMsPerKiloReq', true],
  ];
  console.log(`| measure | ${engines.map((e) => e.name).join(' | ')} |`);
  console.log(`| --- | ${engines.map(() => '---').join(' | ')} |`);
  for (const [label, key, lowerIsBetter] of measures) {
    const cells = engines.map((engine) => {
      const values = engine[key] as number[];
      if (engine === base) return fmt(median(values));
      return `${fmt(median(values))}: ${ratio(values, base![key] as number[])}`;
    });
    console.log(
      `| ${label} (${lowerIsBetter ? 'lower' : 'higher'} is better) | ${cells.join(' | ')} |`,
    );
  }
}

async function main(): Promise<void> {
  const started = performance.now();
  const engines: Engine[] = [];
  const dataDirs: string[] = [];
  try {
    for (const spec of ENGINES) {
      engines.push({
        ...engineSource(spec),
        mibPerS: [],
        cpuMsPerMib: [],
        reqPerS: [],
        cpuMsPerKiloReq: [],
      });
    }
    const pki = await testPki();
    const chunk = Buffer.alloc(64 * 1024, 'y');
    const { port } = await h2Upstream(pki, (req, res) => {
      if (req.url === '/big') {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': BIG });
        pump(res, chunk, BIG);
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': SMALL.length });
      res.end(SMALL);
    });
    for (const engine of engines) {
      const dataDir = mkdtempSync(join(tmpdir(), 'loupe-bench-h2-data-'));
      dataDirs.push(dataDir);
      const args = ['--port', '0', '--data-dir', dataDir, '--upstream-ca', pki.caFile];
      engine.loupe = await startEngine(engine.root, [...args, '--resolve', `${HOST}=127.0.0.1`]);
      const ca = readFileSync(join(dataDir, 'ca.pem'), 'utf8');
      engine.session = await h2ViaProxy(engine.loupe.port, `${HOST}:${port}`, ca);
      // Warm up: the upstream session, the JIT, the body store.
      await download(engine, false);
      await rate(engine, 1, false);
    }
    const turns = (round: number): Engine[] => (round % 2 ? [...engines].reverse() : engines);
    for (let r = 0; r < DOWNLOAD_ROUNDS; r++) for (const e of turns(r)) await download(e, true);
    for (let r = 0; r < RATE_ROUNDS; r++)
      for (const e of turns(r)) await rate(e, RATE_SECONDS, true);
    printTable(engines);
    console.log(`bench run: ${((performance.now() - started) / 1000).toFixed(0)} s`);
  } finally {
    for (const engine of engines) {
      engine.session?.destroy();
      await engine.loupe?.stop('SIGINT');
    }
    removeWorktrees(engines);
    await cleanup();
    for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
  }
}

await main();
