/**
 * The inspector pane below the table: everything about the selected flow (the focused one when
 * several are selected, as file managers show the last clicked). Its height is dragged on the
 * top edge (or ↑/↓ on the handle) and kept for the run; the table area above flexes, so its
 * virtual rows just see a shorter viewport.
 */
import { useEffect, useRef, useState, type KeyboardEvent, type PointerEvent } from 'react';
import type { Flow } from '../../../src-common/flow';
import { flowMethod, flowUrl } from '../../../src-common/flow-view';
import { useStore } from '../../store/store';
import { copyAsCurl } from './curl-copy';
import { useFullFlow } from './data';
import { MessageView } from './MessageView';
import { Overview } from './Overview';
import { WebSocketView } from './WebSocketView';

type Tab = 'overview' | 'request' | 'response' | 'websocket';

const MIN_HEIGHT = 120;
const DEFAULT_HEIGHT = 320;
/** Kept for the run: a reopened inspector comes back at the height it was left. */
let rememberedHeight = DEFAULT_HEIGHT;
let rememberedTab: Tab = 'overview';

function tabsFor(flow: Flow | undefined): Tab[] {
  if (!flow || flow.kind === 'tunnel') return ['overview'];
  return flow.websocket
    ? ['overview', 'request', 'response', 'websocket']
    : ['overview', 'request', 'response'];
}

const TAB_LABEL: Record<Tab, string> = {
  overview: 'Overview',
  request: 'Request',
  response: 'Response',
  websocket: 'WebSocket',
};

function useResizable() {
  const [height, setHeight] = useState(rememberedHeight);
  const set = (h: number) => {
    const max = Math.max(MIN_HEIGHT, window.innerHeight - 200);
    const next = Math.round(Math.min(max, Math.max(MIN_HEIGHT, h)));
    rememberedHeight = next;
    setHeight(next);
  };
  const drag = useRef<{ y: number; h: number } | undefined>(undefined);
  const onPointerDown = (e: PointerEvent<HTMLDivElement>) => {
    drag.current = { y: e.clientY, h: height };
    e.currentTarget.setPointerCapture(e.pointerId);
    document.body.classList.add('row-resizing');
  };
  const onPointerMove = (e: PointerEvent<HTMLDivElement>) => {
    if (drag.current) set(drag.current.h + drag.current.y - e.clientY);
  };
  const onPointerUp = () => {
    drag.current = undefined;
    document.body.classList.remove('row-resizing');
  };
  const onKeyDown = (e: KeyboardEvent<HTMLDivElement>) => {
    if (e.key === 'ArrowUp') set(height + 24);
    else if (e.key === 'ArrowDown') set(height - 24);
    else return;
    e.preventDefault();
  };
  return { height, handle: { onPointerDown, onPointerMove, onPointerUp, onKeyDown } };
}

export function Inspector() {
  const count = useStore((s) => s.selection.ids.size);
  const id = useStore((s) => {
    const { ids, focus } = s.selection;
    if (focus !== undefined && ids.has(focus)) return focus;
    // O(1) on every store update, even with 100,000 rows selected.
    return ids.values().next().value;
  });
  const summary = useStore((s) => (id === undefined ? undefined : s.byId[id]));
  const loaded = useFullFlow(summary);
  const { height, handle } = useResizable();
  const [tab, setTab] = useState<Tab>(rememberedTab);
  const flow = loaded?.state === 'ready' ? loaded.value : undefined;
  const tabs = tabsFor(flow ?? (summary as Flow | undefined));
  const shownTab = tabs.includes(tab) ? tab : 'overview';
  const tabRefs = useRef(new Map<Tab, HTMLButtonElement>());
  useEffect(() => {
    rememberedTab = tab;
  }, [tab]);

  if (count === 0 || !summary) {
    return (
      <div className="inspector inspector-collapsed" data-testid="inspector" data-state="empty">
        Select a flow to inspect it here (↑/↓ in the table move through them).
      </div>
    );
  }

  const onTabKey = (e: KeyboardEvent<HTMLDivElement>) => {
    const at = tabs.indexOf(shownTab);
    let next: number;
    if (e.key === 'ArrowRight') next = (at + 1) % tabs.length;
    else if (e.key === 'ArrowLeft') next = (at - 1 + tabs.length) % tabs.length;
    else if (e.key === 'Home') next = 0;
    else if (e.key === 'End') next = tabs.length - 1;
    else return;
    e.preventDefault();
    setTab(tabs[next]!);
    tabRefs.current.get(tabs[next]!)?.focus();
  };

  return (
    <section
      className="inspector"
      data-testid="inspector"
      data-state="flow"
      data-flow-id={summary.id}
      style={{ height }}
      aria-label="Inspector"
    >
      <div
        className="inspector-resizer"
        role="separator"
        aria-orientation="horizontal"
        aria-label="Resize the inspector (↑/↓)"
        aria-valuenow={height}
        tabIndex={0}
        data-testid="inspector-resizer"
        {...handle}
      />
      <div className="inspector-head">
        <div className="inspector-tabs" role="tablist" aria-label="Inspector" onKeyDown={onTabKey}>
          {tabs.map((t) => (
            <button
              key={t}
              ref={(el) => {
                if (el) tabRefs.current.set(t, el);
                else tabRefs.current.delete(t);
              }}
              type="button"
              role="tab"
              className="inspector-tab"
              data-testid="inspector-tab"
              data-tab={t}
              aria-selected={shownTab === t}
              tabIndex={shownTab === t ? 0 : -1}
              onClick={() => setTab(t)}
            >
              {TAB_LABEL[t]}
              {t === 'websocket' &&
                flow?.kind === 'http' &&
                flow.websocket &&
                ` (${flow.websocket.messages.length})`}
            </button>
          ))}
        </div>
        <span className="inspector-title mono" title={flowUrl(summary)}>
          {flowMethod(summary)} {flowUrl(summary)}
        </span>
        {count > 1 && (
          <span className="muted inspector-multi" data-testid="inspector-multi">
            {count} flows selected · showing the focused one
          </span>
        )}
        {flow?.kind === 'http' && (
          <button
            type="button"
            className="mini"
            data-testid="copy-curl"
            onClick={() => void copyAsCurl(flow)}
          >
            Copy as cURL
          </button>
        )}
      </div>
      <div className="inspector-content" role="tabpanel">
        {loaded?.state === 'failed' ? (
          <p className="inspector-note error">The flow could not be read: {loaded.message}</p>
        ) : !flow ? (
          <p className="muted inspector-empty">Loading…</p>
        ) : shownTab === 'overview' ? (
          <Overview flow={flow} />
        ) : flow.kind !== 'http' ? null : shownTab === 'websocket' ? (
          <WebSocketView flow={flow} />
        ) : (
          <MessageView key={`${flow.id}:${shownTab}`} flow={flow} side={shownTab} />
        )}
      </div>
    </section>
  );
}
