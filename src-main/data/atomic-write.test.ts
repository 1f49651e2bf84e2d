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
import { diskFull } from '../test-support/disk';
import { injectWriteFault, writeAtomically, writeFileAtomic } from './atomic-write';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'loupe-atomic-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('atomic write', () => {
  it('creates a file, or replaces one whole, and leaves no temporary file', async () => {
    const path = join(dir, 'f.json');
    await writeFileAtomic(path, 'first');
    expect(readFileSync(path, 'utf8')).toBe('first');
    await writeFileAtomic(path, new TextEncoder().encode('second'));
    expect(readFileSync(path, 'utf8')).toBe('second');
    expect(readdirSync(dir)).toEqual(['f.json']);
  });

  it.skipIf(process.platform === 'win32')(
    'gives the file the mode asked for, umask or not',
    async () => {
      const path = join(dir, 'secret');
      writeFileSync(path, 'old', { mode: 0o644 });
      const previous = process.umask(0);
      try {
        await writeFileAtomic(path, 'new', { mode: 0o600 });
      } finally {
        process.umask(previous);
      }
      expect(statSync(path).mode & 0o777).toBe(0o600);
    },
  );

  it('leaves the old file and no temporary file when the rename fails', async () => {
    // Renaming a file over a non-empty folder fails on every OS, even for root.
    const target = join(dir, 'occupied');
    mkdirSync(target);
    writeFileSync(join(target, 'inside'), 'kept');
    await expect(writeFileAtomic(target, 'new')).rejects.toThrow();
    expect(readFileSync(join(target, 'inside'), 'utf8')).toBe('kept');
    expect(readdirSync(dir)).toEqual(['occupied']);
  });

  it('leaves the old file and no temporary file when writing fails midway', async () => {
    const path = join(dir, 'flows.har');
    writeFileSync(path, 'the old export');
    const failure = writeAtomically(path, 0o644, async (file) => {
      await file.write('half of the new one');
      throw new Error('disk full');
    });
    await expect(failure).rejects.toThrow('disk full');
    expect(readFileSync(path, 'utf8')).toBe('the old export');
    expect(readdirSync(dir)).toEqual(['flows.har']);
  });

  it('says a full disk in words, keeping the system code, and leaves the old file', async () => {
    const path = join(dir, 'settings.json');
    writeFileSync(path, 'the old settings');
    const undo = injectWriteFault((target) => (target === path ? diskFull() : undefined));
    try {
      await expect(writeFileAtomic(path, 'the new settings')).rejects.toMatchObject({
        code: 'ENOSPC',
        path,
        message: `Loupe could not save ${path}: the disk is full (ENOSPC); free some space, then try again`,
      });
    } finally {
      undo();
    }
    expect(readFileSync(path, 'utf8')).toBe('the old settings');
    expect(readdirSync(dir)).toEqual(['settings.json']);
  });

  it("passes on a failure to read another file as it is, not as this file's", async () => {
    const failure = writeAtomically(join(dir, 'flows.har'), 0o644, async (file) => {
      await file.write(readFileSync(join(dir, 'a spilled body that is gone')));
    });
    await expect(failure).rejects.toMatchObject({
      code: 'ENOENT',
      message: expect.stringMatching(/^ENOENT: no such file or directory, open /),
    });
  });

  it('fails plainly when the folder does not exist', async () => {
    await expect(writeFileAtomic(join(dir, 'missing', 'f'), 'x')).rejects.toMatchObject({
      code: 'ENOENT',
    });
  });
});
