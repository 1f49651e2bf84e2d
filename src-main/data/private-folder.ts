/**
 * Captures hold secrets (cookies, tokens, bodies), so what Loupe writes of them is private: files
 * 0600, and the folders Loupe owns inside the data directory (`bodies/`, `exports/`, `uploads/`)
 * 0700 whatever the umask or an older version left. A folder the user chose keeps its mode;
 * Loupe only says when other users can read it.
 */
import { chmod, mkdir } from 'node:fs/promises';

/** The mode of every file Loupe writes that holds captured traffic. */
export const PRIVATE_FILE_MODE = 0o600;

/** Creates `dir` (and missing parents) with mode 0700, or tightens it to 0700 if it existed. */
export async function ensurePrivateFolder(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  // mkdir's mode passes through the umask, and does not apply to a folder that was there.
  if (process.platform !== 'win32') await chmod(dir, 0o700);
}

/**
 * Words for a folder the user chose (mode `mode`) that users other than its owner can read, or
 * undefined when they cannot (and always on Windows, whose ACLs a mode does not describe).
 */
export function sharedFolderWarning(dir: string, mode: number): string | undefined {
  if (process.platform === 'win32' || (mode & 0o044) === 0) return undefined;
  return `Other users of this computer can read the folder ${dir}. The HAR files Loupe writes there are readable only by you, but they hold captured cookies and tokens: to keep even their names private, save captures in a folder only you can open.`;
}
