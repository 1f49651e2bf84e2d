/**
 * The session table's columns as data: their ids (which tests and saved preferences use), default
 * widths and visibility, the value each sorts by, and the merge of saved preferences over the
 * defaults. How a cell looks is the sessions feature's business (features/sessions/columns.tsx).
 */
import type { FlowSummary } from '../../src-common/api/contract';
import type { ColumnPreference } from '../../src-common/settings';
import {
  flowAuthority,
  flowContentType,
  flowDuration,
  flowMethod,
  flowPath,
  flowProtocol,
  flowRequestSize,
  flowResponseSize,
  flowStatus,
} from '../../src-common/flow-view';

/** Every column id, in the default order. Stable: saved preferences and tests name them. */
export const COLUMN_IDS = [
  'seq',
  'status',
  'method',
  'host',
  'path',
  'type',
  'reqSize',
  'resSize',
  'duration',
  'time',
  'protocol',
] as const;
export type ColumnId = (typeof COLUMN_IDS)[number];

/** Widths in pixels; columns narrower than MIN_WIDTH are unreadable, so resizing stops there. */
export const MIN_WIDTH = 32;
export const MAX_WIDTH = 2000;

/** The default set fits beside the sidebar in a 1280 px window. */
export const DEFAULT_COLUMNS: readonly Required<ColumnPreference>[] = [
  { id: 'seq', visible: true, width: 48 },
  { id: 'status', visible: true, width: 66 },
  { id: 'method', visible: true, width: 78 },
  { id: 'host', visible: true, width: 170 },
  { id: 'path', visible: true, width: 300 },
  { id: 'type', visible: true, width: 120 },
  { id: 'reqSize', visible: false, width: 86 },
  { id: 'resSize', visible: true, width: 86 },
  { id: 'duration', visible: true, width: 86 },
  { id: 'time', visible: true, width: 96 },
  { id: 'protocol', visible: true, width: 110 },
];

export function isColumnId(id: string): id is ColumnId {
  return (COLUMN_IDS as readonly string[]).includes(id);
}

/** A column as the table lays it out: every known id exactly once, in the user's order. */
export interface ColumnLayout {
  id: ColumnId;
  visible: boolean;
  width: number;
}

const clampWidth = (w: number): number => Math.min(MAX_WIDTH, Math.max(MIN_WIDTH, Math.round(w)));

/**
 * Saved preferences over the defaults: saved columns keep their order, visibility and width;
 * ids this version does not know (a newer or older Loupe's) and duplicates are dropped; known
 * columns missing from the saved list go back at their default place (after the column that
 * precedes them by default), so a new column appears where a user would expect it. At least one
 * column stays visible.
 */
export function mergeColumnPrefs(saved: readonly ColumnPreference[] | undefined): ColumnLayout[] {
  const out: ColumnLayout[] = [];
  const seen = new Set<string>();
  for (const pref of saved ?? []) {
    if (!isColumnId(pref.id) || seen.has(pref.id)) continue;
    seen.add(pref.id);
    const def = DEFAULT_COLUMNS.find((c) => c.id === pref.id)!;
    out.push({
      id: pref.id,
      visible: pref.visible,
      width: clampWidth(pref.width ?? def.width),
    });
  }
  DEFAULT_COLUMNS.forEach((def, index) => {
    if (seen.has(def.id)) return;
    // Every earlier default column is in `out` by now (saved, or put back by this loop).
    const before = index > 0 ? DEFAULT_COLUMNS[index - 1]!.id : undefined;
    const at = out.findIndex((c) => c.id === before) + 1;
    out.splice(at, 0, { id: def.id as ColumnId, visible: def.visible, width: def.width });
  });
  if (!out.some((c) => c.visible)) out[0]!.visible = true;
  return out;
}

/** The layout as saved in the settings. */
export function toColumnPrefs(layout: readonly ColumnLayout[]): ColumnPreference[] {
  return layout.map(({ id, visible, width }) => ({ id, visible, width }));
}

/** The value a column sorts by; undefined (pending, no response) sorts before any value. */
export function sortValue(id: ColumnId, f: FlowSummary): string | number | undefined {
  switch (id) {
    case 'seq':
      return f.seq;
    case 'status':
      return flowStatus(f);
    case 'method':
      return flowMethod(f);
    case 'host':
      return flowAuthority(f);
    case 'path':
      return flowPath(f);
    case 'type':
      return flowContentType(f);
    case 'reqSize':
      return flowRequestSize(f);
    case 'resSize':
      return flowResponseSize(f);
    case 'duration':
      return flowDuration(f);
    case 'time':
      return f.startedAt;
    case 'protocol':
      return flowProtocol(f);
  }
}
