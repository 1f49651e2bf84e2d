#!/usr/bin/env node
// The project's one test command (`npm test`). It builds the app (the UI, Electron main and the
// preload are tested as built), runs the vitest suites, then the Playwright specs in e2e/, and
// prints a closing line `N passed, N failed, N skipped` summed over both, which CI reads. Extra
// arguments go to vitest (e.g. `npm test -- src-main/engine`), and then Playwright is not run.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dir = mkdtempSync(join(tmpdir(), 'loupe-test-'));
const args = process.argv.slice(2);
let passed = 0;
let failed = 0;
let skipped = 0;
let status = 0;

const built = spawnSync(process.execPath, ['scripts/build.js', '--quiet'], { stdio: 'inherit' });
if (built.status !== 0) {
  console.error('the build failed; the tests that need out/ will fail too');
  failed += 1;
}

const vitestReport = join(dir, 'vitest.json');
const vitest = spawnSync(
  process.execPath,
  [
    'node_modules/vitest/vitest.mjs',
    'run',
    '--reporter=default',
    '--reporter=json',
    `--outputFile.json=${vitestReport}`,
    ...args,
  ],
  { stdio: 'inherit' },
);
if (vitest.status !== 0) status = 1;
try {
  const json = JSON.parse(readFileSync(vitestReport, 'utf8'));
  passed += json.numPassedTests;
  failed += json.numFailedTests;
  skipped += json.numPendingTests + json.numTodoTests;
  // A suite that failed to load has no tests counted as failed; count it so the line is honest.
  for (const suite of json.testResults ?? []) {
    if (suite.status === 'failed' && (suite.assertionResults ?? []).length === 0) failed += 1;
  }
} catch {
  failed += 1;
  console.error('vitest wrote no report; counting the run as one failure');
}

const chromium = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
if (args.length > 0) {
  // A focused run (npm test -- some/path) is about vitest only.
} else if (!existsSync(chromium) && process.env.CI !== 'true') {
  console.error(`warning: no Chromium at ${chromium}; the Playwright specs in e2e/ were not run`);
} else {
  const playwrightReport = join(dir, 'playwright.json');
  const playwright = spawnSync(
    process.execPath,
    ['node_modules/@playwright/test/cli.js', 'test', '--reporter=list,json'],
    { stdio: 'inherit', env: { ...process.env, PLAYWRIGHT_JSON_OUTPUT_NAME: playwrightReport } },
  );
  if (playwright.status !== 0) status = 1;
  try {
    const { stats, errors } = JSON.parse(readFileSync(playwrightReport, 'utf8'));
    passed += stats.expected + stats.flaky;
    failed += stats.unexpected;
    skipped += stats.skipped;
    // Errors outside any test (a spec that failed to load, a broken config) count once each.
    failed += (errors ?? []).length;
  } catch {
    failed += 1;
    console.error('Playwright wrote no report; counting the run as one failure');
  }
}

rmSync(dir, { recursive: true, force: true });
if (failed > 0) status = 1;
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(status);
