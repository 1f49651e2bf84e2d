/**
 * The column chooser: a checkbox per column to show or hide it, buttons to move it, and a reset
 * to the defaults. The choice is saved with the window arrangement (app/persist-layout.ts).
 */
import { useEffect, useRef, useState } from 'react';
import { mergeColumnPrefs, type ColumnId } from '../../store/columns';
import { useStore } from '../../store/store';
import { COLUMN_VIEWS } from './columns';

function toggleColumn(id: ColumnId): void {
  const s = useStore.getState();
  const next = s.columns.map((c) => (c.id === id ? { ...c, visible: !c.visible } : c));
  // The last visible column stays: a table without columns cannot be clicked back.
  if (next.some((c) => c.visible)) s.setColumns(next);
}

function shiftColumn(index: number, delta: number): void {
  const s = useStore.getState();
  const to = index + delta;
  if (to < 0 || to >= s.columns.length) return;
  const cols = s.columns.slice();
  [cols[index], cols[to]] = [cols[to]!, cols[index]!];
  s.setColumns(cols);
}

export function ColumnMenu() {
  const columns = useStore((s) => s.columns);
  const [open, setOpen] = useState(false);
  const wrap = useRef<HTMLDivElement>(null);

  useEffect(() => {
    if (!open) return;
    const close = (e: Event): void => {
      if (!wrap.current?.contains(e.target as Node)) setOpen(false);
    };
    document.addEventListener('mousedown', close);
    return () => document.removeEventListener('mousedown', close);
  }, [open]);

  return (
    <div
      className="menu-wrap"
      ref={wrap}
      onKeyDown={(e) => {
        if (e.key === 'Escape' && open) {
          e.stopPropagation();
          setOpen(false);
          wrap.current?.querySelector<HTMLButtonElement>('button')?.focus();
        }
      }}
    >
      <button
        type="button"
        className="tool"
        data-testid="column-menu-button"
        aria-expanded={open}
        aria-haspopup="true"
        title="Choose columns"
        onClick={() => setOpen((o) => !o)}
      >
        Columns ▾
      </button>
      {open && (
        <div className="menu" role="group" aria-label="Columns">
          {columns.map((c, i) => (
            <div className="menu-row" key={c.id}>
              <label>
                <input
                  type="checkbox"
                  data-testid="column-toggle"
                  data-col={c.id}
                  checked={c.visible}
                  onChange={() => toggleColumn(c.id)}
                />
                {COLUMN_VIEWS[c.id].title}
              </label>
              <button
                type="button"
                className="mini"
                aria-label={`Move ${COLUMN_VIEWS[c.id].title} earlier`}
                disabled={i === 0}
                onClick={() => shiftColumn(i, -1)}
              >
                ↑
              </button>
              <button
                type="button"
                className="mini"
                aria-label={`Move ${COLUMN_VIEWS[c.id].title} later`}
                disabled={i === columns.length - 1}
                onClick={() => shiftColumn(i, 1)}
              >
                ↓
              </button>
            </div>
          ))}
          <button
            type="button"
            className="menu-reset"
            onClick={() => useStore.getState().setColumns(mergeColumnPrefs(undefined))}
          >
            Reset columns
          </button>
        </div>
      )}
    </div>
  );
}
