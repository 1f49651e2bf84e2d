import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS, SETTINGS_VERSION } from '../../src-common/settings';
import { writeFileAtomic } from './atomic-write';
import { defaultDataDir, ensureDataDir } from './data-dir';
import { acquireLock, LockedError } from './lock';
import { loadSettings, saveSettings, SettingsError } from './settings';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'loupe-data-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('data directory', () => {
  it.each([
    ['darwin', {}, /Library\/Application Support\/Loupe$/],
    ['win32', { APPDATA: 'C:\\Users\\me\\AppData\\Roaming' }, /Roaming.Loupe$/],
    ['linux', { XDG_CONFIG_HOME: '/xdg' }, /^\/xdg\/loupe$/],
    ['linux', {}, /\.config\/loupe$/],
  ] as const)('on %s %j', (platform, env, expected) => {
    expect(defaultDataDir(env, platform)).toMatch(expected);
  });

  it('is created readable only by its owner', async () => {
    const d = join(dir, 'nested', 'loupe');
    await ensureDataDir(d);
    expect(statSync(d).mode & 0o777).toBe(0o700);
  });
});

describe('data directory lock', () => {
  it('refuses a second holder while the first lives, and frees on release', async () => {
    const lock = await acquireLock(dir);
    // A lock file naming a live process other than us: start one and point the lock at it.
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 10000)']);
    try {
      await lock.release();
      writeFileSync(join(dir, 'loupe.lock'), JSON.stringify({ pid: child.pid }));
      const err = await acquireLock(dir).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(LockedError);
      expect((err as Error).message).toBe(
        `Another Loupe (pid ${child.pid}) is using ${dir}; quit it or pass --data-dir to use another directory.`,
      );
    } finally {
      child.kill();
    }
  });

  it('takes over a lock left by a process that no longer runs', async () => {
    const child = spawn(process.execPath, ['-e', '']);
    await new Promise((resolve) => child.on('exit', resolve));
    writeFileSync(join(dir, 'loupe.lock'), JSON.stringify({ pid: child.pid }));
    const lock = await acquireLock(dir);
    expect(JSON.parse(readFileSync(lock.path, 'utf8')).pid).toBe(process.pid);
    await lock.release();
    await lock.release();
    expect(readdirSync(dir)).toEqual([]);
  });

  it('takes over an unreadable lock file', async () => {
    writeFileSync(join(dir, 'loupe.lock'), '{half');
    const lock = await acquireLock(dir);
    await lock.release();
  });
});

describe('atomic write', () => {
  it('replaces a file whole and leaves no temporary file', async () => {
    const path = join(dir, 'f.json');
    writeFileSync(path, 'old');
    await writeFileAtomic(path, 'new', { mode: 0o600 });
    expect(readFileSync(path, 'utf8')).toBe('new');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual(['f.json']);
  });

  it('leaves what was there untouched and no temporary file when the write fails', async () => {
    // Renaming a file over a non-empty folder fails on every OS, even for root.
    const target = join(dir, 'occupied');
    await ensureDataDir(target);
    writeFileSync(join(target, 'inside'), 'kept');
    await expect(writeFileAtomic(target, 'new')).rejects.toThrow();
    expect(readFileSync(join(target, 'inside'), 'utf8')).toBe('kept');
    expect(readdirSync(dir)).toEqual(['occupied']);
  });
});

describe('settings store', () => {
  it('starts with defaults and round-trips a save, keeping unknown fields', async () => {
    expect((await loadSettings(dir)).settings).toEqual(DEFAULT_SETTINGS);
    const saved = await saveSettings(dir, {
      ...DEFAULT_SETTINGS,
      bypass: [{ pattern: '*.bank.test', enabled: true }],
      futureField: { kept: true },
    } as typeof DEFAULT_SETTINGS);
    const loaded = await loadSettings(dir);
    expect(loaded.warning).toBeUndefined();
    expect(loaded.settings).toEqual(saved);
    expect((loaded.settings as unknown as { futureField: unknown }).futureField).toEqual({
      kept: true,
    });
  });

  it('refuses to save an invalid bypass pattern, with the reason', async () => {
    await expect(
      saveSettings(dir, { ...DEFAULT_SETTINGS, bypass: [{ pattern: '*.', enabled: true }] }),
    ).rejects.toThrow(/needs a domain/);
  });

  it.each([
    ['bad JSON', '{"version": 1,', /not valid JSON/],
    ['a wrong shape', '{"version": 1, "bypass": "all"}', /'bypass' must be a list/],
    [
      'a bad pattern',
      '{"version": 1, "bypass": [{"pattern": "a b", "enabled": true}]}',
      /cannot contain spaces/,
    ],
  ])('keeps a corrupt file (%s) as a backup and uses defaults', async (_name, text, reason) => {
    writeFileSync(join(dir, 'settings.json'), text);
    const loaded = await loadSettings(dir);
    expect(loaded.settings).toEqual(DEFAULT_SETTINGS);
    expect(loaded.warning).toMatch(reason);
    const backups = readdirSync(dir).filter((f) => f.startsWith('settings.json.corrupt-'));
    expect(backups).toHaveLength(1);
    expect(readFileSync(join(dir, backups[0]!), 'utf8')).toBe(text);
    expect(loaded.warning).toContain(backups[0]);
  });

  it('refuses a file written by a newer Loupe instead of downgrading it', async () => {
    const text = JSON.stringify({ version: SETTINGS_VERSION + 1, bypass: [] });
    writeFileSync(join(dir, 'settings.json'), text);
    await expect(loadSettings(dir)).rejects.toBeInstanceOf(SettingsError);
    expect(readFileSync(join(dir, 'settings.json'), 'utf8')).toBe(text);
  });
});
