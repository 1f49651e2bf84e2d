/**
 * The application menu: UI.md's shortcuts for what Loupe does today, plus the platform's
 * standard roles. Items that act on the UI send a `UiCommand` on the event channel and the UI
 * carries it out (it confirms a Clear, for instance), so the browser UI and the desktop app
 * behave alike. Features that do not exist yet (breakpoints) have no item.
 */
import type { MenuItemConstructorOptions } from 'electron';
import type { UiCommand } from '../../src-common/api/contract';

export interface MenuOptions {
  /** `process.platform`: macOS gets the app menu and keeps Quit there. */
  platform: NodeJS.Platform;
  /** DevTools are offered only to a development build. */
  isPackaged: boolean;
  /** Sends a command to the main window's UI. */
  send: (command: UiCommand) => void;
}

/** The menu template (pure, so the wiring test can read it as Electron would). */
export function menuTemplate({
  platform,
  isPackaged,
  send,
}: MenuOptions): MenuItemConstructorOptions[] {
  const mac = platform === 'darwin';
  const command = (
    label: string,
    accelerator: string,
    name: UiCommand,
  ): MenuItemConstructorOptions => ({ label, accelerator, click: () => send(name) });

  const template: MenuItemConstructorOptions[] = [];
  if (mac) {
    template.push({
      role: 'appMenu',
      submenu: [
        { role: 'about' },
        { type: 'separator' },
        command('Settings…', 'CmdOrCtrl+,', 'open-preferences'),
        { type: 'separator' },
        { role: 'services' },
        { type: 'separator' },
        { role: 'hide' },
        { role: 'hideOthers' },
        { role: 'unhide' },
        { type: 'separator' },
        { role: 'quit' },
      ],
    });
  }
  template.push(
    {
      role: 'fileMenu',
      submenu: [
        command('Open HAR…', 'CmdOrCtrl+O', 'import-har'),
        command('Export HAR…', 'CmdOrCtrl+S', 'export-har'),
        { type: 'separator' },
        // Off macOS, Preferences lives in the File menu (Edit › Preferences is also common).
        ...(mac ? [] : [command('Preferences…', 'CmdOrCtrl+,', 'open-preferences')]),
        ...(mac ? [] : [{ type: 'separator' } as const]),
        mac ? { role: 'close' } : { role: 'quit' },
      ],
    },
    {
      role: 'editMenu',
      submenu: [
        { role: 'undo' },
        { role: 'redo' },
        { type: 'separator' },
        { role: 'cut' },
        { role: 'copy' },
        { role: 'paste' },
        { type: 'separator' },
        // The UI selects a text field's contents when one has focus, else every shown flow.
        command('Select All', 'CmdOrCtrl+A', 'select-all'),
        command('Copy as cURL', 'CmdOrCtrl+Shift+C', 'copy-curl'),
        { type: 'separator' },
        command('Find', 'CmdOrCtrl+F', 'focus-filter'),
      ],
    },
    {
      label: 'Capture',
      submenu: [
        command('Record / Stop', 'CmdOrCtrl+R', 'toggle-recording'),
        command('Clear Session', 'CmdOrCtrl+K', 'clear'),
      ],
    },
    {
      role: 'viewMenu',
      submenu: [
        command('Toggle Sidebar', 'CmdOrCtrl+B', 'toggle-sidebar'),
        { type: 'separator' },
        { role: 'resetZoom' },
        { role: 'zoomIn' },
        { role: 'zoomOut' },
        { type: 'separator' },
        { role: 'togglefullscreen' },
        ...(isPackaged
          ? []
          : [{ type: 'separator' } as const, { role: 'toggleDevTools' } as const]),
      ],
    },
    { role: 'windowMenu' },
  );
  return template;
}
