/**
 * The table's keys as selection changes: arrows, Shift+arrows, Home/End, PageUp/PageDown and
 * Ctrl/⌘+A. Pure, so the bindings are tested without a DOM.
 */
import { moveBy, moveTo, selectAll, type Selection } from '../../store/selection';

export interface KeyInput {
  key: string;
  shift: boolean;
  /** ⌘ on macOS, Ctrl elsewhere. */
  mod: boolean;
}

/** The selection after `key`, or undefined when the table does not handle the key. */
export function selectionForKey(
  input: KeyInput,
  sel: Selection,
  visible: readonly string[],
  pageRows: number,
): Selection | undefined {
  const { key, shift, mod } = input;
  if (mod && !shift && key.toLowerCase() === 'a') return selectAll(sel, visible);
  if (mod) return undefined;
  switch (key) {
    case 'ArrowDown':
      return moveBy(sel, visible, 1, shift);
    case 'ArrowUp':
      return moveBy(sel, visible, -1, shift);
    case 'PageDown':
      return moveBy(sel, visible, Math.max(1, pageRows), shift);
    case 'PageUp':
      return moveBy(sel, visible, -Math.max(1, pageRows), shift);
    case 'Home':
      return moveTo(sel, visible, 0, shift);
    case 'End':
      return moveTo(sel, visible, visible.length - 1, shift);
    default:
      return undefined;
  }
}
