/** Where Loupe keeps its CA, settings and spilled bodies, per user and per OS. */
import { chmod, mkdir, readdir, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, posix, win32 } from 'node:path';
import { isAtomicWriteTemp } from './atomic-write';

/**
 * The per-user app-data folder Loupe uses when no `--data-dir` is given: macOS
 * `~/Library/Application Support/Loupe`, Windows `%APPDATA%\Loupe`, elsewhere
 * `$XDG_CONFIG_HOME/loupe` or `~/.config/loupe`. `env`, `platform` and `home` are parameters so
 * every OS's answer can be tested on any OS.
 */
export function defaultDataDir(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
  home: string = homedir(),
): string {
  if (platform === 'win32') {
    return win32.join(env.APPDATA || win32.join(home, 'AppData', 'Roaming'), 'Loupe');
  }
  if (platform === 'darwin') return posix.join(home, 'Library', 'Application Support', 'Loupe');
  // The XDG spec says a relative XDG_CONFIG_HOME is invalid and must be ignored.
  const xdg = env.XDG_CONFIG_HOME;
  return posix.join(xdg && posix.isAbsolute(xdg) ? xdg : posix.join(home, '.config'), 'loupe');
}

/** The data directory cannot be used as one (code `data_dir_not_folder`). */
export class DataDirError extends Error {
  readonly code = 'data_dir_not_folder';
}

/**
 * Creates the folder (mode 0700: it holds the CA key) if it does not exist yet. A folder that
 * already exists keeps its mode: `--data-dir` may name one the user made for other things too,
 * and the key file is 0600 on its own.
 */
export async function ensureDataDir(dir: string): Promise<void> {
  let created: string | undefined;
  try {
    created = await mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EEXIST' && code !== 'ENOTDIR') throw err;
    throw new DataDirError(
      `The data directory ${dir} is (or lies under) a file, not a folder; pass --data-dir with a folder.`,
    );
  }
  // mkdir's mode passes through the umask, which may have stripped the owner's own bits.
  if (created !== undefined && process.platform !== 'win32') await chmod(dir, 0o700);
}

/**
 * Loupe's own folders in the data directory that atomic writes go to: the directory itself
 * (settings, CA, window state) and `exports` (HAR downloads). Others may be the user's, since
 * `--data-dir` may name a folder the user keeps other things in.
 */
const WRITTEN_FOLDERS = ['', 'exports'];

/**
 * Removes the temporary files that atomic writes killed midway (a crash, SIGKILL, a power cut)
 * left in the data directory `dir`, and nothing else. Only the holder of the directory's lock
 * may: another Loupe's save in progress looks just the same. Best effort: a leftover that cannot
 * be removed costs only its space, and must not stop Loupe from starting.
 */
export async function removeLeftoverTemps(dir: string): Promise<void> {
  for (const folder of WRITTEN_FOLDERS.map((name) => join(dir, name))) {
    const entries = await readdir(folder, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      if (entry.isFile() && isAtomicWriteTemp(entry.name)) {
        await rm(join(folder, entry.name), { force: true }).catch(() => undefined);
      }
    }
  }
}
