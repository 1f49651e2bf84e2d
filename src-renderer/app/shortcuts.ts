/**
 * The window's shortcuts in a browser (UI.md, "Keyboard"): ⌘R record/stop, ⌘K clear, ⌘F filter,
 * ⌘B sidebar, ⌘, preferences, ⌘S export HAR, ⌘O open HAR, ⌘⇧C copy the shown request as cURL
 * (as the Electron menu has them) — Ctrl
 * instead of ⌘ off macOS. In Electron the application menu owns these
 * accelerators and sends them as `command` events, so here they are left alone.
 */
import { useEffect } from 'react';
import type { UiCommand } from '../../src-common/api/contract';
import { hasMod } from '../components/keys';
import { useStore } from '../store/store';
import { runCommand } from './commands';
import { inDesktopApp } from '../api/bridge';

/** The command for a keystroke, if it is one of the window's shortcuts. */
export function commandForKey(e: {
  key: string;
  shiftKey: boolean;
  altKey: boolean;
  metaKey: boolean;
  ctrlKey: boolean;
}): UiCommand | undefined {
  if (!hasMod(e) || e.altKey) return undefined;
  const key = e.key.toLowerCase();
  if (e.shiftKey) return key === 'c' ? 'copy-curl' : undefined;
  if (key === 'b') return 'toggle-sidebar';
  if (key === 'r') return 'toggle-recording';
  if (key === 'k') return 'clear';
  if (key === 'f') return 'focus-filter';
  if (key === ',') return 'open-preferences';
  if (key === 's') return 'export-har';
  if (key === 'o') return 'import-har';
  return undefined;
}

export function useShortcuts(): void {
  const electron = useStore((s) => s.system?.mode === 'electron') || inDesktopApp();
  useEffect(() => {
    if (electron) return;
    const onKey = (e: KeyboardEvent): void => {
      const command = commandForKey(e);
      if (!command || e.repeat) return;
      // ⌘R would reload the page and ⌘F open the browser's find bar.
      e.preventDefault();
      runCommand(command);
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [electron]);
}
