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
import { diskFull } from '../test-support/disk';
import { injectWriteFault } from './atomic-write';
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
/** A list inside `levels` lists: deep enough that walking it by recursion exhausts the stack. */
const deepList = (levels: number): unknown => {
  let value: unknown = [];
  for (let i = 0; i < levels; i++) value = [value];
  return value;
};
const DEEP = 100_000;
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
    ['{"bypass": [{"pattern": "a b", "enabled": true}]}', /'version' must be/],
  ])('%j is corrupt: %s', (text, problem) => {
    const read = readSettingsText(text);
    expect(read.kind).toBe('corrupt');
    if (read.kind === 'corrupt') expect(read.problem).toMatch(problem);
  });

  const learned = (host: string) => ({ host, reason: 'r', learnedAt: 1, expiresAt: 2 });

  it('drops a malformed autoBypass entry alone, naming the list, the entry and why', () => {
    const text = JSON.stringify({
      version: 1,
      autoBypass: [learned('a.test'), { host: 'b.test' }, learned('c.test')],
      bypass: [{ pattern: 'kept.test', enabled: true }],
    });
    expect(readSettingsText(text)).toEqual({
      kind: 'ok',
      settings: {
        ...DEFAULT_SETTINGS,
        autoBypass: [learned('a.test'), learned('c.test')],
        bypass: [{ pattern: 'kept.test', enabled: true }],
      },
      dropped: [
        "'autoBypass' entry 2 was dropped: needs 'host', 'reason', 'learnedAt' and 'expiresAt'",
      ],
    });
  });

  // Every list in the settings follows the same rule: a bad entry goes alone, in words.
  it.each([
    [
      {
        bypass: [
          { pattern: 'a b', enabled: true },
          { pattern: 'ok.test', enabled: true },
        ],
      },
      { bypass: [{ pattern: 'ok.test', enabled: true }] },
      ["'bypass' entry 1 was dropped: 'a b': a host name cannot contain spaces"],
    ],
    [
      { bypass: [{ pattern: 'ok.test', enabled: true }, { pattern: 'x.test' }] },
      { bypass: [{ pattern: 'ok.test', enabled: true }] },
      ["'bypass' entry 2 was dropped: needs a 'pattern' text and an 'enabled' true/false"],
    ],
    [
      { allowInvalidUpstreamCertificates: [5, 'ok.test', '10.0.0.0/33'] },
      { allowInvalidUpstreamCertificates: ['ok.test'] },
      [
        "'allowInvalidUpstreamCertificates' entry 1 was dropped: must be a host pattern text",
        "'allowInvalidUpstreamCertificates' entry 3 was dropped: '10.0.0.0/33': an IPv4 prefix length is at most 32",
      ],
    ],
    [
      {
        ui: {
          columns: [
            { id: 'host', visible: 'yes' },
            { id: 'url', visible: true },
          ],
        },
      },
      { ui: { columns: [{ id: 'url', visible: true }] } },
      [
        "'ui.columns' entry 1 was dropped: needs an 'id', 'visible' true/false and a 'width' of 16–4000 px if any",
      ],
    ],
    [
      { ui: { pinnedHosts: ['a.test', ''], sidebarVisible: false } },
      { ui: { pinnedHosts: ['a.test'], sidebarVisible: false } },
      [
        "'ui.pinnedHosts' entry 2 was dropped: 'pinnedHosts' must be a list of at most 200 host names",
      ],
    ],
    [
      { ui: { pinnedHosts: Array.from({ length: 203 }, (_, i) => `h${i}.test`) } },
      { ui: { pinnedHosts: Array.from({ length: 200 }, (_, i) => `h${i}.test`) } },
      [
        "'ui.pinnedHosts' kept its first 200 entries and dropped the other 3: 'pinnedHosts' must be a list of at most 200 host names",
      ],
    ],
  ])('drops only the bad entries of %j', (fields, kept, dropped) => {
    const text = JSON.stringify({ version: 1, theme: 'dark', ...fields });
    expect(readSettingsText(text)).toEqual({
      kind: 'ok',
      settings: { ...DEFAULT_SETTINGS, theme: 'dark', ...kept },
      dropped,
    });
  });

  it.each([
    ['captureBodyCap', -1, "'captureBodyCap' must be a whole number of bytes from 0 to 1 GiB"],
    [
      'captureWebSocketCap',
      2 ** 31,
      "'captureWebSocketCap' must be a whole number of bytes from 0 to 1 GiB",
    ],
    ['autoBypassHours', 'a day', "'autoBypassHours' must be a number of hours from 0 to 8760"],
    ['stripAltSvcH3', 'yes', "'stripAltSvcH3' must be true or false"],
    [
      'requestHeadTimeoutSeconds',
      0,
      "'requestHeadTimeoutSeconds' must be a whole number of seconds from 1 to 3600 (an hour)",
    ],
    [
      'keepAliveTimeoutSeconds',
      '2m',
      "'keepAliveTimeoutSeconds' must be a whole number of seconds from 1 to 86400 (a day)",
    ],
    [
      'tunnelIdleTimeoutSeconds',
      -1,
      "'tunnelIdleTimeoutSeconds' must be a whole number of seconds from 0 (never) to 604800 (a week)",
    ],
    ['proxyPort', 70_000, "'proxyPort' must be a port number from 1 to 65535"],
    ['bypass', 'all', "'bypass' must be a list"],
    ['ui', [], 'must be an object'],
  ])('resets %s with the bad value %j to its default, keeping the rest', (key, value, why) => {
    // Another field with a good value, which stays.
    const text = JSON.stringify({ version: 1, captureBodyCap: 0, [key]: value });
    const reset = key === 'captureBodyCap' ? {} : { captureBodyCap: 0 };
    expect(readSettingsText(text)).toEqual({
      kind: 'ok',
      settings: { ...DEFAULT_SETTINGS, ...reset },
      dropped: [`'${key}' was reset to its default: ${why}`],
    });
  });

  it('resets a ui field with a bad value to its default, keeping the other ui fields', () => {
    const text = JSON.stringify({ version: 1, ui: { sidebarWidth: 99_999, sidebarVisible: true } });
    expect(readSettingsText(text)).toEqual({
      kind: 'ok',
      settings: { ...DEFAULT_SETTINGS, ui: { sidebarVisible: true } },
      dropped: ["'ui.sidebarWidth' was reset to its default: 'sidebarWidth' must be 16–4000 px"],
    });
  });

  it('recognises a file from a newer Loupe, even one this version could not otherwise read', () => {
    const text = JSON.stringify({ version: SETTINGS_VERSION + 1, bypass: 'a new shape' });
    expect(readSettingsText(text)).toEqual({ kind: 'newer', version: SETTINGS_VERSION + 1 });
  });
});

describe('applying a change (pure)', () => {
  const current: Settings = { ...DEFAULT_SETTINGS, future: 1 } as Settings;

  it('takes the limits on client connections, 0 turning only the tunnel limit off', () => {
    const limits = {
      requestHeadTimeoutSeconds: 1,
      firstRequestTimeoutSeconds: 3600,
      keepAliveTimeoutSeconds: 86_400,
      tunnelIdleTimeoutSeconds: 0,
    };
    expect(applySettingsPatch(current, limits)).toEqual({
      ok: true,
      settings: { ...current, ...limits },
    });
  });

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
    [{ captureWebSocketCap: -1 }, "'captureWebSocketCap' must be a whole number"],
    [{ firstRequestTimeoutSeconds: 1.5 }, "'firstRequestTimeoutSeconds' must be a whole number"],
    [{ firstRequestTimeoutSeconds: 3601 }, 'from 1 to 3600 (an hour)'],
    [{ keepAliveTimeoutSeconds: 0 }, 'from 1 to 86400 (a day)'],
    [{ tunnelIdleTimeoutSeconds: 604_801 }, 'from 0 (never) to 604800 (a week)'],
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

  it('refuses a change nested too deep to save, in words', () => {
    expect(applySettingsPatch(current, { ui: { later: deepList(DEEP) } })).toEqual({
      ok: false,
      error: 'the change is nested deeper than 64 levels',
    });
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

  it('refuses a change nested too deep to save, and saves the next one', async () => {
    const { store } = await openSettings(dir);
    const err = await store
      .update({ ui: { later: deepList(DEEP) } as Settings['ui'] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SettingsError);
    expect(err).toMatchObject({
      code: 'settings_invalid',
      message: 'Settings not saved: the change is nested deeper than 64 levels.',
    });
    expect(readdirSync(dir)).toEqual([]);
    expect((await store.update({ captureBodyCap: 7 })).captureBodyCap).toBe(7);
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

  it('says a full disk in words when a change cannot be saved, keeping the file and the settings', async () => {
    const { store } = await openSettings(dir);
    await store.update({ captureBodyCap: 1024 });
    const before = readFileSync(file);
    const undo = injectWriteFault(() => diskFull());
    const err = await store.update({ captureBodyCap: 5 }).catch((e: unknown) => e);
    undo();
    expect(err).toBeInstanceOf(SettingsError);
    expect(err).toMatchObject({
      code: 'settings_not_saved',
      message: `Loupe could not save ${file}: the disk is full (ENOSPC); free some space, then try again. The settings are as they were.`,
    });
    expect(readFileSync(file)).toEqual(before);
    expect(readdirSync(dir)).toEqual([SETTINGS_FILE]);
    expect(store.get().captureBodyCap).toBe(1024);
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
    ['no object', '[{"version": 1}]', /not a JSON object/],
    ['no version', '{"bypass": [{"pattern": "a.test", "enabled": true}]}', /'version' must be/],
    [
      'a list 100,000 deep inside ui',
      `{"version": 1, "ui": {"later": ${'['.repeat(DEEP)}${']'.repeat(DEEP)}}}`,
      /\(the file is nested deeper than 64 levels\)/,
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

  it('uses the rest of a file with a bad entry, says which and why, and leaves the file as it was', async () => {
    const text = JSON.stringify({
      version: 1,
      autoBypass: [{ host: 'b.test' }],
      bypass: [{ pattern: 'kept.test', enabled: true }],
      captureBodyCap: 'lots',
    });
    writeFileSync(file, text);
    const { store, warning } = await openSettings(dir);
    expect(store.get()).toEqual({
      ...DEFAULT_SETTINGS,
      bypass: [{ pattern: 'kept.test', enabled: true }],
    });
    expect(warning).toMatch(
      /^Parts of .*settings\.json could not be used and are left out: 'autoBypass' entry 1 was dropped: needs 'host', 'reason', 'learnedAt' and 'expiresAt'; 'captureBodyCap' was reset to its default: .*\. The rest is in use\./,
    );
    expect(readdirSync(dir)).toEqual([SETTINGS_FILE]);
    expect(readFileSync(file, 'utf8')).toBe(text);
    // Reading again changes nothing either.
    await openSettings(dir);
    expect(readdirSync(dir)).toEqual([SETTINGS_FILE]);
    expect(readFileSync(file, 'utf8')).toBe(text);
  });

  it('copies a file with bad entries aside before it first saves over it, once', async () => {
    const text = JSON.stringify({ version: 1, bypass: [{ pattern: 'a b', enabled: true }] });
    writeFileSync(file, text);
    const { store, warning } = await openSettings(dir);
    await store.update({ captureBodyCap: 1 });
    await store.update({ captureBodyCap: 2 });
    const aside = readdirSync(dir).filter((f) => f !== SETTINGS_FILE);
    expect(aside).toHaveLength(1);
    expect(aside[0]).toMatch(
      /^settings\.json\.before-repair-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z$/,
    );
    expect(warning).toContain(join(dir, aside[0]!));
    expect(readFileSync(join(dir, aside[0]!), 'utf8')).toBe(text);
    expect(onDisk()).toEqual({ ...DEFAULT_SETTINGS, captureBodyCap: 2 });
  });

  it('says so when the copy of a file with bad entries cannot be made, and saves nothing', async () => {
    const text = JSON.stringify({ version: 1, bypass: [{ pattern: 'a b', enabled: true }] });
    writeFileSync(file, text);
    const { store, warning } = await openSettings(dir);
    const aside = /first copied to (.+)\.$/.exec(warning!)![1]!;
    // Something already in the copy's place: the copy never overwrites.
    mkdirSync(aside);
    const err = await store.update({ captureBodyCap: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SettingsError);
    expect(err).toMatchObject({ code: 'settings_not_saved' });
    expect((err as Error).message).toMatch(/^Loupe could not save .*: EEXIST: /);
    expect((err as Error).message).toContain(`save ${aside}: `);
    expect((err as Error).message).toMatch(/\. The settings are as they were\.$/);
    expect(readFileSync(file, 'utf8')).toBe(text);
  });

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
