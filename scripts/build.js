#!/usr/bin/env node
// `npm run build`: bundles what a package ships into out/ (no packaging):
//   out/main/loupe.js         the `loupe` command (headless, ca) for plain Node; bin/loupe.js runs it
//   out/main/har-import-worker.js, out/electron/har-import-worker.cjs
//                             HAR import's worker thread, found beside the bundle that starts it
//   out/renderer/             the React UI: index.html, app.js, app.css
//   out/electron/main.cjs     Electron main (the engine plus the window); `electron` stays external
//   out/preload/preload.cjs   the sandboxed preload; it may require only `electron`
// Everything runs built; only tests and benches run TypeScript directly (vitest, tsx).
//
// `node scripts/build.js renderer` builds one target (several may be named); with `--if-stale`
// only those missing or older than their sources. Each target leaves out/<target>.inputs.json
// for that check (build-state.js), which bin/loupe.js and the tests' globalSetup make too.
// Files are written under a temporary name and renamed into place, and builds of one out/
// folder take turns (out/.build.lock), so a `loupe` starting meanwhile never loads half a
// bundle and two stale checks never build over each other. LOUPE_OUT_DIR builds elsewhere.
import { build } from 'esbuild';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { manifestPath, staleTargets } from './build-state.js';

const OUT = resolve(process.env.LOUPE_OUT_DIR ?? 'out');
const named = process.argv.slice(2).filter((arg) => !arg.startsWith('--'));
const quiet = process.argv.includes('--quiet');
const ifStale = process.argv.includes('--if-stale');
const logLevel = quiet ? 'warning' : 'info';

// A file's modification time comes from the kernel's coarse clock, up to a tick behind
// Date.now(): builtAt is taken this much earlier, so a source saved as the build starts is stale.
const CLOCK_SLACK_MS = 50;

// Electron main is CommonJS so that tests can load it with a stand-in `electron` module;
// import.meta.url is given the bundle's own file URL.
const cjsMeta = {
  banner: { js: "const __loupeMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
  define: { 'import.meta.url': '__loupeMetaUrl' },
};

/** Runs esbuild in memory; resolves to the files to write and the inputs it read. */
async function bundle(options) {
  const result = await build({ ...options, write: false, metafile: true, logLevel });
  return {
    files: result.outputFiles.map((file) => ({ path: file.path, contents: file.contents })),
    inputs: Object.keys(result.metafile.inputs),
  };
}

const merge = (parts) => ({
  files: parts.flatMap((part) => part.files),
  inputs: parts.flatMap((part) => part.inputs),
});

const targets = {
  main: () =>
    bundle({
      entryPoints: {
        'main/loupe': 'src-main/headless/cli.ts',
        'main/har-import-worker': 'src-main/services/har-import-worker.ts',
      },
      outdir: OUT,
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'esm',
      packages: 'external',
      sourcemap: true,
    }),
  renderer: async () => {
    const ui = {
      outdir: join(OUT, 'renderer'),
      bundle: true,
      platform: 'browser',
      target: 'chrome120',
      // A classic script: module scripts are refused on file:// pages, which Electron loads.
      format: 'iife',
      minify: true,
      sourcemap: true,
    };
    const page = 'src-renderer/index.html';
    return merge([
      await bundle({
        ...ui,
        entryPoints: { app: 'src-renderer/main.tsx' },
        jsx: 'automatic',
        define: { 'process.env.NODE_ENV': '"production"' },
      }),
      // The inspector's formatter runs in a Web Worker: its own classic script beside app.js.
      await bundle({
        ...ui,
        entryPoints: { 'format-worker': 'src-renderer/features/inspector/format-worker.ts' },
      }),
      {
        files: [{ path: join(OUT, 'renderer/index.html'), contents: readFileSync(page) }],
        inputs: [page],
      },
    ]);
  },
  electron: async () => {
    if (!existsSync('src-main/electron/main.ts')) return { files: [], inputs: [] };
    // Both run in Electron's Node; `electron` is provided by the runtime.
    const electronBundle = {
      outdir: OUT,
      outExtension: { '.js': '.cjs' },
      bundle: true,
      platform: 'node',
      target: 'node22',
      format: 'cjs',
      external: ['electron'],
    };
    return merge([
      await bundle({
        ...electronBundle,
        entryPoints: { 'electron/main': 'src-main/electron/main.ts' },
        sourcemap: true,
        ...cjsMeta,
      }),
      await bundle({
        ...electronBundle,
        entryPoints: { 'electron/har-import-worker': 'src-main/services/har-import-worker.ts' },
        sourcemap: true,
      }),
      await bundle({
        ...electronBundle,
        entryPoints: { 'preload/preload': 'src-preload/preload.ts' },
        sourcemap: 'inline',
      }),
    ]);
  },
};

/** Replaces `path` whole: a reader sees the old file or the new one, never a part. */
function writeAtomic(path, contents) {
  mkdirSync(dirname(path), { recursive: true });
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, contents);
  renameSync(temp, path);
}

async function buildTarget(name) {
  const builtAt = Date.now() - CLOCK_SLACK_MS;
  const { files, inputs } = await targets[name]();
  if (files.length === 0) return;
  for (const file of files) writeAtomic(file.path, file.contents);
  // Last, so that a build stopped half-way leaves the target stale.
  const manifest = {
    builtAt,
    inputs: [...new Set([...inputs, 'scripts/build.js'])].filter((f) => existsSync(f)).sort(),
    outputs: files.map((file) => relative(OUT, file.path)),
  };
  writeAtomic(manifestPath(OUT, name), `${JSON.stringify(manifest, null, 1)}\n`);
}

/** Whether the pid written in `lock` is a live process (a lock just created may be empty). */
function holderAlive(lock) {
  let pid;
  try {
    pid = Number(readFileSync(lock, 'utf8'));
  } catch {
    return true;
  }
  if (!pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

/** Runs `work` holding out/.build.lock; waits while a live build holds it. */
async function withBuildLock(work) {
  mkdirSync(OUT, { recursive: true });
  const lock = join(OUT, '.build.lock');
  for (;;) {
    try {
      writeFileSync(lock, String(process.pid), { flag: 'wx' });
      break;
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
    }
    // A build that was killed leaves its lock behind; its pid tells.
    if (holderAlive(lock)) await sleep(50);
    else rmSync(lock, { force: true });
  }
  try {
    await work();
  } finally {
    rmSync(lock, { force: true });
  }
}

const unknown = named.filter((name) => !(name in targets));
if (unknown.length > 0) {
  console.error(`build: unknown target ${unknown.join(', ')}; targets: ${Object.keys(targets)}`);
  process.exit(2);
}
await withBuildLock(async () => {
  const chosen = named.length > 0 ? named : Object.keys(targets);
  // Checked under the lock: a build that held it may just have made these fresh.
  for (const name of ifStale ? staleTargets(process.cwd(), OUT, chosen) : chosen) {
    await buildTarget(name);
  }
});
