#!/usr/bin/env node
// Entry of the `loupe` command: runs the bundle out/main/loupe.js in plain Node, with no
// TypeScript loader. In a checkout (the sources are there) it first rebuilds out/main, and
// out/renderer for a command that serves the UI, when missing or older than their sources
// (scripts/build-state.js: a stat per source, a few milliseconds), saying so in one line. A
// packaged install has no sources and runs out/ as it is. LOUPE_OUT_DIR names another out/
// folder (tests).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const out = resolve(process.env.LOUPE_OUT_DIR ?? join(root, 'out'));
const [command, ...rest] = process.argv.slice(2);
const servesUi =
  command === 'start' ||
  (command === 'headless' && rest.some((a) => a === '--ui-port' || a.startsWith('--ui-port=')));

/** Exits 1 with one line: what went wrong and how to build. */
function unbuilt(line) {
  process.stderr.write(`loupe: ${line}\n`);
  process.exit(1);
}

if (existsSync(join(root, 'src-main'))) {
  const { staleTargets } = await import('../scripts/build-state.js');
  const stale = staleTargets(root, out, servesUi ? ['main', 'renderer'] : ['main']);
  if (stale.length > 0) {
    const what = stale.map((target) => `out/${target}`).join(' and ');
    process.stderr.write(`loupe: building ${what} (missing or older than the sources)\n`);
    const built = spawnSync(
      process.execPath,
      [join(root, 'scripts/build.js'), ...stale, '--if-stale', '--quiet'],
      { cwd: root, stdio: 'ignore', env: { ...process.env, LOUPE_OUT_DIR: out } },
    );
    if (built.status !== 0) {
      unbuilt(`could not build ${what}; to see why, run \`npm run build\` in ${root}`);
    }
  }
}
const bundle = join(out, 'main/loupe.js');
if (!existsSync(bundle)) unbuilt(`${bundle} is missing; run \`npm run build\` in ${root}`);
await import(pathToFileURL(bundle).href);
