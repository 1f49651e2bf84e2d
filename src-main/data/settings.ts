/**
 * The settings file (`settings.json` in the data directory): versioned JSON, written atomically.
 * A bad entry of a list is dropped alone and a field with a bad value takes its default, both
 * said in words; the file itself is copied aside before it is next saved. A file that is not a
 * settings object at all (not JSON, no usable version) is reported, kept beside the new one as a
 * backup and replaced by defaults — never silently lost. A file from a newer Loupe is refused
 * rather than downgraded, and fields this version does not know are carried through every save.
 *
 * The model and its validation (`checkSettings`) live in src-common so the UI can check a change
 * before sending it; what is here is the file handling around them.
 */
import { constants, copyFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import {
  checkSettings,
  DEFAULT_SETTINGS,
  SETTINGS_VERSION,
  type Settings,
  type SettingsCheck,
} from '../../src-common/settings';
import { writeFileAtomic } from './atomic-write';
import { describeFsError, SaveError } from './fs-error';
import { readIfExists } from './read-if-exists';
import { repairSettings } from './settings-repair';

export const SETTINGS_FILE = 'settings.json';

export type SettingsErrorCode = 'settings_newer' | 'settings_invalid' | 'settings_not_saved';

/**
 * `settings_newer`: the file is from a newer Loupe. `settings_invalid`: a refused change.
 * `settings_not_saved`: a valid change the disk did not take (full, read-only…).
 */
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
  /** `dropped`: what was left out to make the rest usable, one line each (see repairSettings). */
  | { kind: 'ok'; settings: Settings; dropped?: string[] }
  | { kind: 'corrupt'; problem: string }
  | { kind: 'newer'; version: number };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * How many levels of objects and lists a settings document may nest (the settings themselves
 * use four; the rest is room for a newer Loupe). Copying and saving settings recurse through
 * them, and a deeper document (a damaged file, a hostile change) would exhaust the stack.
 */
const MAX_SETTINGS_DEPTH = 64;

/** Whether `value` nests objects and lists more than `limit` levels; walks without recursion. */
function nestedDeeperThan(value: unknown, limit: number): boolean {
  const pending: [unknown, number][] = [[value, 1]];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const [node, depth] = next;
    if (typeof node !== 'object' || node === null) continue;
    if (depth > limit) return true;
    for (const child of Object.values(node)) pending.push([child, depth + 1]);
  }
  return false;
}

/**
 * Reads the text of a settings file (pure): usable (perhaps without some entries or fields),
 * corrupt (and why), or from a newer Loupe.
 */
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
  if (nestedDeeperThan(value, MAX_SETTINGS_DEPTH)) {
    return {
      kind: 'corrupt',
      problem: `the file is nested deeper than ${MAX_SETTINGS_DEPTH} levels`,
    };
  }
  const check = checkSettings(value);
  if (check.ok) return { kind: 'ok', settings: check.settings };
  // Without an object and a version this may not be a settings file at all: nothing is guessed.
  if (!isRecord(value) || !checkSettings({ version: value.version }).ok) {
    return { kind: 'corrupt', problem: check.error };
  }
  const repaired = repairSettings(value);
  const usable = checkSettings(repaired.value);
  return usable.ok
    ? { kind: 'ok', settings: usable.settings, dropped: repaired.dropped }
    : { kind: 'corrupt', problem: usable.error };
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
  if (nestedDeeperThan(patch, MAX_SETTINGS_DEPTH)) {
    return { ok: false, error: `the change is nested deeper than ${MAX_SETTINGS_DEPTH} levels` };
  }
  return checkSettings({ ...current, ...patch });
}

export interface LoadedSettings {
  settings: Settings;
  /** Set when the file was unusable, or parts of it; says what is in use and where a backup is. */
  warning?: string;
  /** Set when parts were left out: the file is copied here before it is first overwritten. */
  backupBeforeSave?: string;
}

/** `settings.json.<what>-<time>`, beside the file. */
const backupPath = (path: string, what: string): string =>
  `${path}.${what}-${new Date().toISOString().replace(/[:.]/g, '-')}`;

/**
 * Loads the settings of data directory `dir` (defaults when there is no file yet). A corrupt
 * file is renamed to `settings.json.corrupt-<time>` and reported in `warning`; a file with bad
 * entries or fields is used without them and left as it is, reported in `warning`, and named in
 * `backupBeforeSave`. A file from a newer Loupe throws SettingsError `settings_newer` and is
 * left as it is.
 */
export async function loadSettings(dir: string): Promise<LoadedSettings> {
  const path = join(dir, SETTINGS_FILE);
  const text = await readIfExists(path);
  if (text === undefined) return { settings: structuredClone(DEFAULT_SETTINGS) };
  const read = readSettingsText(text);
  if (read.kind === 'ok') {
    if (!read.dropped?.length) return { settings: read.settings };
    const backup = backupPath(path, 'before-repair');
    return {
      settings: read.settings,
      warning: `Parts of ${path} could not be used and are left out: ${read.dropped.join('; ')}. The rest is in use. The file stays as it is until a setting changes; then it is first copied to ${backup}.`,
      backupBeforeSave: backup,
    };
  }
  if (read.kind === 'newer') {
    throw new SettingsError(
      'settings_newer',
      `${path} was written by a newer Loupe (settings version ${read.version}; this one knows ${SETTINGS_VERSION}). Use that Loupe, or pass --data-dir to use another directory.`,
    );
  }
  const backup = backupPath(path, 'corrupt');
  await rename(path, backup);
  return {
    settings: structuredClone(DEFAULT_SETTINGS),
    warning: `${path} could not be used (${read.problem}); it was kept as ${backup} and default settings are in use.`,
  };
}

/** A valid change that could not be written, `why` being a sentence of describeFsError's. */
const notSaved = (why: string): SettingsError =>
  new SettingsError('settings_not_saved', `${why}. The settings are as they were.`);

/** The settings of one data directory, in memory and on disk. */
export interface SettingsStore {
  readonly path: string;
  /** A copy of the current settings. */
  get(): Settings;
  /**
   * Validates `patch` merged over the current settings and writes the result atomically;
   * resolves to the new settings. A refused change (SettingsError `settings_invalid`) or a
   * failed write (`settings_not_saved`, saying why in words) leaves both the file and the
   * current settings as they were. Updates apply in the order they were called.
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
  // What was left out when loading is still in the file: kept aside before the first save.
  let backup = loaded.backupBeforeSave;
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
        if (backup !== undefined) {
          const aside = backup;
          await copyFile(path, aside, constants.COPYFILE_EXCL).catch((err: unknown) => {
            // Deleted by hand meanwhile: there is nothing left to keep.
            if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
              throw notSaved(describeFsError(err, aside));
            }
          });
          backup = undefined;
        }
        await writeFileAtomic(path, `${JSON.stringify(next.settings, null, 2)}\n`, {
          mode: 0o600,
        }).catch((err: unknown) => {
          throw err instanceof SaveError ? notSaved(err.message) : err;
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
