/**
 * For the wiring test only (nothing in the app imports it): a recording stand-in for the
 * `electron` module, and a loader that runs a built bundle in plain Node with that stand-in as
 * its `electron`. The stand-in does what the bundles need and writes down what they ask for; its
 * ipcRenderer reaches its ipcMain the way Electron's do (arguments and results structured-cloned,
 * a missing handler rejects), so the built preload and the built main talk to each other for real.
 */
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import Module from 'node:module';
import { dirname } from 'node:path';
import { pathToFileURL } from 'node:url';

type Handler = (event: unknown, ...args: unknown[]) => unknown;

/** A Chromium-style event object whose preventDefault the test can observe. */
export function fakeEvent<T extends object>(
  params: T,
): T & { preventDefault(): void; defaultPrevented: boolean } {
  const event = {
    ...params,
    defaultPrevented: false,
    preventDefault() {
      event.defaultPrevented = true;
    },
  };
  return event;
}

export class FakeWebContents extends EventEmitter {
  url = '';
  /** The renderer side: what `send` delivers to (the stand-in's ipcRenderer). */
  constructor(private readonly renderer?: EventEmitter) {
    super();
  }
  readonly sent: { channel: string; payload: unknown }[] = [];
  windowOpenHandler: ((details: { url: string }) => { action: string }) | undefined;
  send(channel: string, payload: unknown): void {
    const copy = structuredClone(payload);
    this.sent.push({ channel, payload: copy });
    this.renderer?.emit(channel, { sender: this.renderer }, copy);
  }
  setWindowOpenHandler(handler: (details: { url: string }) => { action: string }): void {
    this.windowOpenHandler = handler;
  }
  getURL(): string {
    return this.url;
  }
}

export interface Recording {
  handled: string[];
  ipcMainOn: string[];
  windows: FakeWindowLike[];
  loadFile: string[];
  loadURL: string[];
  menus: unknown[][];
  applicationMenu: unknown;
  exposed: { key: string; api: unknown }[];
  headerListeners: ((details: unknown, cb: (r: unknown) => void) => void)[];
  permissionRequest: ((wc: unknown, permission: string, cb: (ok: boolean) => void) => void)[];
  permissionCheck: ((wc: unknown, permission: string) => boolean)[];
  openExternal: string[];
  errorBoxes: { title: string; content: string }[];
  /** Save and open dialogs shown: the options and whether a window was their parent. */
  saveDialogs: { options: Record<string, unknown>; parent: boolean }[];
  openDialogs: { options: Record<string, unknown>; parent: boolean }[];
  paths: Record<string, string>;
  singleInstanceLock: number;
  enableSandbox: number;
  quit: number;
  exit: number[];
}

export interface FakeWindowLike extends EventEmitter {
  options: Record<string, unknown>;
  webContents: FakeWebContents;
  bounds: { x: number; y: number; width: number; height: number };
}

/** The stand-in, plus what it recorded and the knobs a test turns. */
export interface FakeElectron {
  module: Record<string, unknown>;
  rec: Recording;
  /** The URL `event.senderFrame` reports for the next IPC calls; null means no frame. */
  senderFrame: { url: string; parent: unknown } | null;
  /** What requestSingleInstanceLock answers. */
  gotLock: boolean;
  /** Resolves with the code the app exits with. */
  exited: Promise<number>;
  /** What the save and open dialogs answer: a path, or undefined for Cancel. */
  dialogAnswers: { save?: string; open?: string };
  ipcHandlers: Map<string, Handler>;
}

/** A fresh stand-in with nothing recorded. */
export function createFakeElectron(): FakeElectron {
  const rec: Recording = {
    handled: [],
    ipcMainOn: [],
    windows: [],
    loadFile: [],
    loadURL: [],
    menus: [],
    applicationMenu: undefined,
    exposed: [],
    headerListeners: [],
    permissionRequest: [],
    permissionCheck: [],
    openExternal: [],
    errorBoxes: [],
    saveDialogs: [],
    openDialogs: [],
    paths: {},
    singleInstanceLock: 0,
    enableSandbox: 0,
    quit: 0,
    exit: [],
  };
  const handlers = new Map<string, Handler>();
  let markExited: (code: number) => void = () => undefined;
  const fake: FakeElectron = {
    module: {},
    rec,
    senderFrame: null,
    gotLock: true,
    exited: new Promise((resolve) => (markExited = resolve)),
    dialogAnswers: {},
    ipcHandlers: handlers,
  };

  const app = Object.assign(new EventEmitter(), {
    isPackaged: false,
    ready: true,
    setPath: (name: string, path: string) => void (rec.paths[name] = path),
    requestSingleInstanceLock: () => {
      rec.singleInstanceLock += 1;
      return fake.gotLock;
    },
    enableSandbox: () => void (rec.enableSandbox += 1),
    whenReady: () => Promise.resolve(),
    isReady: () => true,
    getVersion: () => '0.0.0-test',
    quit() {
      rec.quit += 1;
      const event = fakeEvent({});
      app.emit('before-quit', event);
    },
    exit(code = 0) {
      rec.exit.push(code);
      markExited(code);
    },
  });

  const workArea = { x: 0, y: 0, width: 1920, height: 1080 };
  const ipcRenderer = Object.assign(new EventEmitter(), {
    async invoke(channel: string, ...args: unknown[]) {
      const handler = handlers.get(channel);
      if (!handler) {
        throw new Error(`Error invoking remote method '${channel}': No handler registered`);
      }
      const event = { senderFrame: fake.senderFrame, sender: rec.windows[0]?.webContents };
      return structuredClone(await handler(event, ...structuredClone(args)));
    },
  });

  class BrowserWindow extends EventEmitter implements FakeWindowLike {
    webContents = new FakeWebContents(ipcRenderer);
    bounds: { x: number; y: number; width: number; height: number };
    destroyed = false;
    maximized = false;
    constructor(public options: Record<string, unknown>) {
      super();
      rec.windows.push(this);
      this.bounds = {
        x: (options.x as number) ?? 100,
        y: (options.y as number) ?? 100,
        width: options.width as number,
        height: options.height as number,
      };
      app.emit('web-contents-created', fakeEvent({}), this.webContents);
    }
    async loadFile(path: string) {
      rec.loadFile.push(path);
      this.webContents.url = pathToFileURL(path).href;
      setImmediate(() => {
        this.webContents.emit('did-finish-load');
        this.emit('ready-to-show');
      });
    }
    async loadURL(url: string) {
      rec.loadURL.push(url);
    }
    isDestroyed = () => this.destroyed;
    getNormalBounds = () => ({ ...this.bounds });
    isMaximized = () => this.maximized;
    maximize = () => void (this.maximized = true);
    isMinimized = () => false;
    restore = () => undefined;
    show = () => undefined;
    focus = () => undefined;
  }

  fake.module = {
    app,
    BrowserWindow,
    ipcMain: {
      handle(channel: string, handler: Handler) {
        // Electron throws on a second handler for one channel; so does the stand-in.
        if (handlers.has(channel)) throw new Error(`second handler for '${channel}'`);
        handlers.set(channel, handler);
        rec.handled.push(channel);
      },
      removeHandler: (channel: string) => void handlers.delete(channel),
      on: (channel: string) => void rec.ipcMainOn.push(channel),
      handleOnce: (channel: string) => void rec.ipcMainOn.push(channel),
    },
    ipcRenderer,
    contextBridge: {
      exposeInMainWorld: (key: string, api: unknown) => void rec.exposed.push({ key, api }),
    },
    Menu: {
      buildFromTemplate(template: unknown[]) {
        rec.menus.push(template);
        return { template };
      },
      setApplicationMenu: (menu: unknown) => void (rec.applicationMenu = menu),
    },
    screen: {
      getPrimaryDisplay: () => ({ workArea }),
      getAllDisplays: () => [{ workArea }],
    },
    session: {
      defaultSession: {
        webRequest: {
          onHeadersReceived: (listener: Recording['headerListeners'][number]) =>
            void rec.headerListeners.push(listener),
        },
        setPermissionRequestHandler: (handler: Recording['permissionRequest'][number]) =>
          void rec.permissionRequest.push(handler),
        setPermissionCheckHandler: (handler: Recording['permissionCheck'][number]) =>
          void rec.permissionCheck.push(handler),
      },
    },
    shell: {
      openExternal: async (url: string) => void rec.openExternal.push(url),
    },
    dialog: {
      showErrorBox: (title: string, content: string) =>
        void rec.errorBoxes.push({ title, content }),
      // Electron's overloads: (window, options) or (options).
      async showSaveDialog(...args: unknown[]) {
        const options = args.at(-1) as Record<string, unknown>;
        rec.saveDialogs.push({ options, parent: args.length === 2 });
        const path = fake.dialogAnswers.save;
        return path === undefined
          ? { canceled: true, filePath: '' }
          : { canceled: false, filePath: path };
      },
      async showOpenDialog(...args: unknown[]) {
        const options = args.at(-1) as Record<string, unknown>;
        rec.openDialogs.push({ options, parent: args.length === 2 });
        const path = fake.dialogAnswers.open;
        return path === undefined
          ? { canceled: true, filePaths: [] }
          : { canceled: false, filePaths: [path] };
      },
    },
  };
  return fake;
}

interface LoadableModule {
  filename: string;
  paths: string[];
  exports: unknown;
  require(id: string): unknown;
  _compile(source: string, filename: string): void;
}

/**
 * Runs a CommonJS bundle with `fake` as its `electron`; returns every other id it required.
 * The bundle's own `require` is the module's `require`, so replacing that is enough.
 */
export function loadBundle(file: string, fake: FakeElectron): string[] {
  const required: string[] = [];
  const M = Module as unknown as {
    new (id: string): LoadableModule;
    _nodeModulePaths(dir: string): string[];
    prototype: LoadableModule;
  };
  const m = new M(file);
  m.filename = file;
  m.paths = M._nodeModulePaths(dirname(file));
  m.require = (id: string) => {
    required.push(id);
    return id === 'electron' ? fake.module : M.prototype.require.call(m, id);
  };
  m._compile(readFileSync(file, 'utf8'), file);
  return required;
}
