/**
 * The platform's command key: ⌘ on macOS, Ctrl elsewhere (UI.md, "Keyboard"). Shared by the
 * shortcuts, the table and the tooltips that name them.
 */

/** True in a browser or Electron window on macOS. */
export const IS_MAC =
  typeof navigator !== 'undefined' &&
  /Mac|iPhone|iPad/.test(navigator.platform || navigator.userAgent);

/** True when the event holds the platform's command key. */
export function hasMod(e: { metaKey: boolean; ctrlKey: boolean }): boolean {
  return IS_MAC ? e.metaKey : e.ctrlKey;
}

/** How a shortcut is written in a tooltip: `⌘R` on macOS, `Ctrl+R` elsewhere. */
export function shortcutLabel(key: string, shift = false): string {
  if (IS_MAC) return `${shift ? '⇧' : ''}⌘${key}`;
  return `Ctrl+${shift ? 'Shift+' : ''}${key}`;
}
