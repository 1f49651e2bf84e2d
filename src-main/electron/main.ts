/**
 * The desktop app's entry (bundled to out/electron/main.cjs): one instance per data directory,
 * the same session as `loupe headless` (services/session.ts), one locked-down window whose only
 * way to main is the validated IPC of ipc.ts, the menu of menu.ts, and a quit that closes the
 * session before the process ends.
 *
 * Environment: `LOUPE_DATA_DIR` (default: the per-user app-data folder), `LOUPE_PORT` (default
 * the port saved in Preferences, 8888 at first, or a free port when that is taken; 0 picks a
 * free one), `LOUPE_RENDERER_DIR` (another
 * built UI; development builds only).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  app,
  BrowserWindow,
  dialog,
  ipcMain,
  Menu,
  screen,
  session as electronSession,
  shell,
} from 'electron';
import { EVENT_CHANNEL, type ApiEvent, type UiCommand } from '../../src-common/api/contract';
import { defaultDataDir } from '../data/data-dir';
import {
  createApi,
  createDispatcher,
  createEventHub,
  type EventHub,
  type SessionApi,
} from '../services/api';
import type { HarHost } from '../services/har-service';
import { openSession, type Session } from '../services/session';
import { registerIpc } from './ipc';
import { menuTemplate } from './menu';
import { appPaths } from './paths';
import { choosePort, fallbackNotice, parsePortEnv, savedPort } from './port';
import { guardWebContents, lockDownSession, windowOptions } from './window';
import {
  initialWindow,
  readWindowState,
  trackWindowState,
  type WindowStateTracker,
} from './window-state';

/** The proxy listens on loopback only: the desktop app is for this machine's traffic. */
const HOST = '127.0.0.1';
/** A quit waits at most this long for the session to close, then exits anyway. */
const QUIT_TIMEOUT_MS = 5000;

interface Running {
  session: Session;
  hub: EventHub;
  api: SessionApi;
  unregisterIpc: () => void;
}

function main(): void {
  const paths = appPaths(import.meta.url, process.env, app.isPackaged);
  const dataDir = resolve(process.env.LOUPE_DATA_DIR || defaultDataDir());

  // Chromium's profile (caches, local storage, the single-instance lock) lives inside the data
  // directory, so one Loupe runs per data directory, as with `loupe headless`. The folder holds
  // the CA key: make it owner-only before Chromium creates it with looser rights.
  try {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  } catch {
    // openSession says in words what is wrong with the folder.
  }
  app.setPath('userData', join(dataDir, 'chromium'));
  if (!app.requestSingleInstanceLock()) {
    app.quit();
    return;
  }
  app.enableSandbox();

  let running: Running | undefined;
  let win: BrowserWindow | undefined;
  let windowState: WindowStateTracker | undefined;
  let stopping: Promise<void> | undefined;

  const send = (event: ApiEvent): void => {
    if (win && !win.isDestroyed()) win.webContents.send(EVENT_CHANNEL, event);
  };
  const sendCommand = (command: UiCommand): void => send({ command });

  /** HAR files are chosen with the system's own dialogs, attached to the window when open. */
  const harHost: HarHost = {
    async chooseSavePath(defaultName) {
      const options = {
        title: 'Export HAR',
        defaultPath: defaultName,
        filters: [
          { name: 'HAR', extensions: ['har'] },
          { name: 'JSON', extensions: ['json'] },
        ],
      };
      const result = win
        ? await dialog.showSaveDialog(win, options)
        : await dialog.showSaveDialog(options);
      return result.canceled ? undefined : result.filePath;
    },
    async chooseOpenPath() {
      const options = {
        title: 'Open HAR',
        properties: ['openFile' as const],
        // Some tools save HAR as .json: both show at once, without switching filters.
        filters: [
          { name: 'HAR', extensions: ['har', 'json'] },
          { name: 'All files', extensions: ['*'] },
        ],
      };
      const result = win
        ? await dialog.showOpenDialog(win, options)
        : await dialog.showOpenDialog(options);
      return result.canceled ? undefined : result.filePaths[0];
    },
  };

  const openWindow = async (hub: EventHub, notice?: string): Promise<void> => {
    if (!existsSync(paths.indexHtml)) {
      throw new Error(`The UI is not built (no ${paths.indexHtml}); run npm run build.`);
    }
    const saved = await readWindowState(dataDir);
    const primary = screen.getPrimaryDisplay().workArea;
    const workAreas = screen.getAllDisplays().map((display) => display.workArea);
    const initial = initialWindow(saved, workAreas, primary);
    const created = new BrowserWindow(windowOptions(paths.preload, initial.bounds));
    win = created;
    windowState = trackWindowState(created, dataDir, (err) =>
      console.warn(`loupe: could not save the window's size and place: ${err.message}`),
    );
    const unsubscribe = hub.subscribe((event) => send(event));
    // The hub hands a new subscriber the start-up notices at once, before this page exists to
    // hear them; each load of the page (a reload too) gets them again, and shows each once.
    created.webContents.on('did-finish-load', () => {
      const startup = running?.session.startupNotices ?? [];
      if (startup.length > 0) send({ notices: [...startup] });
    });
    created.once('ready-to-show', () => {
      if (initial.maximized) created.maximize();
      created.show();
    });
    if (notice) {
      created.webContents.once('did-finish-load', () =>
        hub.emit({ notices: [{ level: 'warning', message: notice, at: Date.now() }] }),
      );
    }
    created.on('closed', () => {
      unsubscribe();
      if (win === created) win = undefined;
    });
    await created.loadFile(paths.indexHtml);
  };

  const start = async (): Promise<void> => {
    await app.whenReady();
    if (stopping) return;
    lockDownSession(electronSession.defaultSession, paths.appUrl);
    Menu.setApplicationMenu(
      Menu.buildFromTemplate(
        menuTemplate({ platform: process.platform, isPackaged: app.isPackaged, send: sendCommand }),
      ),
    );
    const requested = parsePortEnv(process.env.LOUPE_PORT);
    if (requested instanceof Error) throw requested;
    const choice = await choosePort(HOST, requested, await savedPort(dataDir));
    // Record is on from the start, as in `loupe headless`: until Loupe can set itself as the
    // system proxy, traffic reaches it only from clients the user pointed at it on purpose.
    const session = await openSession({
      dataDir,
      host: HOST,
      port: choice.port,
      version: app.getVersion(),
      mode: 'electron',
      onNotice: (notice) => console.warn(`loupe: ${notice.message}`),
    });
    const hub = createEventHub(session);
    const api = createApi(session, hub, harHost);
    const unregisterIpc = registerIpc(ipcMain, createDispatcher(api), paths.appUrl);
    running = { session, hub, api, unregisterIpc };
    if (stopping) return;
    const notice =
      choice.takenPort === undefined
        ? undefined
        : fallbackNotice(choice.takenPort, session.proxy.port);
    if (notice) console.warn(`loupe: ${notice}`);
    await openWindow(hub, notice);
  };

  /** Closes everything once, however often and from wherever quitting is asked for. */
  const stop = (code: number): Promise<void> => {
    stopping ??= (async () => {
      const deadline = setTimeout(() => app.exit(code), QUIT_TIMEOUT_MS);
      try {
        await starting;
        await windowState?.flush();
        if (running) {
          running.unregisterIpc();
          running.hub.dispose();
          // Opened HAR sessions, an import worker still reading, listeners on the session.
          await running.api.dispose();
          await running.session.close();
        }
      } catch (err) {
        console.error(`loupe: while quitting: ${(err as Error)?.stack ?? err}`);
      } finally {
        clearTimeout(deadline);
        app.exit(code);
      }
    })();
    return stopping;
  };

  /** A start that failed: the user is told why in words, then the app quits. */
  const fail = (err: unknown): void => {
    const message = err instanceof Error ? err.message : String(err);
    console.error(`loupe: ${message}`);
    if (stopping) return;
    if (app.isReady()) dialog.showErrorBox('Loupe cannot start', message);
    void stop(1);
  };
  const focusOrOpen = (): void => {
    if (win) {
      if (win.isMinimized()) win.restore();
      win.focus();
    } else if (running && !stopping) {
      openWindow(running.hub).catch(fail);
    }
  };

  app.on('web-contents-created', (_event, contents) =>
    guardWebContents(contents, paths.appUrl, (url) => void shell.openExternal(url)),
  );
  app.on('second-instance', focusOrOpen);
  app.on('activate', focusOrOpen);
  app.on('window-all-closed', () => {
    // macOS keeps an app running without windows; the proxy keeps capturing meanwhile.
    if (process.platform !== 'darwin') app.quit();
  });
  app.on('before-quit', (event) => {
    // stop() ends in app.exit(), which does not emit before-quit again.
    event.preventDefault();
    void stop(0);
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => void stop(0));

  // Never rejects: fail() turns a failed start into a message and a quit.
  const starting: Promise<void> = start().catch(fail);
}

main();
