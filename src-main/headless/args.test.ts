import { describe, expect, it } from 'vitest';
import { HEADLESS_HELP, parseHeadlessArgs, UsageError } from './args';

describe('--body-memory', () => {
  it.each([
    ['32', 32 * 1024 * 1024],
    ['0', 0],
    ['1048576', 1024 ** 4],
  ])('reads %s MiB as %d bytes', (text, bytes) => {
    expect(parseHeadlessArgs(['--body-memory', text]).bodyMemoryBudget).toBe(bytes);
  });

  it('leaves the budget to the store when absent', () => {
    expect(parseHeadlessArgs([])).not.toHaveProperty('bodyMemoryBudget');
  });

  it.each(['', '-1', '1.5', '32MB', '0x20', '1048577', '99999999'])(
    'refuses %j in one sentence',
    (text) => {
      expect(() => parseHeadlessArgs([`--body-memory=${text}`])).toThrow(
        new UsageError(
          `--body-memory takes a whole number of MiB from 0 to 1048576, not '${text}'`,
        ),
      );
    },
  );

  it('is in --help', () => {
    expect(HEADLESS_HELP).toMatch(/^ {2}--body-memory MB {6}\S/m);
  });
});
