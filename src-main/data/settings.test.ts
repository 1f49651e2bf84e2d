import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS, SETTINGS_VERSION, type Settings } from '../../src-common/settings';
import {
  applySettingsPatch,
  loadSettings,
  openSettings,
  readSettingsText,
  SETTINGS_FILE,
  SettingsError,
  type SettingsPatch,
} from './settings';

let dir: string;
let file: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'loupe-settings-'));
  file = join(dir, SETTINGS_FILE);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const onDisk = (): unknown => JSON.parse(readFileSync(file, 'utf8'));
const backups = (): string[] =>
  readdirSync(dir).filter((f) => f.startsWith(`${SETTINGS_FILE}.corrupt-`));

describe('reading a settings file (pure)', () => {
  it.each([
    ['{"version": 1}', DEFAULT_SETTINGS],
    ['\uFEFF{"version": 1, "captureBodyCap": 0}', { ...DEFAULT_SETTINGS, captureBodyCap: 0 }],
    [
      '{"version": 1, "bypass": [{"pattern": "*.bank.test", "enabled": false, "note": "n"}], "theme": "dark"}',
      {
        ...DEFAULT_SETTINGS,
        bypass: [{ pattern: '*.bank.test', enabled: false, note: 'n' }],
        theme: 'dark',
      },
    ],
  ])('%j is usable', (text, settings) => {
    expect(readSettingsText(text)).toEqual({ kind: 'ok', settings });
  });

  it.each([
    ['', /not valid JSON/],
    ['{"version": 1,', /not valid JSON/],
    ['[]', /not a JSON object/],
    ['null', /not a JSON object/],
    ['{}', /'version' must be/],
    ['{"version": "1"}', /'version' must be/],
    ['{"version": 1, "bypass": "all"}', /'bypass' must be a list/],
    [
      '{"version": 1, "bypass": [{"pattern": "a b", "enabled": true}]}',
      /bypass entry 1: .*cannot contain spaces/,
    ],
    ['{"version": 1, "bypass": [{"pattern": "x.test"}]}', /bypass entry 1 needs/],
    ['{"version": 1, "captureBodyCap": -1}', /'captureBodyCap' must be/],
  ])('%j is corrupt: %s', (text, problem) => {
    const read = readSettingsText(text);
    expect(read.kind).toBe('corrupt');
    if (read.kind === 'corrupt') expect(read.problem).toMatch(problem);
  });

  it('recognises a file from a newer Loupe, even one this version could not otherwise read', () => {
    const text = JSON.stringify({ version: SETTINGS_VERSION + 1, bypass: 'a new shape' });
    expect(readSettingsText(text)).toEqual({ kind: 'newer', version: SETTINGS_VERSION + 1 });
  });
});

describe('applying a change (pure)', () => {
  const current: Settings = { ...DEFAULT_SETTINGS, future: 1 } as Settings;

  it('merges known fields over the current settings, keeping unknown ones', () => {
    const bypass = [{ pattern: 'a.test', enabled: true }];
    expect(applySettingsPatch(current, { bypass })).toEqual({
      ok: true,
      settings: { ...current, bypass },
    });
  });

  it.each([
    [null, 'a settings change must be an object'],
    [[], 'a settings change must be an object'],
    ['bypass', 'a settings change must be an object'],
    [{ version: 2 }, "'version' cannot be changed"],
    [{ theme: 'dark' }, "'theme' is not a setting"],
    [JSON.parse('{"__proto__": {"polluted": true}}'), "'__proto__' is not a setting"],
    [{ toString: 'x' }, "'toString' is not a setting"],
    [{ bypass: undefined }, "'bypass' needs a value"],
    [{ bypass: [{ pattern: '*.', enabled: true }] }, "a wildcard needs a domain after '*.'"],
    [{ captureBodyCap: 1.5 }, "'captureBodyCap' must be a whole number"],
    [{ ui: [] }, "'ui': must be an object"],
    [{ ui: { columns: [{ id: 'host', visible: 'yes' }] } }, "'ui': column 1 needs"],
    [{ ui: { columns: [{ id: 'host', visible: true, width: 5 }] } }, "'ui': column 1 needs"],
    [{ ui: { sidebarWidth: 99_999 } }, "'sidebarWidth' must be 16–4000 px"],
    [{ ui: { pinnedHosts: 'api.test' } }, "'pinnedHosts' must be a list"],
    [{ ui: { pinnedHosts: [''] } }, "'pinnedHosts' must be a list"],
    [{ ui: { pinnedHosts: Array(201).fill('a.test') } }, "'pinnedHosts' must be a list"],
  ])('refuses %j: %s', (patch, error) => {
    const result = applySettingsPatch(current, patch);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toContain(error);
  });
});

describe('settings store', () => {
  it('starts from defaults without a file, and hands out copies', async () => {
    const { store, warning } = await openSettings(dir);
    expect(warning).toBeUndefined();
    expect(store.path).toBe(file);
    expect(store.get()).toEqual(DEFAULT_SETTINGS);
    store.get().bypass.push({ pattern: 'x.test', enabled: true });
    expect(store.get().bypass).toEqual([]);
    expect(DEFAULT_SETTINGS.bypass).toEqual([]);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('writes a change atomically, readable only by its owner, and reads it back', async () => {
    const { store } = await openSettings(dir);
    const bypass = [{ pattern: '*.bank.test', enabled: true, note: 'banking app pins' }];
    const saved = await store.update({ bypass });
    expect(saved).toEqual({ ...DEFAULT_SETTINGS, bypass });
    expect(store.get()).toEqual(saved);
    expect(onDisk()).toEqual(saved);
    expect(saved.version).toBe(1);
    if (process.platform !== 'win32') expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual([SETTINGS_FILE]);
    expect((await openSettings(dir)).store.get()).toEqual(saved);
  });

  it('keeps fields a newer Loupe of the same version wrote', async () => {
    writeFileSync(file, JSON.stringify({ version: 1, bypass: [], theme: { accent: 'teal' } }));
    const { store } = await openSettings(dir);
    await store.update({ captureBodyCap: 1024 });
    expect(onDisk()).toEqual({
      ...DEFAULT_SETTINGS,
      captureBodyCap: 1024,
      theme: { accent: 'teal' },
    });
  });

  it('refuses an invalid change and leaves the file and the settings as they were', async () => {
    const { store } = await openSettings(dir);
    await store.update({ captureBodyCap: 1024 });
    const before = readFileSync(file);
    const err = await store
      .update({ bypass: [{ pattern: '10.0.0.0/33', enabled: true }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SettingsError);
    expect(err).toMatchObject({ code: 'settings_invalid' });
    expect((err as Error).message).toBe(
      "Settings not saved: bypass entry 1: '10.0.0.0/33': an IPv4 prefix length is at most 32.",
    );
    expect(readFileSync(file)).toEqual(before);
    expect(store.get().captureBodyCap).toBe(1024);
    await expect(store.update({ version: 2 } as SettingsPatch)).rejects.toThrow(
      "'version' cannot be changed",
    );
  });

  it('keeps the settings it had when the write fails', async () => {
    const { store } = await openSettings(dir);
    // A non-empty folder where the file should go makes the rename fail.
    mkdirSync(file);
    writeFileSync(join(file, 'x'), '');
    await expect(store.update({ captureBodyCap: 5 })).rejects.toThrow();
    expect(store.get()).toEqual(DEFAULT_SETTINGS);
    rmSync(file, { recursive: true });
    expect((await store.update({ captureBodyCap: 6 })).captureBodyCap).toBe(6);
  });

  it('applies changes made at once in order, losing none', async () => {
    const { store } = await openSettings(dir);
    const results = await Promise.allSettled([
      store.update({ bypass: [{ pattern: 'a.test', enabled: true }] }),
      store.update({ captureBodyCap: -1 }),
      store.update({ captureBodyCap: 2048 }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const expected = {
      ...DEFAULT_SETTINGS,
      bypass: [{ pattern: 'a.test', enabled: true }],
      captureBodyCap: 2048,
    };
    expect(store.get()).toEqual(expected);
    expect(onDisk()).toEqual(expected);
  });

  it.each([
    ['bad JSON', '{"version": 1,', /not valid JSON/],
    ['a wrong shape', '{"version": 1, "bypass": "all"}', /'bypass' must be a list/],
    [
      'a bad pattern',
      '{"version": 1, "bypass": [{"pattern": "a b", "enabled": true}]}',
      /cannot contain spaces/,
    ],
  ])(
    'keeps a file with %s as a backup, says so, and uses defaults',
    async (_name, text, reason) => {
      writeFileSync(file, text);
      const { store, warning } = await openSettings(dir);
      expect(store.get()).toEqual(DEFAULT_SETTINGS);
      expect(warning).toMatch(reason);
      expect(backups()).toHaveLength(1);
      expect(backups()[0]).toMatch(
        /^settings\.json\.corrupt-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z$/,
      );
      expect(readFileSync(join(dir, backups()[0]!), 'utf8')).toBe(text);
      expect(warning).toContain(join(dir, backups()[0]!));
      expect(warning).toContain('default settings are in use');
      await store.update({ captureBodyCap: 1 });
      expect(readFileSync(join(dir, backups()[0]!), 'utf8')).toBe(text);
    },
  );

  it('refuses a file written by a newer Loupe instead of downgrading it', async () => {
    const text = JSON.stringify({ version: SETTINGS_VERSION + 1, bypass: [] });
    writeFileSync(file, text);
    for (const load of [loadSettings, openSettings]) {
      const err = await load(dir).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SettingsError);
      expect(err).toMatchObject({ code: 'settings_newer' });
      expect((err as Error).message).toContain(
        `settings version ${SETTINGS_VERSION + 1}; this one knows ${SETTINGS_VERSION}`,
      );
      expect((err as Error).message).toContain('--data-dir');
    }
    expect(readdirSync(dir)).toEqual([SETTINGS_FILE]);
    expect(readFileSync(file, 'utf8')).toBe(text);
  });
});
