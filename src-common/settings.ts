/**
 * The settings model and its validation: pure, so the UI can check a change before sending it
 * and main can check a file before trusting it.
 */
import { parseBypassPattern, type BypassEntry } from './bypass';

export const SETTINGS_VERSION = 1;

export interface Settings {
  version: number;
  /** SSL bypass list: hosts never decrypted. */
  bypass: BypassEntry[];
  /** Bytes of each body kept for display and export; beyond it the flow is marked truncated. */
  captureBodyCap: number;
}

export const DEFAULT_SETTINGS: Settings = {
  version: SETTINGS_VERSION,
  bypass: [],
  captureBodyCap: 16 * 1024 * 1024,
};

const MAX_BODY_CAP = 1024 * 1024 * 1024;

export type SettingsCheck = { ok: true; settings: Settings } | { ok: false; error: string };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Validates a settings object (a parsed file or a patch merged over the current settings).
 * Unknown fields are kept, so a newer Loupe's additions survive a round trip.
 */
export function checkSettings(value: unknown): SettingsCheck {
  if (!isRecord(value)) return { ok: false, error: 'the settings are not a JSON object' };
  const version = value.version;
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) {
    return { ok: false, error: "'version' must be a positive whole number" };
  }
  if (version > SETTINGS_VERSION) {
    return {
      ok: false,
      error: `the settings were written by a newer Loupe (version ${version}; this one knows ${SETTINGS_VERSION})`,
    };
  }
  const bypass = value.bypass ?? [];
  if (!Array.isArray(bypass)) return { ok: false, error: "'bypass' must be a list" };
  for (const [i, entry] of bypass.entries()) {
    if (
      !isRecord(entry) ||
      typeof entry.pattern !== 'string' ||
      typeof entry.enabled !== 'boolean'
    ) {
      return {
        ok: false,
        error: `bypass entry ${i + 1} needs a 'pattern' text and an 'enabled' true/false`,
      };
    }
    const parsed = parseBypassPattern(entry.pattern);
    if (!parsed.ok) return { ok: false, error: `bypass entry ${i + 1}: ${parsed.error}` };
  }
  const cap = value.captureBodyCap ?? DEFAULT_SETTINGS.captureBodyCap;
  if (typeof cap !== 'number' || !Number.isInteger(cap) || cap < 0 || cap > MAX_BODY_CAP) {
    return { ok: false, error: "'captureBodyCap' must be a whole number of bytes from 0 to 1 GiB" };
  }
  return {
    ok: true,
    settings: {
      ...value,
      version: SETTINGS_VERSION,
      bypass: bypass as BypassEntry[],
      captureBodyCap: cap,
    },
  };
}
