/**
 * vitest's globalSetup: brings out/main and out/renderer up to date once, before any worker
 * starts, so that the suites spawning `loupe` find them fresh instead of each one's bin/loupe.js
 * rebuilding them (it would; builds take turns on a lock, but a test's time would go on it).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export default function setup(): void {
  const built = spawnSync(
    process.execPath,
    ['scripts/build.js', 'main', 'renderer', '--if-stale', '--quiet'],
    { cwd: ROOT, stdio: 'inherit' },
  );
  // As in scripts/test.js: the suites that need out/ then fail and say so; the others run.
  if (built.status !== 0) console.error('the build failed; the tests that need out/ will fail too');
}
