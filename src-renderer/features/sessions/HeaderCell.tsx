/**
 * One column header: a button that sorts (ascending → descending → off), dragged onto another
 * header to move the column, and an edge that resizes it (drag, or ←/→ when focused; a double
 * click restores the default width).
 */
import type { DragEvent, KeyboardEvent } from 'react';
import type { Header } from '@tanstack/react-table';
import {
  DEFAULT_COLUMNS,
  MAX_WIDTH,
  MIN_WIDTH,
  isColumnId,
  type ColumnId,
} from '../../store/columns';
import { useStore } from '../../store/store';
import type { SortSpec } from '../../store/visible';
import { COLUMN_VIEWS } from './columns';

export const HEADER_HEIGHT = 26;
const DRAG_TYPE = 'application/x-loupe-column';
const KEY_STEP_PX = 16;

function setWidth(id: ColumnId, width: (current: number) => number): void {
  const s = useStore.getState();
  s.setColumns(
    s.columns.map((c) =>
      c.id === id ? { ...c, width: Math.min(MAX_WIDTH, Math.max(MIN_WIDTH, width(c.width))) } : c,
    ),
  );
}

/** Moves column `from` to where `to` is. */
function moveColumn(from: ColumnId, to: ColumnId): void {
  if (from === to) return;
  const s = useStore.getState();
  const cols = s.columns.slice();
  const moving = cols.splice(
    cols.findIndex((c) => c.id === from),
    1,
  )[0]!;
  cols.splice(
    cols.findIndex((c) => c.id === to),
    0,
    moving,
  );
  s.setColumns(cols);
}

export function HeaderCell({ header, sort }: { header: Header<string, unknown>; sort?: SortSpec }) {
  const id = header.column.id as ColumnId;
  const view = COLUMN_VIEWS[id];
  const direction = sort?.id === id ? (sort.desc ? 'descending' : 'ascending') : 'none';
  const resizing = header.column.getIsResizing();

  const onResizeKey = (e: KeyboardEvent<HTMLDivElement>): void => {
    if (e.key !== 'ArrowLeft' && e.key !== 'ArrowRight') return;
    e.preventDefault();
    setWidth(id, (w) => w + (e.key === 'ArrowRight' ? KEY_STEP_PX : -KEY_STEP_PX));
  };
  const onDrop = (e: DragEvent<HTMLDivElement>): void => {
    const from = e.dataTransfer.getData(DRAG_TYPE);
    if (!isColumnId(from)) return;
    e.preventDefault();
    moveColumn(from, id);
  };

  return (
    <div
      className={`th${view.numeric ? ' num' : ''}${resizing ? ' resizing' : ''}`}
      role="columnheader"
      data-testid="col-header"
      data-col={id}
      aria-sort={direction}
      style={{ width: header.getSize() }}
      onDragOver={(e) => {
        if (e.dataTransfer.types.includes(DRAG_TYPE)) e.preventDefault();
      }}
      onDrop={onDrop}
    >
      <button
        type="button"
        className="th-button"
        title={`${view.title} — click to sort, drag to move`}
        draggable
        onDragStart={(e) => {
          e.dataTransfer.setData(DRAG_TYPE, id);
          e.dataTransfer.effectAllowed = 'move';
        }}
        onClick={() => useStore.getState().cycleSort(id)}
      >
        <span className="th-label">{view.label}</span>
        <span className="sort-mark" aria-hidden="true">
          {direction === 'ascending' ? '▲' : direction === 'descending' ? '▼' : ''}
        </span>
      </button>
      <div
        className="resizer"
        role="separator"
        aria-orientation="vertical"
        aria-label={`Resize ${view.title}`}
        aria-valuenow={header.getSize()}
        aria-valuemin={MIN_WIDTH}
        aria-valuemax={MAX_WIDTH}
        tabIndex={0}
        title="Drag to resize; double-click for the default width"
        onMouseDown={header.getResizeHandler()}
        onTouchStart={header.getResizeHandler()}
        onKeyDown={onResizeKey}
        onDoubleClick={() => setWidth(id, () => DEFAULT_COLUMNS.find((c) => c.id === id)!.width)}
      />
    </div>
  );
}
