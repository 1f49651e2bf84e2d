/** Disk faults for tests, which cannot fill a real disk (see injectWriteFault in data/). */

/** The error a write to a full disk rejects with, exactly as Node reports it (as /dev/full does). */
export function diskFull(): NodeJS.ErrnoException {
  return Object.assign(new Error('ENOSPC: no space left on device, write'), {
    errno: -28,
    code: 'ENOSPC',
    syscall: 'write',
  });
}
