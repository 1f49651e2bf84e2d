/**
 * The Preferences dialog (`preferencesOpen` in the store; ⌘, the toolbar's gear or the menu
 * open it): a modal on the native `<dialog>` (focus moves in and stays, the page behind is
 * inert, Esc closes, focus returns to where it was) with one tab per subject. Every change
 * applies at once; there is no OK button to forget.
 */
import { useEffect, useRef, useState, type KeyboardEvent } from 'react';
import { useStore } from '../../store/store';
import { escapeClaims } from './PatternList';
import {
  BypassSection,
  CaptureSection,
  LearnedSection,
  NetworkSection,
  UpstreamSection,
} from './sections';

const TABS = [
  ['bypass', 'SSL Bypass'],
  ['learned', 'Auto-learned'],
  ['upstream', 'Upstream certificates'],
  ['network', 'Network'],
  ['capture', 'Capture'],
] as const;
type Tab = (typeof TABS)[number][0];

export function Preferences() {
  const open = useStore((s) => s.preferencesOpen);
  const settings = useStore((s) => s.settings);
  const [tab, setTab] = useState<Tab>('bypass');
  const ref = useRef<HTMLDialogElement>(null);
  const returnFocus = useRef<HTMLElement | null>(null);
  const close = (): void => useStore.getState().setPreferencesOpen(false);

  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) {
      returnFocus.current = document.activeElement as HTMLElement | null;
      dialog.showModal();
      dialog.querySelector<HTMLElement>('[role="tab"][aria-selected="true"]')?.focus();
    }
    if (!open && dialog.open) {
      dialog.close();
      returnFocus.current?.focus();
      returnFocus.current = null;
    }
  }, [open]);

  const tabKeys = (e: KeyboardEvent<HTMLDivElement>): void => {
    const step = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 }[e.key];
    if (!step) return;
    e.preventDefault();
    const i = TABS.findIndex(([id]) => id === tab);
    const next = TABS[(i + step + TABS.length) % TABS.length]![0];
    setTab(next);
    ref.current?.querySelector<HTMLElement>(`#pref-tab-${next}`)?.focus();
  };

  return (
    <dialog
      ref={ref}
      className="dialog preferences"
      data-testid="preferences-dialog"
      aria-modal="true"
      aria-labelledby="preferences-title"
      onKeyDown={(e) => {
        // An editor's Esc cancels the edit; the dialog's cancel that follows must not close.
        if (e.key === 'Escape' && escapeClaims.claimed)
          setTimeout(() => (escapeClaims.claimed = false));
      }}
      onCancel={(e) => {
        e.preventDefault();
        if (escapeClaims.claimed) escapeClaims.claimed = false;
        else close();
      }}
    >
      {open && (
        <>
          <header className="preferences-head">
            <h2 id="preferences-title">Preferences</h2>
            <span className="muted">Changes apply at once.</span>
            <span className="spacer" />
            <button
              type="button"
              data-testid="preferences-close"
              title="Close (Esc)"
              onClick={close}
            >
              Close
            </button>
          </header>
          <div
            className="preferences-tabs"
            role="tablist"
            aria-label="Preferences"
            onKeyDown={tabKeys}
          >
            {TABS.map(([id, label]) => (
              <button
                key={id}
                type="button"
                role="tab"
                id={`pref-tab-${id}`}
                data-testid={`preferences-tab-${id}`}
                aria-selected={tab === id}
                aria-controls="preferences-panel"
                tabIndex={tab === id ? 0 : -1}
                onClick={() => setTab(id)}
              >
                {label}
              </button>
            ))}
          </div>
          <section
            className="preferences-panel"
            id="preferences-panel"
            role="tabpanel"
            aria-labelledby={`pref-tab-${tab}`}
          >
            {!settings ? (
              <p className="muted">Loading the settings…</p>
            ) : tab === 'bypass' ? (
              <BypassSection settings={settings} />
            ) : tab === 'learned' ? (
              <LearnedSection settings={settings} />
            ) : tab === 'upstream' ? (
              <UpstreamSection settings={settings} />
            ) : tab === 'network' ? (
              <NetworkSection settings={settings} />
            ) : (
              <CaptureSection settings={settings} />
            )}
          </section>
        </>
      )}
    </dialog>
  );
}
