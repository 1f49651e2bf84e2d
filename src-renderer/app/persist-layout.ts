/**
 * Saves the window arrangement (column order, visibility and widths; the sidebar and its pinned
 * hosts) through
 * `settings.update`, 500 ms after the last change, so a column drag is one write, not hundreds.
 * Nothing is saved until the saved arrangement was read: the defaults must not overwrite it.
 */
import type { UiPreferences } from '../../src-common/settings';
import { getBridge } from '../api/bridge';
import { toColumnPrefs } from '../store/columns';
import { useStore, type State } from '../store/store';

const DEBOUNCE_MS = 500;

function prefsOf(s: State): UiPreferences {
  return {
    columns: toColumnPrefs(s.columns),
    sidebarVisible: s.sidebarVisible,
    sidebarWidth: Math.round(s.sidebarWidth),
    pinnedHosts: s.pinnedHosts,
  };
}

/** Starts saving changes; call once, after the saved arrangement was loaded (or failed to). */
export function watchLayout(): void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let saved = JSON.stringify(prefsOf(useStore.getState()));
  useStore.subscribe((s, prev) => {
    if (!s.layoutLoaded) return;
    if (
      s.columns === prev.columns &&
      s.sidebarVisible === prev.sidebarVisible &&
      s.sidebarWidth === prev.sidebarWidth &&
      s.pinnedHosts === prev.pinnedHosts
    ) {
      return;
    }
    clearTimeout(timer);
    timer = setTimeout(() => {
      const ui = prefsOf(useStore.getState());
      const text = JSON.stringify(ui);
      if (text === saved) return;
      saved = text;
      getBridge()
        .settings.update({ ui })
        .catch((err: { message?: string }) =>
          useStore.getState().toast('warning', `The layout was not saved: ${err?.message ?? err}`),
        );
    }, DEBOUNCE_MS);
  });
}
