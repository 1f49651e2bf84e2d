/**
 * The settings file (`settings.json` in the data directory): versioned JSON, written atomically.
 * A corrupt file is reported, kept beside the new one as a backup and replaced by defaults —
 * never silently lost. A file from a newer Loupe is refused rather than downgraded.
 */
import { readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { checkSettings, DEFAULT_SETTINGS, type Settings } from '../../src-common/settings';
import { writeFileAtomic } from './atomic-write';

export class SettingsError extends Error {
  readonly code = 'settings_newer';
}

export interface LoadedSettings {
  settings: Settings;
  /** Set when the file was unusable and defaults were used; says where the backup is. */
  warning?: string;
}

export async function loadSettings(dir: string): Promise<LoadedSettings> {
  const path = join(dir, 'settings.json');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      return { settings: structuredClone(DEFAULT_SETTINGS) };
    throw err;
  }
  let problem: string;
  try {
    const check = checkSettings(JSON.parse(text.replace(/^\uFEFF/, '')));
    if (check.ok) return { settings: check.settings };
    problem = check.error;
    if (problem.includes('newer Loupe'))
      throw new SettingsError(
        `${path}: ${problem}. Use that Loupe, or pass --data-dir to use another directory.`,
      );
  } catch (err) {
    if (err instanceof SettingsError) throw err;
    problem = `not valid JSON (${(err as Error).message})`;
  }
  const backup = `${path}.corrupt-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  await rename(path, backup);
  return {
    settings: structuredClone(DEFAULT_SETTINGS),
    warning: `${path} could not be used (${problem}); it was kept as ${backup} and default settings are in use.`,
  };
}

/** Validates and writes the settings atomically; resolves to what was saved. */
export async function saveSettings(dir: string, settings: Settings): Promise<Settings> {
  const check = checkSettings(settings);
  if (!check.ok) throw new Error(`Settings not saved: ${check.error}.`);
  await writeFileAtomic(
    join(dir, 'settings.json'),
    `${JSON.stringify(check.settings, null, 2)}\n`,
    { mode: 0o600 },
  );
  return check.settings;
}
