/**
 * Issue 14's memory bounds: the peak RSS growth of `loupe headless --body-memory 32` (a separate
 * process) over its RSS after a warm-up exchange, in the issue's three scenarios
 * (src-main/test-support/memory-scenarios.ts), each run RUNS times with the scenarios taking
 * turns. Prints every run and each scenario's median against the issue's bound, "within" or
 * "over". It reports and does not gate: "over" still exits 0; only a scenario that could not
 * run (its load did not happen as designed) exits 1. Linux only (/proc); elsewhere it says why
 * and exits 0.
 *
 * How far the growth reaches depends on the machine's load (the proxy's buffers fill further
 * while it waits for CPU), which is why only the declined upgrade, far from its bound, is
 * asserted in a test (src-main/headless/memory-bounds.test.ts).
 *
 *   npm run bench:memory     (or: node --import tsx bench/memory-bounds.ts [runs])
 */
import { loadavg } from 'node:os';
import {
  BUDGET,
  declinedUpgrade,
  DOWNLOADS,
  LIMIT,
  MiB,
  SLACK,
  stalledDownloads,
  webSocketFlood,
  WS_MESSAGES,
  type Measured,
} from '../src-main/test-support/memory-scenarios';
import { procStatusMissing } from '../src-main/test-support/proc-memory';
import { cleanup } from '../src-main/test-support/servers';

const RUNS = Number(process.argv[2] ?? 3);

interface Scenario {
  name: string;
  bound: number;
  boundText: string;
  run(): Promise<Measured>;
  growths: number[];
}

const relayBound = `${(BUDGET / MiB).toFixed(0)} MiB budget + ${SLACK / 1e6} MB`;
const scenarios: Scenario[] = [
  {
    name: `WebSocket, ${WS_MESSAGES} deflated messages of 256 KiB`,
    bound: BUDGET + SLACK,
    boundText: relayBound,
    run: webSocketFlood,
    growths: [],
  },
  {
    name: 'declined upgrade, client stopped reading',
    bound: SLACK,
    boundText: `${SLACK / 1e6} MB`,
    run: declinedUpgrade,
    growths: [],
  },
  {
    name: `${DOWNLOADS} endless downloads, clients stopped reading`,
    bound: BUDGET + SLACK,
    boundText: relayBound,
    run: stalledDownloads,
    growths: [],
  },
];

const mib = (n: number): string => `${(n / MiB).toFixed(1)}`;
const verdict = (growth: number, bound: number): string => (growth <= bound ? 'within' : 'over');
const load = (): string =>
  loadavg()
    .map((n) => n.toFixed(2))
    .join(' ');
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

/** What the stuck servers wrote, and whether one reached LIMIT (buffering without end). */
function writtenText(written: number[]): string {
  if (written.length === 0) return '';
  const total = written.reduce((a, b) => a + b, 0);
  const unbounded = written.some((n) => n >= LIMIT);
  return (
    `; servers stuck after ${(total / MiB).toFixed(0)} MiB` +
    (unbounded ? ` (one reached ${LIMIT / MiB} MiB: buffering without end)` : '')
  );
}

const skipped = procStatusMissing();
if (skipped !== undefined) {
  console.log(`skipped: this bench ${skipped}`);
  process.exit(0);
}

console.log(
  `loupe headless --body-memory ${BUDGET / MiB}: peak RSS growth over the RSS after a warm-up ` +
    `exchange (MiB), ${RUNS} runs; load average ${load()} (1, 5, 15 min)`,
);
let failures = 0;
for (let run = 1; run <= RUNS; run++) {
  for (const scenario of scenarios) {
    try {
      const g = await scenario.run();
      scenario.growths.push(g.growth);
      console.log(
        `  run ${run}  ${scenario.name.padEnd(48)} baseline ${mib(g.baseline)}, ` +
          `peak ${mib(g.peak)}, growth ${mib(g.growth)}: ${verdict(g.growth, scenario.bound)}` +
          `${g.peakReset ? '' : ' (peak not reset: counted from start-up)'}${writtenText(g.written)}`,
      );
    } catch (err) {
      failures++;
      console.log(`  run ${run}  ${scenario.name.padEnd(48)} could not run: ${String(err)}`);
    } finally {
      await cleanup();
    }
  }
}

console.log(`medians (load average now ${load()})`);
for (const s of scenarios) {
  if (s.growths.length === 0) continue;
  const m = median(s.growths);
  const over = s.growths.filter((g) => g > s.bound).length;
  console.log(
    `  ${s.name.padEnd(48)} growth ${mib(m)} (${mib(Math.min(...s.growths))}–` +
      `${mib(Math.max(...s.growths))}); bound ${mib(s.bound)} (${s.boundText}): ` +
      `${verdict(m, s.bound)}; runs over: ${over} of ${s.growths.length}`,
  );
}
if (failures > 0) process.exitCode = 1;
