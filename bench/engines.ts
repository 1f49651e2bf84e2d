/**
 * Engines from source trees, for benches that set one Loupe against another in the same run.
 * An engine is named by a spec: `.` (this checkout, with whatever is uncommitted in it), a
 * directory holding a source tree, or a git revision, checked out into a temporary worktree
 * whose node_modules is this checkout's (never run `tsc -b` in one: it would write this
 * checkout's node_modules/.cache). Every engine runs as `loupe headless` from its sources with
 * tsx, so engines differ only in their code.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HeadlessProcess } from '../src-main/test-support/headless';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Clock ticks per second of /proc/PID/stat's times (USER_HZ; 100 on Linux everywhere). */
const TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }));

/** Where an engine's sources are, and its name in a table. */
export interface EngineSource {
  name: string;
  root: string;
  /** A temporary worktree, removed by `removeWorktrees`. */
  worktree?: boolean;
}

/**
 * Splits `--engine SPEC` pairs out of a bench's arguments; what is left keeps its order.
 */
export function engineArgs(argv: string[]): { engines: string[]; rest: string[] } {
  const engines: string[] = [];
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--engine') {
      const spec = argv[++i];
      if (!spec) throw new Error('--engine needs a tree: ., a directory or a git revision');
      engines.push(spec);
    } else rest.push(argv[i]!);
  }
  return { engines, rest };
}

/** Checks `rev` out into a temporary worktree whose node_modules is this checkout's. */
function worktree(rev: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'loupe-bench-engine-'));
  rmSync(dir, { recursive: true });
  execFileSync('git', ['-C', ROOT, 'worktree', 'add', '--detach', dir, rev], { stdio: 'ignore' });
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

/** Resolves a spec (see the top of this file), making a worktree for a revision. */
export function engineSource(spec: string): EngineSource {
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

/** Removes the temporary worktrees among `sources`. */
export function removeWorktrees(sources: EngineSource[]): void {
  for (const source of sources) {
    if (!source.worktree) continue;
    execFileSync('git', ['-C', ROOT, 'worktree', 'remove', '--force', source.root]);
  }
}

/**
 * Starts `loupe headless ARGS` from the sources under `root` with tsx (startHeadless runs this
 * checkout's bin only); resolves once it listens.
 */
export function startEngine(root: string, args: string[]): Promise<HeadlessProcess> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(
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
    const exited = new Promise<number | null>((r) => child.once('exit', r));
    child.stderr!.on('data', (d: Buffer) => (stderr += d));
    child.stdout!.on('data', (d: Buffer) => {
      stdout += d;
      const m = /^proxy listening on (http:\/\/.+:(\d+))$/m.exec(stdout);
      if (!m) return;
      resolve({
        child,
        url: m[1]!,
        port: Number(m[2]),
        stdout: () => stdout,
        stderr: () => stderr,
        stop: (signal = 'SIGINT') => {
          if (child.exitCode === null) child.kill(signal);
          return exited;
        },
      });
    });
    child.once('exit', (code) =>
      reject(new Error(`loupe headless in ${root} exited with ${code}\n${stdout}${stderr}`)),
    );
  });
}

/** CPU time (user + system) the process has used so far, in ms. */
export function cpuMs(pid: number): number {
  // The command name (field 2) may hold spaces; the fields after it are space-separated.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) / TICKS) * 1000;
}

/** How long a Loupe gets after measured work to finish what it left (spills, collection). */
const SETTLE_MS = 300;

/**
 * Runs `work`; resolves with its result and the CPU ms process `pid` spent on it, the work's
 * aftermath included and so not left to the next measure (NaN without a pid: direct).
 */
export async function withCpu<T>(
  pid: number | undefined,
  work: () => Promise<T>,
): Promise<[T, number]> {
  if (pid === undefined) return [await work(), NaN];
  const before = cpuMs(pid);
  const result = await work();
  await new Promise((r) => setTimeout(r, SETTLE_MS));
  return [result, cpuMs(pid) - before];
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * `values` of each round against `base`'s: the ratio of medians, then the median and range of
 * the per-round ratios (each of two figures taken one after the other, under much the same load).
 */
export function ratio(values: number[], base: number[]): string {
  const perRound = values.map((v, i) => v / base[i]!);
  return (
    `**${(median(values) / median(base)).toFixed(2)}** (per round ${median(perRound).toFixed(2)}, ` +
    `${Math.min(...perRound).toFixed(2)}–${Math.max(...perRound).toFixed(2)})`
  );
}

/** A figure for a table: whole numbers from 100 up, two decimals below. */
export function fmt(n: number): string {
  return n >= 100 ? n.toFixed(0) : n.toFixed(2);
}
