import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeFsError } from './fs-error';

const path = join('data', 'settings.json');
const failure = (code: string, message = `${code}: raw words, write`): NodeJS.ErrnoException =>
  Object.assign(new Error(message), { code, syscall: 'write' });

describe('file-system failures in words', () => {
  it.each([
    ['ENOSPC', 'the disk is full (ENOSPC); free some space, then try again'],
    ['EDQUOT', 'your disk quota is used up (EDQUOT); free some space, then try again'],
    ['EROFS', 'the disk is read-only (EROFS); save to another disk'],
    ['EACCES', `permission denied (EACCES); check that you may write in ${join('data')}`],
    ['EIO', 'the disk reported an input/output error (EIO); check the disk'],
    ['EMFILE', 'Loupe has too many files open (EMFILE); try again later'],
    ['EXDEV', 'EXDEV: raw words, write'],
  ])('%s: %s', (code, reason) => {
    expect(describeFsError(failure(code), path)).toBe(`Loupe could not save ${path}: ${reason}`);
  });

  it('gives the message of an error without a system code', () => {
    expect(describeFsError(new Error('stream destroyed'), path)).toBe(
      `Loupe could not save ${path}: stream destroyed`,
    );
  });
});
