/**
 * Reading a settings file leniently: a bad entry of a list is dropped alone, a field with a bad
 * value falls back to its default, each in words, and the rest of the file is used. The rules are
 * the model's (`checkSettings` in src-common): each field, and each entry of a list, is put to
 * them on its own, so they are never restated here.
 */
import { checkSettings, SETTINGS_VERSION } from '../../src-common/settings';

/** What the model says of one value on its own; undefined when it is fine. */
type Probe = (value: unknown) => string | undefined;

const fieldProbe =
  (key: string): Probe =>
  (value) => {
    const check = checkSettings({ version: SETTINGS_VERSION, [key]: value });
    return check.ok ? undefined : check.error;
  };

const uiProbe =
  (key: string): Probe =>
  (value) =>
    fieldProbe('ui')({ [key]: value });

/**
 * The model's words for a probe, without its own label: a probe holds one entry, which the model
 * calls entry 1 ("bypass entry 1: 'a b': …", "'ui': column 1 needs …"), whatever its place.
 */
const why = (error: string): string => error.replace(/^'ui': /, '').replace(/^[a-z -]+ 1:? /, '');

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The entries of `list` the model accepts (it accepts an empty one); says what it left out. */
function repairList(name: string, list: unknown[], probe: Probe, said: string[]): unknown[] {
  const kept = list.filter((entry, i) => {
    const problem = probe([entry]);
    if (problem) said.push(`${name} entry ${i + 1} was dropped: ${why(problem)}`);
    return !problem;
  });
  const problem = probe(kept);
  if (!problem) return kept;
  // A rule on the whole list (at most so many entries): keep the longest start it allows.
  let fits = 0;
  let tooMany = kept.length;
  while (tooMany - fits > 1) {
    const mid = (fits + tooMany) >> 1;
    if (probe(kept.slice(0, mid))) tooMany = mid;
    else fits = mid;
  }
  said.push(
    `${name} kept its first ${fits} entries and dropped the other ${kept.length - fits}: ${why(problem)}`,
  );
  return kept.slice(0, fits);
}

function repairFields(
  record: Record<string, unknown>,
  probeFor: (key: string) => Probe,
  prefix: string,
  said: string[],
): Record<string, unknown> {
  const out = { ...record };
  for (const [key, value] of Object.entries(record)) {
    if (!prefix && key === 'version') continue;
    const probe = probeFor(key);
    const problem = probe(value);
    if (!problem) continue;
    const name = `'${prefix}${key}'`;
    if (!prefix && key === 'ui' && isRecord(value)) {
      out.ui = repairFields(value, uiProbe, 'ui.', said);
    } else if (Array.isArray(value) && !probe([])) {
      out[key] = repairList(name, value, probe, said);
    } else {
      delete out[key];
      said.push(`${name} was reset to its default: ${why(problem)}`);
    }
  }
  return out;
}

/**
 * Leaves out of a settings object (whose version is fine) what the model refuses: each bad entry
 * of a list alone, and each field or `ui` field with a bad value, which then takes its default.
 * `dropped` says what went and why, one line each, naming the list and the entry's place (from 1).
 */
export function repairSettings(value: Record<string, unknown>): {
  value: Record<string, unknown>;
  dropped: string[];
} {
  const dropped: string[] = [];
  return { value: repairFields(value, fieldProbe, '', dropped), dropped };
}
