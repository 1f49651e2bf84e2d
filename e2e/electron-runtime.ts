/**
 * Finds the Electron runtime binary the way the `electron` package would, without requiring the
 * package: in plain Node, `require('electron')` only returns that path, and starts a download
 * when the binary is missing.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export type ElectronRuntime = { ok: true; executablePath: string } | { ok: false; reason: string };

/** The runtime under `root/node_modules/electron`, or why there is none. */
export function findElectronRuntime(root: string): ElectronRuntime {
  const pkg = join(root, 'node_modules', 'electron');
  const pathFile = join(pkg, 'path.txt');
  const skip =
    'the Electron e2e spec is skipped; the wiring test (src-main/electron/wiring.test.ts) covers main and preload';
  if (!existsSync(pathFile)) {
    return {
      ok: false,
      reason: `Electron runtime not installed (node_modules/electron/path.txt and dist/ missing; ELECTRON_SKIP_BINARY_DOWNLOAD) — ${skip}`,
    };
  }
  const executablePath = join(pkg, 'dist', readFileSync(pathFile, 'utf8').trim());
  if (!existsSync(executablePath)) {
    return {
      ok: false,
      reason: `Electron runtime not installed (${executablePath} missing) — ${skip}`,
    };
  }
  return { ok: true, executablePath };
}
