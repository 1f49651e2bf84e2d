#!/usr/bin/env node
// `npm run build`: bundles what a package ships into out/ (no packaging):
//   out/main/loupe.js         the `loupe` command (headless, ca) for plain Node
//   out/main/har-import-worker.js, out/electron/har-import-worker.cjs
//                             HAR import's worker thread, found beside the bundle that starts it
//   out/renderer/             the React UI: index.html, app.js, app.css
//   out/electron/main.cjs     Electron main (the engine plus the window); `electron` stays external
//   out/preload/preload.cjs   the sandboxed preload; it may require only `electron`
// Development runs the TypeScript sources through tsx; the UI and Electron always run built.
// `node scripts/build.js renderer` builds only the UI (what the tests need).
import { build } from 'esbuild';
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';

const only = process.argv.slice(2).find((arg) => !arg.startsWith('--'));
const quiet = process.argv.includes('--quiet');
const logLevel = quiet ? 'warning' : 'info';

// Electron main is CommonJS so that tests can load it with a stand-in `electron` module;
// import.meta.url is given the bundle's own file URL.
const cjsMeta = {
  banner: { js: "const __loupeMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
  define: { 'import.meta.url': '__loupeMetaUrl' },
};

const targets = {
  main: () =>
    build({
      entryPoints: {
        'main/loupe': 'src-main/headless/cli.ts',
        'main/har-import-worker': 'src-main/services/har-import-worker.ts',
      },
      outdir: 'out',
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'esm',
      packages: 'external',
      sourcemap: true,
      logLevel,
    }),
  renderer: async () => {
    mkdirSync('out/renderer', { recursive: true });
    await build({
      entryPoints: { app: 'src-renderer/main.tsx' },
      outdir: 'out/renderer',
      bundle: true,
      platform: 'browser',
      target: 'chrome120',
      // A classic script: module scripts are refused on file:// pages, which Electron loads.
      format: 'iife',
      jsx: 'automatic',
      minify: true,
      sourcemap: true,
      define: { 'process.env.NODE_ENV': '"production"' },
      logLevel,
    });
    // The inspector's formatter runs in a Web Worker: its own classic script beside app.js.
    await build({
      entryPoints: { 'format-worker': 'src-renderer/features/inspector/format-worker.ts' },
      outdir: 'out/renderer',
      bundle: true,
      platform: 'browser',
      target: 'chrome120',
      format: 'iife',
      minify: true,
      sourcemap: true,
      logLevel,
    });
    copyFileSync('src-renderer/index.html', 'out/renderer/index.html');
  },
  electron: async () => {
    if (!existsSync('src-main/electron/main.ts')) return;
    // Both run in Electron's Node; `electron` is provided by the runtime.
    const electronBundle = {
      outdir: 'out',
      outExtension: { '.js': '.cjs' },
      bundle: true,
      platform: 'node',
      target: 'node22',
      format: 'cjs',
      external: ['electron'],
      logLevel,
    };
    await build({
      ...electronBundle,
      entryPoints: { 'electron/main': 'src-main/electron/main.ts' },
      sourcemap: true,
      ...cjsMeta,
    });
    await build({
      ...electronBundle,
      entryPoints: { 'electron/har-import-worker': 'src-main/services/har-import-worker.ts' },
      sourcemap: true,
    });
    await build({
      ...electronBundle,
      entryPoints: { 'preload/preload': 'src-preload/preload.ts' },
      sourcemap: 'inline',
    });
  },
};

for (const [name, run] of Object.entries(targets)) {
  if (!only || only === name) await run();
}
