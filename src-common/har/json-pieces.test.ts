import { describe, expect, it } from 'vitest';
import { base64Pieces, isUtf8, utf8Pieces } from './fields';
import { ItemPieces, jsonPieces, Later, stringSlices, TextPieces } from './json-pieces';

const write = (value: unknown, errors: unknown[] = []): string =>
  [...jsonPieces(value, (err) => errors.push(err))].join('');

describe('jsonPieces', () => {
  it.each([
    ['a number', 1.5],
    ['a string with escapes', 'quote " backslash \\ newline \n nul \u0000 lone \ud800'],
    ['null', null],
    ['booleans in an array', [true, false]],
    ['an array with holes JSON writes null', [1, undefined, 3]],
    ['an object without its undefined keys', { a: 1, b: undefined, c: { d: [] } }],
    ['nested objects in order', { z: { y: 'x' }, a: [{ b: 'c' }] }],
  ])('writes %s as JSON.stringify does', (_name, value) => {
    expect(write(value)).toBe(JSON.stringify(value));
  });

  it('writes pieces, items and later values where plain ones would be', () => {
    const cuts: string[] = [];
    const value = {
      text: new TextPieces(() => ['a "', 'b\n', 'c']),
      list: new ItemPieces(function* () {
        yield { n: 1 };
        cuts.push('two left out');
      }),
      note: new Later(() => cuts.join()),
      none: new Later(() => undefined),
    };
    expect(JSON.parse(write(value))).toEqual({
      text: 'a "b\nc',
      list: [{ n: 1 }],
      note: 'two left out',
    });
  });

  it('closes a part whose source fails, reports it, and writes what follows', () => {
    const errors: unknown[] = [];
    const failing = function* (): Generator<string> {
      yield 'start';
      throw new Error('source gone');
    };
    const json = write(
      { text: new TextPieces(failing), items: new ItemPieces(failing), after: true },
      errors,
    );
    expect(JSON.parse(json)).toEqual({ text: 'start', items: ['start'], after: true });
    expect(errors.map((e) => (e as Error).message)).toEqual(['source gone', 'source gone']);
  });
});

describe('text in pieces', () => {
  it('never splits a surrogate pair between slices', () => {
    const text = 'ab😀cd😀😀';
    for (let size = 2; size <= text.length; size++) {
      const slices = [...stringSlices(text, size)];
      expect(slices.join('')).toBe(text);
      expect(write(new TextPieces(() => stringSlices(text, size)))).toBe(JSON.stringify(text));
    }
  });

  it('decodes UTF-8 split anywhere inside a character, and base64 in whole groups', () => {
    const bytes = new TextEncoder().encode('é😀ü€ plain');
    for (let slice = 1; slice <= bytes.length; slice++) {
      expect(isUtf8(bytes, slice)).toBe(true);
      expect([...utf8Pieces(bytes, slice)].join('')).toBe('é😀ü€ plain');
      expect([...base64Pieces(bytes, slice)].join('')).toBe(Buffer.from(bytes).toString('base64'));
    }
    expect(isUtf8(Uint8Array.from([0x61, 0xc3]), 1)).toBe(false);
  });
});
