/**
 * The session switcher above the table: "Live" and one tab per opened HAR file, each with its
 * flow count; an import's tab closes (after asking) and says what was repaired to read it. Shown
 * only once a file is open: with the live session alone there is nothing to switch.
 */
import { useEffect, useRef, useState } from 'react';
import type { SessionInfo } from '../../../src-common/api/contract';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { useStore } from '../../store/store';
import { closeSession, refreshSessions, showSession } from './actions';

const count = (n: number): string => n.toLocaleString('en-US');

function RepairsBadge({ info }: { info: SessionInfo }) {
  const [open, setOpen] = useState(false);
  const badge = useRef<HTMLButtonElement>(null);
  const popover = useRef<HTMLDivElement>(null);
  const repairs = info.repairs ?? [];
  const skipped = info.skipped ?? 0;
  if (repairs.length === 0 && skipped === 0) return null;
  const label = [
    repairs.length ? `${repairs.length} repaired` : '',
    skipped ? `${skipped} skipped` : '',
  ]
    .filter(Boolean)
    .join(', ');
  // A popover lives in the top layer, so the tab strip's scrolling cannot clip it; it is placed
  // under its badge, and Esc or a click elsewhere closes it.
  const toggle = (): void => {
    const pop = popover.current;
    const at = badge.current?.getBoundingClientRect();
    if (!pop || !at) return;
    pop.style.top = `${at.bottom + 4}px`;
    pop.style.left = `${Math.max(8, Math.min(at.left, window.innerWidth - 380))}px`;
    pop.togglePopover();
  };
  return (
    <>
      <button
        ref={badge}
        type="button"
        className="repairs-badge"
        data-testid="repairs-badge"
        aria-expanded={open}
        title="What Loupe repaired or left out to read this file"
        onClick={toggle}
      >
        {label}
      </button>
      <div
        ref={popover}
        popover="auto"
        className="repairs-popover"
        role="dialog"
        aria-label={`Repairs in ${info.name}`}
        onToggle={(e) => setOpen((e.nativeEvent as ToggleEvent).newState === 'open')}
      >
        <p className="repairs-head">
          {info.name}
          {info.creator ? ` (from ${info.creator})` : ''} did not quite follow HAR 1.2:
        </p>
        <ul>
          {repairs.map((r, i) => (
            <li key={i}>{r}</li>
          ))}
          {skipped > 0 && (
            <li>
              {skipped} {skipped === 1 ? 'entry was' : 'entries were'} unreadable and left out.
            </li>
          )}
        </ul>
        <button type="button" onClick={() => popover.current?.hidePopover()}>
          Close
        </button>
      </div>
    </>
  );
}

export function SessionTabs() {
  const sessions = useStore((s) => s.sessions);
  const active = useStore((s) => s.activeSessionId);
  const liveCount = useStore((s) =>
    s.activeSessionId === 'live' ? s.ids.length : (s.liveStash?.ids.length ?? 0),
  );
  const connected = useStore((s) => s.connection.status === 'open');
  const [closing, setClosing] = useState<SessionInfo>();
  useEffect(() => {
    // Events sent while the connection was down are lost; the list is asked for again.
    if (connected) void refreshSessions();
  }, [connected]);
  if (!sessions.some((s) => s.kind === 'imported')) return null;
  return (
    <div className="session-tabs" role="tablist" aria-label="Sessions">
      {sessions.map((info) => {
        const selected = info.id === active;
        const flows = info.kind === 'live' ? liveCount : info.flowCount;
        return (
          <div key={info.id} className={`session-tab${selected ? ' selected' : ''}`}>
            <button
              type="button"
              role="tab"
              className="session-tab-name"
              data-testid="session-tab"
              data-session={info.id}
              aria-selected={selected}
              title={info.kind === 'live' ? 'What the proxy records' : `Opened from ${info.name}`}
              onClick={() => void showSession(info.id)}
            >
              <span className="session-name">{info.name}</span>
              <span className="session-count" data-testid="session-count">
                {count(flows)}
              </span>
            </button>
            {info.kind === 'imported' && <RepairsBadge info={info} />}
            {info.kind === 'imported' && (
              <button
                type="button"
                className="session-close"
                data-testid="session-close"
                aria-label={`Close ${info.name}`}
                title={`Close ${info.name}`}
                onClick={() => setClosing(info)}
              >
                ✕
              </button>
            )}
          </div>
        );
      })}
      <ConfirmDialog
        open={closing !== undefined}
        title={`Close ${closing?.name ?? ''}?`}
        confirmLabel="Close"
        onConfirm={() => {
          if (closing) void closeSession(closing);
          setClosing(undefined);
        }}
        onCancel={() => setClosing(undefined)}
      >
        <p>
          Its {count(closing?.flowCount ?? 0)} flows leave Loupe; the file on disk stays as it is.
        </p>
      </ConfirmDialog>
    </div>
  );
}
