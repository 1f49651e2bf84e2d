import { describe, expect, it } from 'vitest';
import {
  EMPTY_SELECTION,
  moveBy,
  moveTo,
  selectAll,
  selectOne,
  selectRange,
  toggleOne,
} from './selection';

const rows = ['a', 'b', 'c', 'd', 'e'];
const ids = (s: { ids: ReadonlySet<string> }) => [...s.ids].sort();

describe('selection', () => {
  it('Shift+click selects from the anchor to the row, either direction', () => {
    const s = selectRange(selectOne('d'), rows, 'b');
    expect(ids(s)).toEqual(['b', 'c', 'd']);
    expect(s.anchor).toBe('d');
    expect(s.focus).toBe('b');
    expect(ids(selectRange(s, rows, 'e'))).toEqual(['d', 'e']);
  });

  it('Ctrl+click toggles one row and moves the anchor there', () => {
    const s = toggleOne(toggleOne(selectOne('a'), 'c'), 'a');
    expect(ids(s)).toEqual(['c']);
    expect(s.anchor).toBe('a');
    expect(ids(selectRange(toggleOne(selectOne('a'), 'c'), rows, 'e'))).toEqual(['c', 'd', 'e']);
  });

  it('arrows move a single selection and stop at the ends', () => {
    expect(ids(moveBy(selectOne('b'), rows, 1, false))).toEqual(['c']);
    expect(ids(moveBy(selectOne('e'), rows, 1, false))).toEqual(['e']);
    expect(ids(moveBy(selectOne('a'), rows, -10, false))).toEqual(['a']);
  });

  it('entering the list: down starts at the first row, up at the last', () => {
    expect(ids(moveBy(EMPTY_SELECTION, rows, 1, false))).toEqual(['a']);
    expect(ids(moveBy(EMPTY_SELECTION, rows, -1, false))).toEqual(['e']);
    expect(moveBy(EMPTY_SELECTION, [], 1, false)).toBe(EMPTY_SELECTION);
  });

  it('Shift+arrows extend from the anchor and shrink back', () => {
    let s = selectOne('c');
    s = moveBy(s, rows, 1, true);
    s = moveBy(s, rows, 1, true);
    expect(ids(s)).toEqual(['c', 'd', 'e']);
    s = moveBy(s, rows, -3, true);
    expect(ids(s)).toEqual(['b', 'c']);
    expect(s.focus).toBe('b');
  });

  it('Home/End and select-all', () => {
    expect(ids(moveTo(selectOne('c'), rows, rows.length - 1, true))).toEqual(['c', 'd', 'e']);
    expect(ids(moveTo(selectOne('c'), rows, 0, false))).toEqual(['a']);
    const all = selectAll(selectOne('c'), rows);
    expect(ids(all)).toEqual(rows);
    expect(all.focus).toBe('c');
  });
});
