/**
 * Another process's memory as Linux reports it in /proc/PID/status, so a test can measure the
 * `loupe headless` child alone, without its own servers' and clients' garbage.
 */
import { readFileSync, writeFileSync } from 'node:fs';

export interface ProcMemory {
  /** VmRSS: resident bytes now. */
  rss: number;
  /** VmHWM: the most resident bytes since the process started or its peak was last reset. */
  peak: number;
}

function field(status: string, name: string): number {
  const m = new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(status);
  if (!m) throw new Error(`/proc status has no ${name} line`);
  return Number(m[1]) * 1024;
}

export function readProcMemory(pid: number): ProcMemory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return { rss: field(status, 'VmRSS'), peak: field(status, 'VmHWM') };
}

/**
 * Makes VmHWM start again from the current RSS (writing 5 to clear_refs, Linux 4.0 and later).
 * False when the kernel refuses: the peak then still counts from the process's start, which can
 * only overstate a growth measured from later.
 */
export function resetPeak(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** Why /proc/PID/status cannot be read on this system, or undefined on Linux. */
export function procStatusMissing(): string | undefined {
  if (process.platform === 'linux') return undefined;
  return `reads /proc/PID/status, which ${process.platform} does not have`;
}

/** Call first in a test that reads /proc: skips it, saying why, on other systems. */
export function needProcStatus(ctx: { skip(note?: string): void }): void {
  const why = procStatusMissing();
  if (why === undefined) return;
  // The default reporter counts skips without their notes; say why where it will be read.
  console.warn(`skipped: ${why}`);
  ctx.skip(why);
}
