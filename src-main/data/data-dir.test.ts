import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DataDirError, defaultDataDir, ensureDataDir } from './data-dir';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'loupe-dir-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const posixOnly = it.skipIf(process.platform === 'win32');

describe('default data directory', () => {
  it.each([
    ['darwin', {}, '/Users/me', '/Users/me/Library/Application Support/Loupe'],
    [
      'darwin',
      { XDG_CONFIG_HOME: '/xdg' },
      '/Users/me',
      '/Users/me/Library/Application Support/Loupe',
    ],
    ['win32', { APPDATA: 'D:\\Roaming' }, 'C:\\Users\\me', 'D:\\Roaming\\Loupe'],
    ['win32', {}, 'C:\\Users\\me', 'C:\\Users\\me\\AppData\\Roaming\\Loupe'],
    ['linux', { XDG_CONFIG_HOME: '/xdg' }, '/home/me', '/xdg/loupe'],
    ['linux', {}, '/home/me', '/home/me/.config/loupe'],
    ['linux', { XDG_CONFIG_HOME: '' }, '/home/me', '/home/me/.config/loupe'],
    ['linux', { XDG_CONFIG_HOME: 'relative/cfg' }, '/home/me', '/home/me/.config/loupe'],
    ['freebsd', { XDG_CONFIG_HOME: '/xdg' }, '/home/me', '/xdg/loupe'],
  ] as const)('on %s with %j and home %s: %s', (platform, env, home, expected) => {
    expect(defaultDataDir(env, platform, home)).toBe(expected);
  });

  it('uses this user and OS when called without arguments', () => {
    expect(defaultDataDir()).toMatch(/[/\\](Loupe|loupe)$/);
  });
});

describe('creating the data directory', () => {
  posixOnly(
    'creates missing folders, the last readable only by its owner, umask or not',
    async () => {
      const target = join(dir, 'nested', 'loupe');
      const previous = process.umask(0);
      try {
        await ensureDataDir(target);
      } finally {
        process.umask(previous);
      }
      expect(statSync(target).mode & 0o777).toBe(0o700);
      await ensureDataDir(target);
      expect(statSync(target).isDirectory()).toBe(true);
    },
  );

  posixOnly('leaves the mode of a folder that already exists', async () => {
    const target = join(dir, 'mine');
    mkdirSync(target);
    chmodSync(target, 0o755);
    await ensureDataDir(target);
    expect(statSync(target).mode & 0o777).toBe(0o755);
  });

  it.each([
    ['is a file', (file: string) => file],
    ['lies under a file', (file: string) => join(file, 'sub')],
  ])('refuses a path that %s, saying so', async (_name, pathFrom) => {
    const file = join(dir, 'a-file');
    writeFileSync(file, '');
    const err = await ensureDataDir(pathFrom(file)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DataDirError);
    expect(err).toMatchObject({ code: 'data_dir_not_folder' });
    expect((err as Error).message).toContain('pass --data-dir with a folder');
  });
});
