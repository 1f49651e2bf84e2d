/**
 * The settings file (`settings.json` in the data directory): versioned JSON, written atomically.
 * A corrupt file is reported, kept beside the new one as a backup and replaced by defaults —
 * never silently lost. A file from a newer Loupe is refused rather than downgraded, and fields
 * this version does not know are carried through every save.
 *
 * The model and its validation (`checkSettings`) live in src-common so the UI can check a change
 * before sending it; what is here is the file handling around them.
 */
import { rename } from 'node:fs/promises';
import { join } from 'node:path';
import {
  checkSettings,
  DEFAULT_SETTINGS,
  SETTINGS_VERSION,
  type Settings,
  type SettingsCheck,
} from '../../src-common/settings';
import { writeFileAtomic } from './atomic-write';
import { readIfExists } from './read-if-exists';

export const SETTINGS_FILE = 'settings.json';

export type SettingsErrorCode = 'settings_newer' | 'settings_invalid';

/** `settings_newer`: the file is from a newer Loupe. `settings_invalid`: a refused change. */
export class SettingsError extends Error {
  constructor(
    readonly code: SettingsErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** A change to the settings: any known field but `version`. */
export type SettingsPatch = Partial<Omit<Settings, 'version'>>;

export type SettingsText =
  | { kind: 'ok'; settings: Settings }
  | { kind: 'corrupt'; problem: string }
  | { kind: 'newer'; version: number };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Reads the text of a settings file (pure): usable, corrupt (and why), or from a newer Loupe. */
export function readSettingsText(text: string): SettingsText {
  let value: unknown;
  try {
    // Editors on Windows may save a byte-order mark, which JSON.parse refuses.
    value = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    return { kind: 'corrupt', problem: `not valid JSON (${(err as Error).message})` };
  }
  if (isRecord(value) && typeof value.version === 'number' && value.version > SETTINGS_VERSION) {
    return { kind: 'newer', version: value.version };
  }
  const check = checkSettings(value);
  return check.ok
    ? { kind: 'ok', settings: check.settings }
    : { kind: 'corrupt', problem: check.error };
}

/**
 * Merges `patch` over `current` and validates the result (pure). A patch names known fields
 * only: an unknown name is more likely a caller's typo than a wish to store something new.
 */
export function applySettingsPatch(current: Settings, patch: unknown): SettingsCheck {
  if (!isRecord(patch)) return { ok: false, error: 'a settings change must be an object' };
  for (const [key, value] of Object.entries(patch)) {
    if (key === 'version') return { ok: false, error: "'version' cannot be changed" };
    if (!Object.hasOwn(DEFAULT_SETTINGS, key))
      return { ok: false, error: `'${key}' is not a setting` };
    if (value === undefined) return { ok: false, error: `'${key}' needs a value` };
  }
  return checkSettings({ ...current, ...patch });
}

export interface LoadedSettings {
  settings: Settings;
  /** Set when the file was unusable and defaults are in use; says where the backup is. */
  warning?: string;
}

/**
 * Loads the settings of data directory `dir` (defaults when there is no file yet). A corrupt
 * file is renamed to `settings.json.corrupt-<time>` and reported in `warning`; a file from a
 * newer Loupe throws SettingsError `settings_newer` and is left as it is.
 */
export async function loadSettings(dir: string): Promise<LoadedSettings> {
  const path = join(dir, SETTINGS_FILE);
  const text = await readIfExists(path);
  if (text === undefined) return { settings: structuredClone(DEFAULT_SETTINGS) };
  const read = readSettingsText(text);
  if (read.kind === 'ok') return { settings: read.settings };
  if (read.kind === 'newer') {
    throw new SettingsError(
      'settings_newer',
      `${path} was written by a newer Loupe (settings version ${read.version}; this one knows ${SETTINGS_VERSION}). Use that Loupe, or pass --data-dir to use another directory.`,
    );
  }
  const backup = `${path}.corrupt-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  await rename(path, backup);
  return {
    settings: structuredClone(DEFAULT_SETTINGS),
    warning: `${path} could not be used (${read.problem}); it was kept as ${backup} and default settings are in use.`,
  };
}

/** The settings of one data directory, in memory and on disk. */
export interface SettingsStore {
  readonly path: string;
  /** A copy of the current settings. */
  get(): Settings;
  /**
   * Validates `patch` merged over the current settings and writes the result atomically;
   * resolves to the new settings. A refused change (SettingsError `settings_invalid`) or a
   * failed write leaves both the file and the current settings as they were. Updates apply in
   * the order they were called.
   */
  update(patch: SettingsPatch): Promise<Settings>;
}

/**
 * Loads the settings (see loadSettings) and returns the store that changes them. The caller
 * prints `warning` when set. This process is assumed to hold the data directory's lock, so the
 * file changes only through this store while it runs.
 */
export async function openSettings(
  dir: string,
): Promise<{ store: SettingsStore; warning?: string }> {
  const path = join(dir, SETTINGS_FILE);
  const loaded = await loadSettings(dir);
  let current = loaded.settings;
  let queue: Promise<unknown> = Promise.resolve();
  const store: SettingsStore = {
    path,
    get: () => structuredClone(current),
    update(patch) {
      const run = queue.then(async () => {
        const next = applySettingsPatch(current, patch);
        if (!next.ok) {
          throw new SettingsError('settings_invalid', `Settings not saved: ${next.error}.`);
        }
        await writeFileAtomic(path, `${JSON.stringify(next.settings, null, 2)}\n`, {
          mode: 0o600,
        });
        current = next.settings;
        return structuredClone(current);
      });
      queue = run.catch(() => undefined);
      return run;
    },
  };
  return loaded.warning === undefined ? { store } : { store, warning: loaded.warning };
}
