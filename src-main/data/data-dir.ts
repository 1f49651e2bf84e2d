/** Where Loupe keeps its CA, settings and spilled bodies, per user and per OS. */
import { mkdir, chmod } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** The per-user app-data folder Loupe uses when no `--data-dir` is given. */
export function defaultDataDir(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
): string {
  if (platform === 'darwin') return join(homedir(), 'Library', 'Application Support', 'Loupe');
  if (platform === 'win32')
    return join(env.APPDATA ?? join(homedir(), 'AppData', 'Roaming'), 'Loupe');
  return join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'loupe');
}

/** Creates the folder (mode 0700: it holds the CA key) if it does not exist yet. */
export async function ensureDataDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  if (process.platform !== 'win32') await chmod(dir, 0o700).catch(() => undefined);
}
