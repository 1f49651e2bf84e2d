/**
 * External tools the tests drive (curl, openssl…). Missing locally: the test is skipped with the
 * reason. Missing under CI (`CI=true`): the test fails, so a green run never hides lost coverage.
 */
import { spawnSync } from 'node:child_process';

const found = new Map<string, boolean>();

export function hasTool(tool: string): boolean {
  let ok = found.get(tool);
  if (ok === undefined) {
    ok = spawnSync('which', [tool], { stdio: 'ignore' }).status === 0;
    found.set(tool, ok);
  }
  return ok;
}

/** Call first in a test that needs `tool`: skips it (or, under CI, fails it) when missing. */
export function needTool(ctx: { skip(note?: string): void }, tool: string): void {
  if (hasTool(tool)) return;
  if (process.env.CI === 'true')
    throw new Error(`${tool} is required under CI but is not installed`);
  // The default reporter counts skips without their notes; say why where it will be read.
  console.warn(`skipped: ${tool} is not installed`);
  ctx.skip(`${tool} is not installed`);
}

/**
 * The Chromium to drive: `CHROMIUM_PATH`, else Debian's `/usr/bin/chromium` (a shell wrapper that
 * execs the browser). Pass it to `needTool`, which accepts a path as well as a command name.
 */
export function chromiumPath(): string {
  return process.env.CHROMIUM_PATH || '/usr/bin/chromium';
}
