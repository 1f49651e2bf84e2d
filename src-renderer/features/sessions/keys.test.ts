import { describe, expect, it } from 'vitest';
import { selectionForKey } from './keys';
import { selectOne } from '../../store/selection';

const rows = Array.from({ length: 50 }, (_, i) => `r${i}`);
const key = (k: string, shift = false, mod = false) => ({ key: k, shift, mod });

describe('selectionForKey', () => {
  it('pages by the visible row count and clamps at the ends', () => {
    expect(selectionForKey(key('PageDown'), selectOne('r0'), rows, 20)?.focus).toBe('r20');
    expect(selectionForKey(key('PageDown'), selectOne('r40'), rows, 20)?.focus).toBe('r49');
    expect(selectionForKey(key('PageUp'), selectOne('r5'), rows, 20)?.focus).toBe('r0');
  });

  it('Shift+End selects to the last row; mod+A selects every shown row', () => {
    expect(selectionForKey(key('End', true), selectOne('r47'), rows, 20)?.ids.size).toBe(3);
    expect(selectionForKey(key('a', false, true), selectOne('r1'), rows, 20)?.ids.size).toBe(50);
  });

  it('leaves other keys, and modified arrows, to the page', () => {
    expect(selectionForKey(key('Enter'), selectOne('r1'), rows, 20)).toBeUndefined();
    expect(
      selectionForKey(key('ArrowDown', false, true), selectOne('r1'), rows, 20),
    ).toBeUndefined();
  });
});
