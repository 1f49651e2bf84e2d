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
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import type http2 from 'node:http2';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { pump } from '../src-main/test-support/payloads';
import { cleanup } from '../src-main/test-support/servers';
import { h2Upstream, h2ViaProxy, testPki } from '../src-main/test-support/tls';

const ENGINES = process.argv.length > 2 ? process.argv.slice(2) : ['.', '25ad9a3~1'];
const DOWNLOAD_ROUNDS = 7;
const RATE_ROUNDS = 7;
const RATE_SECONDS = 3;
const CONCURRENCY = 50;
const BIG = 100 * 1024 * 1024;
const SMALL = Buffer.alloc(1024, 'x');
const HOST = 'h2.bench.loupe.test';
const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Clock ticks per second of /proc/PID/stat's times (USER_HZ; 100 on Linux everywhere). */
const TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }));

/** One engine under test: a source tree, its running `loupe headless` and a client session. */
interface Engine {
  name: string;
  root: string;
  /** A temporary worktree, removed at the end. */
  worktree?: boolean;
  child?: ChildProcess;
  session?: http2.ClientHttp2Session;
  mibPerS: number[];
  cpuMsPerMib: number[];
  reqPerS: number[];
  cpuMsPerKiloReq: number[];
}

/** Checks `rev` out into a temporary worktree whose node_modules is this checkout's. */
function worktree(rev: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'loupe-bench-h2-'));
  rmSync(dir, { recursive: true });
  execFileSync('git', ['-C', ROOT, 'worktree', 'add', '--detach', dir, rev], { stdio: 'ignore' });
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

/** Where an engine's sources are, and its name in the table (see the top of this file). */
function source(spec: string): { name: string; root: string; worktree?: boolean } {
  if (spec === '.') {
    const head = execFileSync('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD'], {
      encoding: 'utf8',
    }).trim();
    return { name: `this checkout (${head} + changes)`, root: ROOT };
  }
  if (existsSync(join(spec, 'src-main/headless/cli.ts')))
    return { name: spec, root: resolve(spec) };
  const commit = execFileSync('git', ['-C', ROOT, 'rev-parse', '--short', spec], {
    encoding: 'utf8',
  }).trim();
  return { name: `${spec} (${commit})`, root: worktree(spec), worktree: true };
}

/**
 * Starts `loupe headless ARGS` from the sources under `root` with tsx (startHeadless runs this
 * checkout's bin only); resolves with the process and its port once it listens.
 */
function launch(root: string, args: string[]): Promise<{ child: ChildProcess; port: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(root, 'src-main/headless/cli.ts'), 'headless', ...args],
      {
        cwd: root,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, LOUPE_NO_BROWSER: '1' },
      },
    );
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.stdout.on('data', (d: Buffer) => {
      stdout += d;
      const m = /^proxy listening on http:\/\/.+:(\d+)$/m.exec(stdout);
      if (m) resolve({ child, port: Number(m[1]) });
    });
    child.once('exit', (code) =>
      reject(new Error(`loupe headless in ${root} exited with ${code}\n${stdout}${stderr}`)),
    );
  });
}

/** CPU time (user + system) the process has used so far, in ms. */
function cpuMs(pid: number): number {
  // The command name (field 2) may hold spaces; the fields after it are space-separated.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) / TICKS) * 1000;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
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
  const cpu = cpuMs(engine.child!.pid!);
  const t = performance.now();
  const bytes = await get(engine, '/big');
  const seconds = (performance.now() - t) / 1000;
  if (bytes !== BIG) throw new Error(`${engine.name}: got ${bytes} of ${BIG} bytes`);
  if (!record) return;
  engine.mibPerS.push(BIG / 1024 / 1024 / seconds);
  engine.cpuMsPerMib.push((cpuMs(engine.child!.pid!) - cpu) / (BIG / 1024 / 1024));
}

/** CONCURRENCY requests in flight for `seconds`; records requests/s and CPU per 1,000. */
async function rate(engine: Engine, seconds: number, record: boolean): Promise<void> {
  const cpu = cpuMs(engine.child!.pid!);
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
  engine.cpuMsPerKiloReq.push(((cpuMs(engine.child!.pid!) - cpu) / count) * 1000);
}

function printTable(engines: Engine[]): void {
  const [base] = engines;
  const measures: [string, keyof Engine, boolean][] = [
    ['100 MiB download, MiB/s', 'mibPerS', false],
    ['100 MiB download, Loupe CPU ms per MiB', 'cpuMsPerMib', true],
    [`req/s, ${CONCURRENCY} concurrent 1 KiB requests`, 'reqPerS', false],
    ['req/s run, Loupe CPU ms per 1,000 requests', 'cpuMsPerKiloReq', true],
  ];
  const fmt = (n: number): string => (n >= 100 ? n.toFixed(0) : n.toFixed(2));
  console.log(`| measure | ${engines.map((e) => e.name).join(' | ')} |`);
  console.log(`| --- | ${engines.map(() => '---').join(' | ')} |`);
  for (const [label, key, lowerIsBetter] of measures) {
    const cells = engines.map((engine) => {
      const values = engine[key] as number[];
      if (engine === base) return fmt(median(values));
      const baseValues = base![key] as number[];
      const ratios = values.map((v, i) => v / baseValues[i]!);
      return (
        `${fmt(median(values))}: **${(median(values) / median(baseValues)).toFixed(2)}** ` +
        `(${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)})`
      );
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
        ...source(spec),
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
      const { child, port: proxyPort } = await launch(engine.root, [
        ...args,
        '--resolve',
        `${HOST}=127.0.0.1`,
      ]);
      engine.child = child;
      const ca = readFileSync(join(dataDir, 'ca.pem'), 'utf8');
      engine.session = await h2ViaProxy(proxyPort, `${HOST}:${port}`, ca);
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
      if (engine.child && engine.child.exitCode === null) {
        const exited = new Promise((r) => engine.child!.once('exit', r));
        engine.child.kill('SIGINT');
        await exited;
      }
      if (engine.worktree) {
        execFileSync('git', ['-C', ROOT, 'worktree', 'remove', '--force', engine.root]);
      }
    }
    await cleanup();
    for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
  }
}

await main();
