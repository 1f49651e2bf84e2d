/**
 * The session table: @tanstack/react-table owns the columns (definitions, order, visibility,
 * drag-to-resize) and @tanstack/react-virtual the rows (fixed 24 px, only the visible ones plus a
 * few in the DOM). Sorting and filtering happen in the store (store/visible.ts), incrementally,
 * so the table only lays out ids. Mouse and keys change the selection through store/selection.ts.
 */
import { useMemo, useRef, type KeyboardEvent, type MouseEvent } from 'react';
import {
  getCoreRowModel,
  useReactTable,
  type ColumnDef,
  type Updater,
  type ColumnSizingState,
} from '@tanstack/react-table';
import { useVirtualizer } from '@tanstack/react-virtual';
import { hasMod } from '../../components/keys';
import {
  COLUMN_IDS,
  DEFAULT_COLUMNS,
  MAX_WIDTH,
  MIN_WIDTH,
  type ColumnLayout,
} from '../../store/columns';
import { selectOne, selectRange, toggleOne } from '../../store/selection';
import { useStore } from '../../store/store';
import { COLUMN_VIEWS } from './columns';
import { FlowRow, ROW_HEIGHT, rowDomId } from './FlowRow';
import { HeaderCell, HEADER_HEIGHT } from './HeaderCell';
import { selectionForKey } from './keys';
import { useLiveTail } from './tail';

const NO_ROWS: string[] = [];
const OVERSCAN = 6;

const COLUMN_DEFS: ColumnDef<string>[] = COLUMN_IDS.map((id) => ({
  id,
  header: COLUMN_VIEWS[id].label,
  size: DEFAULT_COLUMNS.find((c) => c.id === id)!.width,
  minSize: MIN_WIDTH,
  maxSize: MAX_WIDTH,
}));

/** Scrolls `el` just enough to show row `index` below the sticky header. */
function ensureVisible(el: HTMLElement, index: number): void {
  const top = index * ROW_HEIGHT;
  const bottom = top + ROW_HEIGHT;
  const viewRows = el.clientHeight - HEADER_HEIGHT;
  if (top < el.scrollTop) el.scrollTop = top;
  else if (bottom > el.scrollTop + viewRows) el.scrollTop = bottom - viewRows;
}

export function SessionTable() {
  // The shown ids grow in place; their version is what changes when they do.
  useStore((s) => s.visibleVersion);
  const visibleIds = useStore((s) => s.visibleIds);
  const selection = useStore((s) => s.selection);
  const layout = useStore((s) => s.columns);
  const sort = useStore((s) => s.sort);
  const electron = useStore((s) => s.system?.mode === 'electron');
  const scrollRef = useRef<HTMLDivElement>(null);

  const tableState = useMemo(
    () => ({
      columnOrder: layout.map((c) => c.id),
      columnVisibility: Object.fromEntries(layout.map((c) => [c.id, c.visible])),
      columnSizing: Object.fromEntries(layout.map((c) => [c.id, c.width])),
    }),
    [layout],
  );
  const table = useReactTable({
    data: NO_ROWS,
    columns: COLUMN_DEFS,
    state: tableState,
    getCoreRowModel: getCoreRowModel(),
    columnResizeMode: 'onChange',
    enableSorting: false,
    onColumnSizingChange: (updater: Updater<ColumnSizingState>) => {
      // Read the store, not this render's closure: a drag fires many changes between renders.
      const s = useStore.getState();
      const current = Object.fromEntries(s.columns.map((c) => [c.id, c.width]));
      const next = typeof updater === 'function' ? updater(current) : updater;
      s.setColumns(
        s.columns.map((c) => ({
          ...c,
          width: Math.min(MAX_WIDTH, Math.max(MIN_WIDTH, Math.round(next[c.id] ?? c.width))),
        })),
      );
    },
  });

  const shown: readonly ColumnLayout[] = useMemo(() => layout.filter((c) => c.visible), [layout]);
  const totalWidth = useMemo(() => shown.reduce((sum, c) => sum + c.width, 0), [shown]);

  const virtualizer = useVirtualizer({
    count: visibleIds.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: OVERSCAN,
    scrollMargin: HEADER_HEIGHT,
    // The live tail scrolls after every batch; a synchronous re-render per scroll event doubled
    // the cost of each batch (bench/README.md: UI). React batches it into the next render.
    useFlushSync: false,
  });
  const tailEnabled = !sort || (sort.id === 'seq' && !sort.desc);
  const tail = useLiveTail(scrollRef, visibleIds.length, tailEnabled);

  const select = (next: typeof selection): void => {
    useStore.getState().setSelection(next);
    const index = next.focus === undefined ? -1 : visibleIds.indexOf(next.focus);
    if (index >= 0 && scrollRef.current) ensureVisible(scrollRef.current, index);
  };

  const onMouseDown = (e: MouseEvent<HTMLDivElement>): void => {
    if (e.button !== 0) return;
    const row = (e.target as Element).closest<HTMLElement>('[data-flow-id]');
    const id = row?.dataset.flowId;
    if (!id) return;
    if (e.shiftKey) {
      // Shift+click would also select text; the range is the selection meant.
      e.preventDefault();
      scrollRef.current?.focus();
      select(selectRange(selection, visibleIds, id));
    } else if (e.metaKey || e.ctrlKey) {
      select(toggleOne(selection, id));
    } else {
      select(selectOne(id));
    }
  };

  const onKeyDown = (e: KeyboardEvent<HTMLDivElement>): void => {
    const mod = hasMod(e);
    // In Electron the application menu owns ⌘A and sends `select-all`.
    if (electron && mod) return;
    const el = scrollRef.current;
    const pageRows = el ? Math.floor((el.clientHeight - HEADER_HEIGHT) / ROW_HEIGHT) - 1 : 10;
    const next = selectionForKey(
      { key: e.key, shift: e.shiftKey, mod },
      selection,
      visibleIds,
      pageRows,
    );
    if (!next) return;
    e.preventDefault();
    select(next);
  };

  const header = table.getHeaderGroups()[0]!;
  const focusId = selection.focus;
  return (
    <div className="table-wrap">
      <div
        ref={scrollRef}
        className="table-scroll"
        data-testid="flow-table"
        role="grid"
        aria-label="Captured flows"
        aria-rowcount={visibleIds.length + 1}
        aria-multiselectable="true"
        aria-activedescendant={
          focusId && selection.ids.has(focusId) ? rowDomId(focusId) : undefined
        }
        tabIndex={0}
        data-following={tail.following}
        onScroll={tail.onScroll}
        onKeyDown={onKeyDown}
      >
        <div className="thead" role="row" aria-rowindex={1} style={{ width: totalWidth }}>
          {header.headers.map((h) => (
            <HeaderCell key={h.id} header={h} sort={sort} />
          ))}
        </div>
        <div
          className="tbody"
          role="rowgroup"
          style={{ height: virtualizer.getTotalSize(), width: totalWidth }}
          onMouseDown={onMouseDown}
        >
          {virtualizer.getVirtualItems().map((item) => {
            const id = visibleIds[item.index]!;
            return (
              <FlowRow
                key={id}
                id={id}
                index={item.index}
                top={item.index * ROW_HEIGHT}
                selected={selection.ids.has(id)}
                focused={focusId === id}
                columns={shown}
                width={totalWidth}
              />
            );
          })}
        </div>
      </div>
      {tail.newCount > 0 && (
        <button
          type="button"
          className="jump-pill"
          data-testid="jump-to-latest"
          onClick={tail.jumpToLatest}
        >
          {tail.newCount} new — jump to latest
        </button>
      )}
    </div>
  );
}
