import { spawn } from 'node:child_process';
import { once } from 'node:events';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DataDirError, defaultDataDir, ensureDataDir } from './data-dir';
import { acquireLock } from './lock';

const root = fileURLToPath(new URL('../..', import.meta.url));
const atomicWriteModule = new URL('./atomic-write.ts', import.meta.url).href;

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

/**
 * Starts atomic writes of `paths` in another process, and kills it (SIGKILL) once each has
 * written part of its temporary file: what a crash or a forced quit mid-save leaves behind.
 */
async function killMidWrite(paths: string[]): Promise<void> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '--input-type=module',
      '-e',
      `const { writeAtomically } = await import(${JSON.stringify(atomicWriteModule)});
       setInterval(() => {}, 1000);
       for (const path of ${JSON.stringify(paths)}) {
         void writeAtomically(path, 0o600, async (file) => {
           await file.write('{"half of it');
           process.stdout.write('writing\\n');
           await new Promise(() => {});
         });
       }`,
    ],
    { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const exited = once(child, 'exit');
  let writing = 0;
  for await (const line of createInterface({ input: child.stdout })) {
    expect(line).toBe('writing');
    if (++writing === paths.length) break;
  }
  expect(writing).toBe(paths.length);
  child.kill('SIGKILL');
  await exited;
}

/** Every file under `folder`, as paths relative to it, sorted. */
const filesUnder = (folder: string): string[] =>
  readdirSync(folder, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(folder.length + 1))
    .sort();

describe('leftovers of a killed run', () => {
  it('removes the temporary files of saves killed midway once the directory is locked, and nothing else', async () => {
    mkdirSync(join(dir, 'exports'));
    mkdirSync(join(dir, 'mine'));
    await killMidWrite([join(dir, 'settings.json'), join(dir, 'exports', 'flows.har')]);
    const temp = /^\.(settings\.json|flows\.har)\.[0-9a-f]{12}\.tmp$/;
    const leftovers = filesUnder(dir).filter((path) => temp.test(path.split(/[/\\]/).pop()!));
    expect(leftovers).toHaveLength(2);
    // What the user keeps there, some of it named much like a temporary file.
    const users = [
      'notes.tmp',
      '.settings.json.tmp',
      'settings.json.0123456789ab.tmp',
      '.draft.0123456789ab.tmp.bak',
      join('exports', 'flows.har'),
      join('mine', '.draft.0123456789ab.tmp'),
    ];
    for (const path of users) writeFileSync(join(dir, path), 'kept');
    const lock = await acquireLock(dir);
    expect(filesUnder(dir)).toEqual([...users, 'loupe.lock'].sort());
    await lock.release();
  });
});
