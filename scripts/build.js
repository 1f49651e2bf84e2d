#!/usr/bin/env node
// `npm run build`: compiles the main-process entry points to JavaScript in out/ (no packaging).
// Development runs the TypeScript sources directly through tsx; this is what a package ships.
import { build } from 'esbuild';

await build({
  entryPoints: { 'main/loupe': 'src-main/headless/cli.ts' },
  outdir: 'out',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  packages: 'external',
  sourcemap: true,
  logLevel: 'info',
});
