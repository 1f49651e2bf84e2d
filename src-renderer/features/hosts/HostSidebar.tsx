/**
 * The host sidebar (Charles' structure view, flattened): every host of the session with its
 * flow count, pinned hosts on top; clicking one shows only its flows, clicking it again (or "All
 * hosts") shows all.
 * Resizable by its right edge (drag, or ←/→ when focused); hidden from the toolbar or its own ×.
 */
import { useMemo, useState, type KeyboardEvent, type MouseEvent } from 'react';
import { useStore } from '../../store/store';
import { sortHosts, type HostOrder } from './hosts';

const KEY_STEP_PX = 16;

function startResize(e: MouseEvent<HTMLDivElement>): void {
  e.preventDefault();
  const startX = e.clientX;
  const startWidth = useStore.getState().sidebarWidth;
  const move = (ev: globalThis.MouseEvent): void =>
    useStore.getState().setSidebar({ width: Math.min(600, startWidth + ev.clientX - startX) });
  const up = (): void => {
    document.removeEventListener('mousemove', move);
    document.removeEventListener('mouseup', up);
    document.body.classList.remove('col-resizing');
  };
  document.body.classList.add('col-resizing');
  document.addEventListener('mousemove', move);
  document.addEventListener('mouseup', up);
}

function resizeByKey(e: KeyboardEvent<HTMLDivElement>): void {
  if (e.key !== 'ArrowLeft' && e.key !== 'ArrowRight') return;
  e.preventDefault();
  const s = useStore.getState();
  const delta = e.key === 'ArrowRight' ? KEY_STEP_PX : -KEY_STEP_PX;
  s.setSidebar({ width: Math.min(600, s.sidebarWidth + delta) });
}

export function HostSidebar() {
  const counts = useStore((s) => s.hostCounts);
  const total = useStore((s) => s.ids.length);
  const selected = useStore((s) => s.host);
  const width = useStore((s) => s.sidebarWidth);
  const pinned = useStore((s) => s.pinnedHosts);
  const [order, setOrder] = useState<HostOrder>('count');
  const hosts = useMemo(() => sortHosts(counts, order, pinned), [counts, order, pinned]);
  const { selectHost, setSidebar, togglePin } = useStore.getState();

  return (
    <aside className="sidebar" data-testid="host-sidebar" style={{ width }} aria-label="Hosts">
      <div className="sidebar-head">
        <span className="sidebar-title">Hosts</span>
        <button
          type="button"
          className="mini"
          title={
            order === 'count'
              ? 'Sorted by count; click for by name'
              : 'Sorted by name; click for by count'
          }
          onClick={() => setOrder(order === 'count' ? 'name' : 'count')}
        >
          {order === 'count' ? 'By count' : 'By name'}
        </button>
        <button
          type="button"
          className="mini"
          aria-label="Hide the sidebar"
          title="Hide the sidebar"
          onClick={() => setSidebar({ visible: false })}
        >
          ×
        </button>
      </div>
      <ul className="host-list">
        <li>
          <button
            type="button"
            className={`host-item${selected === undefined ? ' active' : ''}`}
            aria-pressed={selected === undefined}
            onClick={() => selectHost(undefined)}
          >
            <span className="host-name">All hosts</span>
            <span className="host-count">{total}</span>
          </button>
        </li>
        {hosts.map(({ host, count, pinned: isPinned }) => (
          <li key={host} className={isPinned ? 'host-row pinned' : 'host-row'}>
            <button
              type="button"
              className="host-pin"
              data-testid="host-pin"
              aria-pressed={isPinned}
              aria-label={isPinned ? `Unpin ${host}` : `Pin ${host} to the top`}
              title={isPinned ? 'Unpin' : 'Pin to the top'}
              onClick={() => togglePin(host)}
            >
              {isPinned ? '★' : '☆'}
            </button>
            <button
              type="button"
              className={`host-item${selected === host ? ' active' : ''}`}
              data-testid="host-item"
              data-host={host}
              aria-pressed={selected === host}
              title={selected === host ? `${host} — click to show all hosts` : `Show only ${host}`}
              onClick={() => selectHost(host)}
            >
              <span className="host-name">{host || '(no host)'}</span>
              <span className="host-count" data-testid="host-count">
                {count}
              </span>
            </button>
          </li>
        ))}
      </ul>
      <div
        className="sidebar-resizer"
        role="separator"
        aria-orientation="vertical"
        aria-label="Resize the sidebar"
        aria-valuenow={width}
        tabIndex={0}
        onMouseDown={startResize}
        onKeyDown={resizeByKey}
      />
    </aside>
  );
}
