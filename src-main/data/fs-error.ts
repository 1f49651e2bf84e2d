/**
 * File-system failures in words. Node's own message ("ENOSPC: no space left on device, write")
 * names a system call; the user needs what happened to which file, and what to do.
 */
import { dirname } from 'node:path';

/** What a system error code means for a file being saved, and what to do about it. */
const REASONS: Record<string, (path: string) => string> = {
  ENOSPC: () => 'the disk is full (ENOSPC); free some space, then try again',
  EDQUOT: () => 'your disk quota is used up (EDQUOT); free some space, then try again',
  EROFS: () => 'the disk is read-only (EROFS); save to another disk',
  EACCES: (path) => `permission denied (EACCES); check that you may write in ${dirname(path)}`,
  EIO: () => 'the disk reported an input/output error (EIO); check the disk',
  EMFILE: () => 'Loupe has too many files open (EMFILE); try again later',
};

/**
 * "Loupe could not save PATH: why", in words for the common system errors (a full disk, no
 * permission…), else with the error's own message.
 */
export function describeFsError(err: unknown, path: string): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const reason =
    code !== undefined && Object.hasOwn(REASONS, code)
      ? REASONS[code]!(path)
      : err instanceof Error
        ? err.message
        : String(err);
  return `Loupe could not save ${path}: ${reason}`;
}

/**
 * A file could not be saved (see writeAtomically); the message says why in words. `code` is the
 * system's (ENOSPC, EACCES…), so callers that branch on it still can.
 */
export class SaveError extends Error {
  readonly code: string | undefined;

  constructor(
    readonly path: string,
    cause: unknown,
  ) {
    super(describeFsError(cause, path), { cause });
    this.code = (cause as NodeJS.ErrnoException).code;
  }
}
