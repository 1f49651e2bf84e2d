/**
 * Start-up of `loupe headless`: from spawning the process to its `proxy listening on` line, for
 * the TypeScript sources through tsx (how bin/loupe.js ran before) and for the built bundle
 * through bin/loupe.js (its stale check included), and the bundle run directly beside them. One
 * data directory with its CA made beforehand, one warm-up run each, then rounds that take the
 * ways in turn. Reports medians and the ratio tsx / bin.
 *
 *   npm run bench:startup    (or: node --import tsx bench/startup.ts [rounds])
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const ROUNDS = Number(process.argv[2] ?? 15);
const ROOT = fileURLToPath(new URL('..', import.meta.url));

interface Way {
  name: string;
  args: string[];
  ms: number[];
}

/** Milliseconds from spawn to the listening line; the process is stopped before resolving. */
function startUp(way: Way, dataDir: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(
      process.execPath,
      [...way.args, 'headless', '--port', '0', '--data-dir', dataDir],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    let took: number | undefined;
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.stdout.on('data', (d: Buffer) => {
      stdout += d;
      if (took === undefined && /^proxy listening on /m.test(stdout)) {
        took = performance.now() - started;
        child.kill('SIGINT');
      }
    });
    // Resolved on exit: the next run needs the data directory's lock.
    child.on('exit', (code) => {
      if (took === undefined) reject(new Error(`${way.name} exited with ${code}: ${stderr}`));
      else resolve(took);
    });
  });
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

const ways: Way[] = [
  {
    name: 'tsx (node --import tsx src-main/headless/cli.ts)',
    args: ['--import', 'tsx', 'src-main/headless/cli.ts'],
    ms: [],
  },
  { name: 'built (node bin/loupe.js)', args: ['bin/loupe.js'], ms: [] },
  { name: 'bundle alone (node out/main/loupe.js)', args: ['out/main/loupe.js'], ms: [] },
];
const [tsx, bin] = ways as [Way, Way, Way];

execFileSync(process.execPath, ['scripts/build.js', 'main', '--if-stale', '--quiet'], {
  cwd: ROOT,
  stdio: 'inherit',
});
const dataDir = mkdtempSync(join(tmpdir(), 'loupe-bench-startup-'));
try {
  // The first run makes the CA; each way's first run fills caches (tsx's transform cache too).
  for (const way of ways) await startUp(way, dataDir);
  for (let round = 0; round < ROUNDS; round++) {
    // A different way first in each round, so none always follows the same one.
    for (let i = 0; i < ways.length; i++) {
      const way = ways[(round + i) % ways.length]!;
      way.ms.push(await startUp(way, dataDir));
    }
  }
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}

console.log(`loupe headless, spawn to "proxy listening on", ${ROUNDS} rounds (ms)`);
for (const way of ways) {
  const min = Math.min(...way.ms).toFixed(0);
  const max = Math.max(...way.ms).toFixed(0);
  console.log(`  ${way.name.padEnd(50)} median ${median(way.ms).toFixed(0)} (${min}–${max})`);
}
console.log(`tsx / built: ${(median(tsx.ms) / median(bin.ms)).toFixed(2)}×`);
