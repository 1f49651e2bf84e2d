/**
 * Write-temp-then-rename: a reader (or a crash) sees either the old file or the new one, never a
 * half-written mix, so a failed save never corrupts what was on disk.
 */
import { randomBytes } from 'node:crypto';
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * Lets `write` fill a temporary file beside `path`, then syncs it and renames it over `path`.
 * On any failure the temporary file is removed and `path` is left as it was.
 *
 * The temporary file is created with `mode` (less the process umask), so the file never exists,
 * even briefly, with wider permissions than asked: the CA key relies on this.
 */
export async function writeAtomically(
  path: string,
  mode: number,
  write: (file: FileHandle) => Promise<void>,
): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const file = await open(temp, 'wx', mode);
  try {
    await write(file);
    await file.sync();
    await file.close();
    await rename(temp, path);
  } catch (err) {
    await file.close().catch(() => undefined);
    await rm(temp, { force: true });
    throw err;
  }
  await syncFolder(dirname(path));
}

/**
 * Makes the rename itself durable: on Linux a power cut after `rename` can otherwise lose the new
 * directory entry. Windows cannot open a folder this way and journals renames itself.
 */
async function syncFolder(dir: string): Promise<void> {
  if (process.platform === 'win32') return;
  const handle = await open(dir, 'r').catch(() => undefined);
  if (!handle) return;
  try {
    await handle.sync();
  } catch {
    // Some file systems (network mounts) refuse fsync on a folder; the data is already written.
  } finally {
    await handle.close();
  }
}

/** Writes `data` to `path` atomically (see writeAtomically); `mode` defaults to 0644. */
export function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  opts: { mode?: number } = {},
): Promise<void> {
  return writeAtomically(path, opts.mode ?? 0o644, (file) => file.writeFile(data));
}
