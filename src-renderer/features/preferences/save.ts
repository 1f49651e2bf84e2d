/**
 * What every section of Preferences shares: sending a change (applied at once in main; the
 * `settings` event brings the new settings to the store) and the pure helpers behind its fields.
 */
import type { ApiError, SettingsPatch } from '../../../src-common/api/contract';
import { parseBypassPattern } from '../../../src-common/bypass';
import type { Settings } from '../../../src-common/settings';
import { getBridge } from '../../api/bridge';

/** Sends a change; resolves to the settings now in force, or to the refusal in words. */
export async function saveSettings(
  patch: SettingsPatch,
): Promise<{ ok: true; settings: Settings } | { ok: false; error: string }> {
  try {
    return { ok: true, settings: await getBridge().settings.update(patch) };
  } catch (err) {
    return { ok: false, error: (err as Partial<ApiError>)?.message ?? String(err) };
  }
}

/**
 * Checks a pattern as the user types it, against the patterns already listed (`except` is the
 * one being edited). Returns the problem in words, or undefined when it may be added.
 */
export function patternProblem(
  text: string,
  listed: readonly string[],
  except?: string,
): string | undefined {
  const parsed = parseBypassPattern(text);
  if (!parsed.ok) return parsed.error;
  const key = text.trim().toLowerCase();
  if (listed.some((p) => p !== except && p.trim().toLowerCase() === key)) {
    return `'${text.trim()}' is already in the list`;
  }
  return undefined;
}

const MB = 1024 * 1024;
/** The largest capture cap the settings accept: 1 GiB. */
export const MAX_CAP_MB = 1024;

/** The capture cap as the field shows it: megabytes, without needless decimals. */
export function bytesToMb(bytes: number): string {
  return String(Math.round((bytes / MB) * 100) / 100);
}

/** The field's megabytes as bytes, or the problem in words. */
export function parseCapMb(
  text: string,
): { ok: true; bytes: number } | { ok: false; error: string } {
  const t = text.trim();
  if (!/^\d+(?:\.\d+)?$/.test(t)) {
    return { ok: false, error: 'Write a number of megabytes, such as 16 or 0.5' };
  }
  const mb = Number(t);
  if (mb > MAX_CAP_MB) return { ok: false, error: `At most ${MAX_CAP_MB} MB (1 GiB)` };
  return { ok: true, bytes: Math.round(mb * MB) };
}

/** A port typed in the field, or the problem in words. */
export function parsePort(text: string): { ok: true; port: number } | { ok: false; error: string } {
  const t = text.trim();
  const port = Number(t);
  if (!/^\d{1,5}$/.test(t) || port < 1 || port > 65535) {
    return { ok: false, error: 'A port is a whole number from 1 to 65535' };
  }
  return { ok: true, port };
}

/** Hours of the auto-learned list's lifetime, or the problem in words. */
export function parseHours(
  text: string,
): { ok: true; hours: number } | { ok: false; error: string } {
  const t = text.trim();
  const hours = Number(t);
  if (!/^\d+(?:\.\d+)?$/.test(t) || !(hours > 0) || hours > 8760) {
    return { ok: false, error: 'Write a number of hours from 0 to 8760 (a year), such as 24' };
  }
  return { ok: true, hours };
}

/**
 * The limits on client connections, in seconds: the least and the most `checkSettings` takes for
 * each (save.test.ts holds them to it), and the most in words.
 */
export const LIMITS = {
  requestHeadTimeoutSeconds: { min: 1, max: 3600, most: 'an hour' },
  firstRequestTimeoutSeconds: { min: 1, max: 3600, most: 'an hour' },
  keepAliveTimeoutSeconds: { min: 1, max: 86_400, most: 'a day' },
  tunnelIdleTimeoutSeconds: { min: 0, max: 604_800, most: 'a week' },
} as const;
export type LimitSetting = keyof typeof LIMITS;

/** Seconds typed in a limit's field, or the problem in words. */
export function parseSeconds(
  text: string,
  setting: LimitSetting,
): { ok: true; seconds: number } | { ok: false; error: string } {
  const { min, max, most } = LIMITS[setting];
  const t = text.trim();
  const seconds = Number(t);
  if (!/^\d{1,7}$/.test(t) || seconds < min || seconds > max) {
    const least = min === 0 ? '0 (off)' : String(min);
    return {
      ok: false,
      error: `Write a whole number of seconds from ${least} to ${max} (${most})`,
    };
  }
  return { ok: true, seconds };
}

/** "expires in 23 h", "expires in 40 min", "expires in 3 d", "expired". */
export function expiresIn(expiresAt: number, now: number): string {
  const ms = expiresAt - now;
  if (ms <= 0) return 'expired';
  const min = Math.ceil(ms / 60_000);
  if (min < 60) return `expires in ${min} min`;
  const hours = Math.floor(ms / 3_600_000);
  if (hours < 48) return `expires in ${hours} h`;
  return `expires in ${Math.floor(hours / 24)} d`;
}
