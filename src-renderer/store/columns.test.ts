import { describe, expect, it } from 'vitest';
import { COLUMN_IDS, DEFAULT_COLUMNS, MIN_WIDTH, mergeColumnPrefs } from './columns';

describe('mergeColumnPrefs', () => {
  it('without saved preferences is the defaults', () => {
    const merged = mergeColumnPrefs(undefined);
    expect(merged.map((c) => c.id)).toEqual([...COLUMN_IDS]);
    expect(merged).toEqual(DEFAULT_COLUMNS);
  });

  it('keeps the saved order, visibility and widths; drops unknown and duplicate ids', () => {
    const merged = mergeColumnPrefs([
      { id: 'path', visible: true, width: 500 },
      { id: 'fancyNewColumn', visible: true },
      { id: 'seq', visible: false },
      { id: 'path', visible: false, width: 20 },
    ]);
    expect(merged[0]).toEqual({ id: 'path', visible: true, width: 500 });
    // A saved column without a width gets the default one.
    const seqDefault = DEFAULT_COLUMNS.find((c) => c.id === 'seq')!.width;
    expect(merged.find((c) => c.id === 'seq')).toEqual({
      id: 'seq',
      visible: false,
      width: seqDefault,
    });
    // Missing columns follow their default predecessor: type after path, status after seq…
    expect(merged.map((c) => c.id)).toEqual([
      'path',
      'type',
      'reqSize',
      'resSize',
      'duration',
      'time',
      'protocol',
      'seq',
      'status',
      'method',
      'host',
    ]);
  });

  it('puts a column missing from the saved list after its default predecessor', () => {
    const saved = DEFAULT_COLUMNS.filter((c) => c.id !== 'type').reverse();
    const ids = mergeColumnPrefs(saved).map((c) => c.id);
    expect(ids.indexOf('type')).toBe(ids.indexOf('path') + 1);
  });

  it('clamps widths and keeps at least one column visible', () => {
    const merged = mergeColumnPrefs(COLUMN_IDS.map((id) => ({ id, visible: false, width: 1 })));
    expect(merged.every((c) => c.width === MIN_WIDTH)).toBe(true);
    expect(merged.filter((c) => c.visible)).toHaveLength(1);
  });
});
