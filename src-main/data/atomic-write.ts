/**
 * Write-temp-then-rename: a reader (or a crash) sees either the old file or the new one, never a
 * half-written mix. User data on disk is never corrupted by a failed save.
 */
import { randomBytes } from 'node:crypto';
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * Lets `write` fill a temporary file beside `path`, then syncs it and renames it over `path`.
 * On any failure the temporary file is removed and `path` is left as it was.
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
}

export function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  opts: { mode?: number } = {},
): Promise<void> {
  return writeAtomically(path, opts.mode ?? 0o644, (file) => file.writeFile(data));
}
