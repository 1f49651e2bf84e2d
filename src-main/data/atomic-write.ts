/**
 * Write-temp-then-rename: a reader (or a crash) sees either the old file or the new one, never a
 * half-written mix, so a failed save never corrupts what was on disk.
 */
import { randomBytes } from 'node:crypto';
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { SaveError } from './fs-error';

/** `.NAME.<12 hex digits>.tmp`, beside NAME: the temporary files writeAtomically makes. */
const TEMP_NAME = /^\..+\.[0-9a-f]{12}\.tmp$/;

/**
 * Whether a file name is that of an atomic write's temporary file: one left by a process killed
 * mid-write, when no Loupe is writing in its folder (see removeLeftoverTemps in data-dir.ts).
 */
export const isAtomicWriteTemp = (name: string): boolean => TEMP_NAME.test(name);

type Fault = (path: string) => NodeJS.ErrnoException | undefined;
let injectedFault: Fault | undefined;

/**
 * For tests, which cannot fill a real disk: until the returned function is called, each atomic
 * write asks `fault` with its target path and raises the error it returns once the temporary
 * file is filled, as a disk that fills up mid-write would.
 */
export function injectWriteFault(fault: Fault): () => void {
  injectedFault = fault;
  return () => {
    if (injectedFault === fault) injectedFault = undefined;
  };
}

/**
 * A system error of this write's own files (`temp`, or no file named: writes, syncs) becomes a
 * SaveError, in words; any other failure (reading another file, say) is passed on as it is.
 */
function asSaveError(err: unknown, path: string, temp: string): unknown {
  const sys = err as NodeJS.ErrnoException;
  const system = err instanceof Error && typeof sys.code === 'string' && sys.syscall !== undefined;
  return system && (sys.path === undefined || sys.path === temp) ? new SaveError(path, err) : err;
}

/**
 * Lets `write` fill a temporary file beside `path`, then syncs it and renames it over `path`.
 * On any failure the temporary file is removed and `path` is left as it was; a failure of the
 * disk (full, read-only, no permission) rejects with a SaveError that says so in words.
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
  const file = await open(temp, 'wx', mode).catch((err: unknown) => {
    throw asSaveError(err, path, temp);
  });
  try {
    await write(file);
    const fault = injectedFault?.(path);
    if (fault) throw fault;
    await file.sync();
    await file.close();
    await rename(temp, path);
  } catch (err) {
    await file.close().catch(() => undefined);
    await rm(temp, { force: true });
    throw asSaveError(err, path, temp);
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
