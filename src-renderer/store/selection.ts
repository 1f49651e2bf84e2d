/**
 * Multi-selection over the shown rows, as every file manager and table does it: a click selects
 * one row, Ctrl/⌘+click toggles one, Shift+click selects the range from the anchor; arrow keys
 * move the focus (Shift extends from the anchor). Pure functions over the shown ids, so the table
 * stays thin and the rules are tested.
 */

export interface Selection {
  ids: ReadonlySet<string>;
  /** Where a Shift range starts: the last row clicked or moved to without Shift. */
  anchor?: string;
  /** The row the keyboard is on (scrolled into view). */
  focus?: string;
}

export const EMPTY_SELECTION: Selection = { ids: new Set() };

/** Only `id`. */
export function selectOne(id: string): Selection {
  return { ids: new Set([id]), anchor: id, focus: id };
}

/** Adds or removes `id`, which becomes the anchor for a later Shift+click. */
export function toggleOne(sel: Selection, id: string): Selection {
  const ids = new Set(sel.ids);
  if (ids.has(id)) ids.delete(id);
  else ids.add(id);
  return { ids, anchor: id, focus: id };
}

/** The shown rows from the anchor to `id`, both included; without an anchor just `id`. */
export function selectRange(sel: Selection, visible: readonly string[], id: string): Selection {
  const to = visible.indexOf(id);
  const from = sel.anchor === undefined ? -1 : visible.indexOf(sel.anchor);
  if (to < 0) return sel;
  if (from < 0) return selectOne(id);
  const [lo, hi] = from <= to ? [from, to] : [to, from];
  return { ids: new Set(visible.slice(lo, hi + 1)), anchor: sel.anchor, focus: id };
}

/** Every shown row; the focus stays where it was, or goes to the first row. */
export function selectAll(sel: Selection, visible: readonly string[]): Selection {
  if (visible.length === 0) return EMPTY_SELECTION;
  const focus = sel.focus !== undefined && visible.includes(sel.focus) ? sel.focus : visible[0];
  return { ids: new Set(visible), anchor: sel.anchor ?? visible[0], focus };
}

/**
 * Moves the focus to `index` (clamped to the shown rows): alone, or with Shift (`extend`) as the
 * range from the anchor.
 */
export function moveTo(
  sel: Selection,
  visible: readonly string[],
  index: number,
  extend: boolean,
): Selection {
  if (visible.length === 0) return sel;
  const id = visible[Math.max(0, Math.min(visible.length - 1, index))]!;
  if (!extend) return selectOne(id);
  return selectRange(
    sel.anchor === undefined ? { ...sel, anchor: sel.focus ?? id } : sel,
    visible,
    id,
  );
}

/**
 * Moves the focus by `delta` rows. With nothing focused (or the focus filtered away), down starts
 * at the first row and up at the last, as in a list the user has not entered yet.
 */
export function moveBy(
  sel: Selection,
  visible: readonly string[],
  delta: number,
  extend: boolean,
): Selection {
  const at = sel.focus === undefined ? -1 : visible.indexOf(sel.focus);
  if (at < 0) return moveTo(sel, visible, delta > 0 ? 0 : visible.length - 1, extend);
  return moveTo(sel, visible, at + delta, extend);
}
