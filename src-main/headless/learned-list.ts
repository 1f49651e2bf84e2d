/**
 * The auto-bypass list as `loupe ca` sees it: hosts learned while clients rejected Loupe's
 * certificate. After the CA is rotated (or newly trusted) those rejections may no longer hold,
 * so `ca rotate` offers to forget them and `ca clear-learned` does. The caller holds the data
 * directory's lock: a running Loupe keeps the list in memory and would write it back.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LearnedBypass } from '../../src-common/settings';
import { openSettings, readSettingsText, SETTINGS_FILE } from '../data/settings';

/**
 * The learned hosts still in force in `dir`'s settings. A missing, corrupt or newer file reads
 * as none: this only decides whether to offer clearing, and must not touch such a file.
 */
export async function activeLearnedHosts(dir: string, now = Date.now()): Promise<LearnedBypass[]> {
  let text: string;
  try {
    text = await readFile(join(dir, SETTINGS_FILE), 'utf8');
  } catch {
    return [];
  }
  const read = readSettingsText(text);
  return read.kind === 'ok' ? read.settings.autoBypass.filter((e) => e.expiresAt > now) : [];
}

/** "N host(s) … (a, b, c and 2 more)" for a prompt or a hint. */
export function describeHosts(list: readonly LearnedBypass[], shown = 3): string {
  const names = list.slice(0, shown).map((e) => e.host);
  const more = list.length - names.length;
  const joined = more > 0 ? `${names.join(', ')} and ${more} more` : names.join(', ');
  return `${list.length} host${list.length === 1 ? '' : 's'} learned into the auto-bypass list (${joined})`;
}

/**
 * Empties the list in `dir`'s settings.json, expired entries included; resolves to how many
 * entries there were. Writes nothing when the list is already empty. `warn` receives the
 * settings store's warning (a corrupt file that was set aside).
 */
export async function clearLearnedHosts(
  dir: string,
  warn: (line: string) => void,
): Promise<number> {
  const { store, warning } = await openSettings(dir);
  if (warning) warn(warning);
  const count = store.get().autoBypass.length;
  if (count > 0) await store.update({ autoBypass: [] });
  return count;
}
