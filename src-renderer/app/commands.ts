/**
 * What the shortcuts, the toolbar and the Electron menu do. One function per command, so a
 * keystroke in the browser and a menu accelerator in Electron take the same path.
 */
import type { UiCommand } from '../../src-common/api/contract';
import { getBridge } from '../api/bridge';
import { copyShownAsCurl } from '../features/inspector';
import { selectAll } from '../store/selection';
import { useStore } from '../store/store';

/** The filter field's element id (the toolbar renders it). */
export const FILTER_INPUT_ID = 'loupe-filter';

const errorText = (err: unknown): string => (err as { message?: string })?.message ?? String(err);

/** Turns capture on or off; the proxy keeps forwarding either way. */
export function toggleRecording(): void {
  const s = useStore.getState();
  const recording = s.proxy?.recording ?? true;
  getBridge()
    .proxy.setRecording(!recording)
    .catch((err) =>
      s.toast('error', `Could not ${recording ? 'stop' : 'start'} recording: ${errorText(err)}`),
    );
}

/** Asks before clearing when there is anything to lose (nothing can be saved yet). */
export function requestClear(): void {
  const s = useStore.getState();
  if (s.ids.length > 0) s.setConfirmingClear(true);
}

/** Clears the session; the `cleared` event empties the table. */
export function clearSession(): void {
  const s = useStore.getState();
  s.setConfirmingClear(false);
  getBridge()
    .flows.clear()
    .catch((err) => s.toast('error', `Could not clear the session: ${errorText(err)}`));
}

/** Moves the keyboard to the filter field. */
export function focusFilter(): void {
  const input = document.getElementById(FILTER_INPUT_ID) as HTMLInputElement | null;
  input?.focus();
  input?.select();
}

export function toggleSidebar(): void {
  const s = useStore.getState();
  s.setSidebar({ visible: !s.sidebarVisible });
}

/** Selects the text of a focused field, else every shown flow. */
export function selectAllShown(): void {
  const active = document.activeElement;
  if (active instanceof HTMLInputElement || active instanceof HTMLTextAreaElement) {
    active.select();
    return;
  }
  const s = useStore.getState();
  s.setSelection(selectAll(s.selection, s.visibleIds));
}

/** Runs a command from the menu (Electron) or a shortcut (browser). */
export function runCommand(command: UiCommand): void {
  switch (command) {
    case 'toggle-recording':
      return toggleRecording();
    case 'clear':
      return requestClear();
    case 'focus-filter':
      return focusFilter();
    case 'toggle-sidebar':
      return toggleSidebar();
    case 'select-all':
      return selectAllShown();
    case 'open-preferences':
      return useStore.getState().setPreferencesOpen(true);
    case 'export-har':
      return useStore.getState().setHarDialog('export');
    case 'import-har':
      return useStore.getState().setHarDialog('import');
    case 'copy-curl':
      return void copyShownAsCurl();
  }
}
