/**
 * The Electron shell's wiring, without the Electron runtime: the built bundles
 * (out/electron/main.cjs, out/preload/preload.cjs) run in Node with a recording stand-in for
 * `electron` (electron-stand-in.ts). Main opens a real session on a temporary data directory and
 * port 0; the built preload's bridge calls the built main's handlers through the stand-in's IPC.
 */
import { execFileSync } from 'node:child_process';
import type { EventEmitter } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { connect } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  API_METHODS,
  EVENT_CHANNEL,
  allChannels,
  channelName,
  type ApiEvent,
  type ApiReply,
  type ApiSection,
  type LoupeBridge,
} from '../../src-common/api/contract';
import { leaveCrashedLock } from '../test-support/crash';
import { deadline, deferred, until } from '../test-support/wait';
import { createFakeElectron, fakeEvent, loadBundle, type FakeElectron } from './electron-stand-in';
import { WINDOW_STATE_FILE } from './window-state';

const ROOT = resolve(import.meta.dirname, '../..');
const MAIN = join(ROOT, 'out/electron/main.cjs');
const PRELOAD = join(ROOT, 'out/preload/preload.cjs');

const temps: string[] = [];
const temp = (prefix: string): string => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  temps.push(dir);
  return dir;
};

/** Runs the built main once with a fresh stand-in; removes the signal handlers it adds. */
function startMain(env: Record<string, string>, setUp?: (fake: FakeElectron) => void) {
  const fake = createFakeElectron();
  setUp?.(fake);
  const loaded = deferred();
  (fake.module.app as EventEmitter).once(
    'web-contents-created',
    (_event: unknown, contents: EventEmitter) =>
      contents.once('did-finish-load', () => loaded.resolve()),
  );
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  const before = { SIGINT: process.listeners('SIGINT'), SIGTERM: process.listeners('SIGTERM') };
  Object.assign(process.env, env);
  loadBundle(MAIN, fake);
  const signalHandlers = (['SIGINT', 'SIGTERM'] as const).flatMap((signal) =>
    process
      .listeners(signal)
      .filter((l) => !before[signal].includes(l))
      .map((listener) => ({ signal, listener })),
  );
  return {
    fake,
    /** Resolves once main's window has loaded its page; never when main opens none. */
    loaded: loaded.promise,
    /** Call once main has read its environment (it does so after `whenReady`). */
    restoreEnv() {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    },
    signalHandlers,
    removeSignalHandlers() {
      for (const { signal, listener } of signalHandlers) process.off(signal, listener);
    },
  };
}

/** Every menu item, submenus flattened. */
type Item = {
  label?: string;
  role?: string;
  accelerator?: string;
  click?: () => void;
  submenu?: Item[];
};
const flatten = (items: Item[]): Item[] =>
  items.flatMap((item) => [item, ...(item.submenu ? flatten(item.submenu) : [])]);

const directives = (csp: string): string[] =>
  csp
    .split(';')
    .map((d) => d.trim().replace(/\s+/g, ' '))
    .filter(Boolean)
    .sort();

let dataDir: string;
let rendererDir: string | undefined;
let app: ReturnType<typeof startMain>;
let fake: FakeElectron;
let bridge: LoupeBridge;
let preloadRequires: string[];
let appUrl: string;
const events: ApiEvent[] = [];

/** Resolves once the window has been sent an event that `match`es (now or later). */
const heard = (what: string, match: (event: ApiEvent) => boolean): Promise<void> =>
  until(
    what,
    (notify) => bridge.onEvent(notify),
    () => events.some(match),
  );

beforeAll(async () => {
  execFileSync(process.execPath, ['scripts/build.js', 'electron', '--quiet'], { cwd: ROOT });
  if (!existsSync(join(ROOT, 'out/renderer/index.html'))) {
    try {
      execFileSync(process.execPath, ['scripts/build.js', 'renderer', '--quiet'], {
        cwd: ROOT,
        stdio: 'pipe',
      });
    } catch {
      // The UI may not build while it is being written; the shell only needs a page to load.
      rendererDir = temp('loupe-renderer-');
      writeFileSync(
        join(rendererDir, 'index.html'),
        readFileSync(join(ROOT, 'src-renderer/index.html')),
      );
    }
  }
  dataDir = temp('loupe-electron-');
  app = startMain({
    LOUPE_DATA_DIR: dataDir,
    LOUPE_PORT: '0',
    ...(rendererDir ? { LOUPE_RENDERER_DIR: rendererDir } : {}),
  });
  fake = app.fake;
  await deadline(app.loaded, 'the window to load');
  app.restoreEnv();
  appUrl = pathToFileURL(fake.rec.loadFile[0]!).href;

  // The preload runs in the page: its calls come from the app's own top-level frame.
  fake.senderFrame = { url: appUrl, parent: null };
  preloadRequires = loadBundle(PRELOAD, fake);
  bridge = fake.rec.exposed[0]!.api as LoupeBridge;
  bridge.onEvent((event) => events.push(event));
});

afterAll(async () => {
  app?.removeSignalHandlers();
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

/** Calls a registered handler directly, as a given frame would. */
const invokeAs = async (
  frame: { url: string; parent: unknown } | null,
  channel: string,
  ...args: unknown[]
): Promise<ApiReply> => {
  const handler = fake.ipcHandlers.get(channel)!;
  return (await handler({ senderFrame: frame }, ...args)) as ApiReply;
};

describe('IPC: one validated handler per contract method', () => {
  it('registers exactly the contract channels, each once, and listens on nothing else', () => {
    expect([...fake.rec.handled].sort()).toEqual(allChannels().sort());
    expect(new Set(fake.rec.handled).size).toBe(fake.rec.handled.length);
    expect(fake.rec.ipcMainOn).toEqual([]);
  });

  it('answers the app page end to end with the real session', async () => {
    const status = await bridge.proxy.status();
    expect(status.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(status.port).toBeGreaterThan(0);
    expect(status.recording).toBe(true);
    expect((await bridge.proxy.setRecording(false)).recording).toBe(false);
    expect((await bridge.proxy.status()).recording).toBe(false);
    expect((await bridge.proxy.setRecording(true)).recording).toBe(true);
    await heard('the proxy event', (e) => e.proxy?.recording === false);
    const info = await bridge.system.info();
    expect(info).toMatchObject({ mode: 'electron', dataDir, version: '0.0.0-test' });
  });

  it('captures traffic through the real proxy and pushes it to the window', async () => {
    const server: Server = createServer((_req, res) => res.end('hello'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const target = `http://127.0.0.1:${(server.address() as { port: number }).port}/wired`;
    try {
      const { port } = await bridge.proxy.status();
      const body = await new Promise<string>((ok, fail) => {
        const req = request({ host: '127.0.0.1', port, path: target }, (res) => {
          let text = '';
          res.on('data', (chunk) => (text += chunk));
          res.on('end', () => ok(text));
        });
        req.on('error', fail);
        req.end();
      });
      expect(body).toBe('hello');
      await heard('the flow event', (e) =>
        Boolean(e.flows?.added.some((f) => f.kind === 'http' && f.request.url === target)),
      );
      const list = await bridge.flows.list();
      expect(list.some((f) => f.kind === 'http' && f.request.url === target)).toBe(true);
      expect(fake.rec.windows[0]!.webContents.sent.some((s) => s.channel === EVENT_CHANNEL)).toBe(
        true,
      );
    } finally {
      server.close();
    }
  });

  it('refuses bad arguments with invalid_argument, in words', async () => {
    await expect(bridge.proxy.setRecording('yes' as unknown as boolean)).rejects.toEqual({
      code: 'invalid_argument',
      message: expect.stringContaining('proxy.setRecording'),
    });
    const extra = await invokeAs({ url: appUrl, parent: null }, 'loupe:flows.list', 1);
    expect(extra).toMatchObject({ ok: false, error: { code: 'invalid_argument' } });
    await expect(bridge.flows.get('no such id!')).rejects.toMatchObject({
      code: 'invalid_argument',
    });
    await expect(bridge.flows.get('nope')).rejects.toMatchObject({ code: 'not_found' });
  });

  it('rejects with a plain { code, message } object that survives the context bridge', async () => {
    const failure = await bridge.flows.body('missing:res').catch((err: unknown) => err);
    expect(Object.getPrototypeOf(failure)).toBe(Object.prototype);
    expect(Object.keys(failure as object).sort()).toEqual(['code', 'message']);
  });

  it('refuses callers other than the app page', async () => {
    const channel = channelName('proxy', 'setRecording');
    for (const frame of [
      null,
      { url: 'https://evil.example/', parent: null },
      { url: pathToFileURL(join(dataDir, 'index.html')).href, parent: null },
      { url: appUrl, parent: { url: appUrl } },
    ]) {
      const reply = await invokeAs(frame, channel, false);
      expect(reply).toMatchObject({ ok: false, error: { code: 'forbidden' } });
      expect((reply as { error: { message: string } }).error.message).toMatch(/own window/);
    }
    expect((await bridge.proxy.status()).recording).toBe(true);
  });

  it('has no handler for a channel outside the contract', async () => {
    const ipc = fake.module.ipcRenderer as { invoke(c: string, ...a: unknown[]): Promise<unknown> };
    await expect(ipc.invoke('loupe:flows.delete')).rejects.toThrow(/No handler registered/);
    await expect(ipc.invoke('loupe:system.info.x')).rejects.toThrow(/No handler registered/);
  });
});

describe('preload: window.loupe is the contract and nothing else', () => {
  it('requires only electron', () => {
    expect(preloadRequires).toEqual(['electron']);
  });

  it('exposes exactly the sections and methods of API_METHODS, plus onEvent', () => {
    expect(fake.rec.exposed.map((e) => e.key)).toEqual(['loupe']);
    const shape = Object.fromEntries(
      Object.entries(bridge).map(([key, value]) => [
        key,
        typeof value === 'function' ? 'function' : Object.keys(value as object).sort(),
      ]),
    );
    expect(shape).toEqual({
      ...Object.fromEntries(
        Object.entries(API_METHODS).map(([section, methods]) => [section, [...methods].sort()]),
      ),
      onEvent: 'function',
    });
  });

  it('calls each method on its derived channel', async () => {
    const ipc = fake.module.ipcRenderer as { invoke(c: string, ...a: unknown[]): Promise<unknown> };
    const original = ipc.invoke;
    const seen: string[] = [];
    ipc.invoke = async (channel) => {
      seen.push(channel);
      return { ok: true, result: channel };
    };
    try {
      for (const section of Object.keys(API_METHODS) as ApiSection[]) {
        const methods = bridge[section] as unknown as Record<string, () => Promise<unknown>>;
        for (const method of API_METHODS[section]) {
          await expect(methods[method]!()).resolves.toBe(channelName(section, method as never));
        }
      }
    } finally {
      ipc.invoke = original;
    }
    expect(seen).toEqual(allChannels());
  });

  it('onEvent hears the event channel until unsubscribed', () => {
    const heard: ApiEvent[] = [];
    const stop = bridge.onEvent((event) => heard.push(event));
    const ipc = fake.module.ipcRenderer as { emit(c: string, ...a: unknown[]): void };
    ipc.emit(EVENT_CHANNEL, {}, { command: 'clear' });
    stop();
    ipc.emit(EVENT_CHANNEL, {}, { command: 'clear' });
    expect(heard).toEqual([{ command: 'clear' }]);
  });
});

describe('the window is locked down', () => {
  it('is created sandboxed, context-isolated, without Node, hidden until painted', () => {
    expect(fake.rec.windows).toHaveLength(1);
    const { options } = fake.rec.windows[0]!;
    expect(options.show).toBe(false);
    expect(options.webPreferences).toMatchObject({
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      webviewTag: false,
      preload: PRELOAD,
    });
    expect(fake.rec.loadURL).toEqual([]);
    expect(fake.rec.loadFile[0]).toBe(
      join(rendererDir ?? join(ROOT, 'out/renderer'), 'index.html'),
    );
    expect(fake.rec.enableSandbox).toBe(1);
  });

  it('sends the CSP of index.html as a header, replacing any other', () => {
    const html = readFileSync(join(ROOT, 'src-renderer/index.html'), 'utf8');
    const meta = /http-equiv="Content-Security-Policy"\s+content="([^"]+)"/.exec(html)?.[1];
    expect(meta).toBeDefined();
    expect(fake.rec.headerListeners).toHaveLength(1);
    let answer: { responseHeaders: Record<string, string[]> } | undefined;
    fake.rec.headerListeners[0]!(
      { responseHeaders: { 'content-security-policy': ['default-src *'], 'X-Other': ['1'] } },
      (r) => (answer = r as typeof answer),
    );
    expect(Object.keys(answer!.responseHeaders).sort()).toEqual([
      'Content-Security-Policy',
      'X-Other',
    ]);
    const header = answer!.responseHeaders['Content-Security-Policy']![0]!;
    expect(directives(header)).toEqual([...directives(meta!), "frame-ancestors 'none'"].sort());
  });

  it('denies permissions, except clipboard writes from the app page', () => {
    const [request] = fake.rec.permissionRequest;
    const [check] = fake.rec.permissionCheck;
    const from = (url: string) => ({ getURL: () => url });
    const asked = (wc: unknown, permission: string): boolean => {
      let granted: boolean | undefined;
      request!(wc, permission, (ok) => (granted = ok));
      return granted!;
    };
    for (const permission of ['geolocation', 'media', 'notifications', 'openExternal']) {
      expect(asked(from(appUrl), permission)).toBe(false);
      expect(check!(from(appUrl), permission)).toBe(false);
    }
    expect(asked(from(appUrl), 'clipboard-sanitized-write')).toBe(true);
    expect(asked(from('https://evil.example/'), 'clipboard-sanitized-write')).toBe(false);
    expect(check!(null, 'clipboard-sanitized-write')).toBe(false);
  });

  it('refuses navigation away from the app page', () => {
    const contents = fake.rec.windows[0]!.webContents;
    for (const name of ['will-navigate', 'will-redirect', 'will-frame-navigate']) {
      expect(contents.listenerCount(name)).toBe(1);
      const away = fakeEvent({ url: 'https://evil.example/' });
      contents.emit(name, away, away.url);
      expect(away.defaultPrevented).toBe(true);
      const file = fakeEvent({ url: 'file:///etc/passwd' });
      contents.emit(name, file, file.url);
      expect(file.defaultPrevented).toBe(true);
      const home = fakeEvent({ url: `${appUrl}#/flows` });
      contents.emit(name, home, home.url);
      expect(home.defaultPrevented).toBe(false);
    }
    const webview = fakeEvent({});
    contents.emit('will-attach-webview', webview, {}, {});
    expect(webview.defaultPrevented).toBe(true);
  });

  it('denies new windows; web links go to the system browser, nothing else does', () => {
    const open = fake.rec.windows[0]!.webContents.windowOpenHandler!;
    for (const url of ['https://example.com/docs', 'file:///etc/passwd', 'javascript:alert(1)']) {
      expect(open({ url })).toEqual({ action: 'deny' });
    }
    expect(fake.rec.openExternal).toEqual(['https://example.com/docs']);
  });
});

describe('HAR files through the native dialogs', () => {
  it('exports to the path the save dialog gives and opens the file the open dialog gives', async () => {
    const filters = [
      { name: 'HAR', extensions: ['har'] },
      { name: 'JSON', extensions: ['json'] },
    ];
    fake.dialogAnswers = {};
    expect(await bridge.har.export({ sessionId: 'live', scope: 'all' })).toBeNull();
    expect(await bridge.har.import({ kind: 'dialog' })).toBeNull();

    const target = join(temp('loupe-har-'), 'saved.har');
    fake.dialogAnswers = {
      save: target,
      open: join(ROOT, 'test-fixtures/har/insomnia.har'),
    };
    const job = (await bridge.har.export({ sessionId: 'live', scope: 'all' }))!;
    expect(job).toMatchObject({ kind: 'export', state: 'running' });
    expect(job.downloadUrl).toBeUndefined();
    await heard('the export to finish', (e) =>
      Boolean(e.jobs?.some((j) => j.id === job.id && j.state === 'done')),
    );
    const done = events.flatMap((e) => e.jobs ?? []).find((j) => j.state === 'done')!;
    expect(done.path).toBe(target);
    expect(JSON.parse(readFileSync(target, 'utf8')).log.creator.name).toBe('Loupe');

    const opened = (await bridge.har.import({ kind: 'dialog' }))!;
    expect(opened).toMatchObject({ kind: 'imported', name: 'insomnia.har' });
    expect((await bridge.sessions.list()).map((s) => s.id)).toEqual(['live', opened.id]);

    const save = fake.rec.saveDialogs.at(-1)!;
    expect(save.parent).toBe(true);
    expect(save.options).toMatchObject({ filters });
    expect(save.options.defaultPath).toMatch(/^loupe-\d{4}-\d\d-\d\d-\d{4}-all\.har$/);
    expect(fake.rec.openDialogs.at(-1)).toMatchObject({
      parent: true,
      options: {
        filters: [
          { name: 'HAR', extensions: ['har', 'json'] },
          { name: 'All files', extensions: ['*'] },
        ],
        properties: ['openFile'],
      },
    });
  });
});

describe('application lifecycle and menu', () => {
  it('asks for the single-instance lock, with Chromium’s profile inside the data directory', () => {
    expect(fake.rec.singleInstanceLock).toBe(1);
    expect(fake.rec.paths.userData).toBe(join(dataDir, 'chromium'));
  });

  it('quits at once, opening nothing, when another instance holds the lock', () => {
    const second = startMain({ LOUPE_DATA_DIR: dataDir, LOUPE_PORT: '0' }, (f) => {
      f.gotLock = false;
    });
    second.restoreEnv();
    second.removeSignalHandlers();
    expect(second.fake.rec.quit).toBe(1);
    expect(second.fake.rec.handled).toEqual([]);
    expect(second.fake.rec.windows).toEqual([]);
  });

  it('says in words why it cannot start (data directory in use, corrupt CA) and exits 1', async () => {
    const locked = temp('loupe-locked-');
    // A live process of this machine that is not this one: the vitest runner.
    writeFileSync(
      join(locked, 'loupe.lock'),
      JSON.stringify({
        pid: process.ppid,
        startedAt: new Date().toISOString(),
        hostname: hostname(),
      }),
    );
    const corrupt = temp('loupe-corrupt-');
    writeFileSync(join(corrupt, 'ca.pem'), 'not a certificate');
    writeFileSync(join(corrupt, 'ca-key.pem'), 'not a key');
    for (const [dir, words] of [
      [locked, /Another Loupe .* is using/],
      [corrupt, /ca\.pem|CA/],
    ] as const) {
      const second = startMain({ LOUPE_DATA_DIR: dir, LOUPE_PORT: '0' });
      try {
        await expect(second.fake.exited).resolves.toBe(1);
      } finally {
        second.restoreEnv();
        second.removeSignalHandlers();
      }
      expect(second.fake.rec.errorBoxes).toHaveLength(1);
      expect(second.fake.rec.errorBoxes[0]!.content).toMatch(words);
      expect(second.fake.rec.handled).toEqual([]);
      expect(second.fake.rec.windows).toEqual([]);
    }
    expect(readFileSync(join(corrupt, 'ca.pem'), 'utf8')).toBe('not a certificate');
  });

  it('closes the session it opened when the window cannot load (UI not built)', async () => {
    const dir = temp('loupe-no-ui-');
    const second = startMain({
      LOUPE_DATA_DIR: dir,
      LOUPE_PORT: '0',
      LOUPE_RENDERER_DIR: temp('loupe-empty-ui-'),
    });
    try {
      await expect(second.fake.exited).resolves.toBe(1);
    } finally {
      second.restoreEnv();
      second.removeSignalHandlers();
    }
    expect(second.fake.rec.errorBoxes.map((box) => box.content)).toEqual([
      expect.stringMatching(/The UI is not built .*npm run build/),
    ]);
    expect(second.fake.rec.handled).toEqual(allChannels());
    expect(second.fake.ipcHandlers.size).toBe(0);
    expect(existsSync(join(dir, 'loupe.lock'))).toBe(false);
  });

  it('shows the page the start-up notices once it has loaded: the last run ended abnormally', async () => {
    const crashed = temp('loupe-electron-crashed-');
    const pid = await leaveCrashedLock(crashed);
    // What main sent the page, and whether the page had loaded by then (a real window drops
    // what is sent before its page exists).
    const sent: { event: ApiEvent; loaded: boolean }[] = [];
    const next = startMain(
      {
        LOUPE_DATA_DIR: crashed,
        LOUPE_PORT: '0',
        ...(rendererDir ? { LOUPE_RENDERER_DIR: rendererDir } : {}),
      },
      (f) =>
        (f.module.app as EventEmitter).on(
          'web-contents-created',
          (
            _event: unknown,
            contents: { send(channel: string, payload: unknown): void } & EventEmitter,
          ) => {
            let loaded = false;
            contents.once('did-finish-load', () => (loaded = true));
            const send = contents.send.bind(contents);
            contents.send = (channel, payload) => {
              if (channel === EVENT_CHANNEL) sent.push({ event: payload as ApiEvent, loaded });
              send(channel, payload);
            };
          },
        ),
    );
    try {
      await deadline(next.loaded, 'the window on the crashed directory to load');
      next.restoreEnv();
      await until(
        'the start-up notices after the load',
        (notify) => {
          const contents = next.fake.rec.windows[0]!.webContents as unknown as EventEmitter;
          contents.on('did-finish-load', notify);
          return () => contents.off('did-finish-load', notify);
        },
        () => sent.some((s) => s.loaded && s.event.notices),
      );
      const afterLoad = sent.filter((s) => s.loaded).flatMap((s) => s.event.notices ?? []);
      expect(afterLoad.map((n) => n.message)).toEqual([
        expect.stringMatching(new RegExp(`^The last run ended abnormally: Loupe \\(pid ${pid}`)),
      ]);
    } finally {
      next.restoreEnv();
      const sigterm = next.signalHandlers.find((h) => h.signal === 'SIGTERM')!;
      (sigterm.listener as () => void)();
      await next.fake.exited;
      next.removeSignalHandlers();
    }
  });

  it('has the menu shortcuts of UI.md, each sending its command to the UI', () => {
    expect(fake.rec.menus).toHaveLength(1);
    expect(fake.rec.applicationMenu).toEqual({ template: fake.rec.menus[0] });
    const items = flatten(fake.rec.menus[0] as Item[]);
    const contents = fake.rec.windows[0]!.webContents;
    for (const [accelerator, command] of [
      ['CmdOrCtrl+R', 'toggle-recording'],
      ['CmdOrCtrl+K', 'clear'],
      ['CmdOrCtrl+F', 'focus-filter'],
      ['CmdOrCtrl+A', 'select-all'],
      ['CmdOrCtrl+B', 'toggle-sidebar'],
      ['CmdOrCtrl+,', 'open-preferences'],
      ['CmdOrCtrl+S', 'export-har'],
      ['CmdOrCtrl+O', 'import-har'],
      ['CmdOrCtrl+Shift+C', 'copy-curl'],
    ]) {
      const matching = items.filter((item) => item.accelerator === accelerator);
      expect(matching, accelerator).toHaveLength(1);
      contents.sent.length = 0;
      matching[0]!.click!();
      expect(contents.sent).toEqual([{ channel: EVENT_CHANNEL, payload: { command } }]);
    }
    // ⌘R is Record, never a page reload that would drop the UI's state.
    expect(items.some((item) => item.role === 'reload' || item.role === 'forceReload')).toBe(false);
    // Breakpoints have no item until they exist.
    expect(items.some((item) => /breakpoint/i.test(item.label ?? ''))).toBe(false);
    expect(items.some((item) => item.role === 'toggleDevTools')).toBe(true);
  });

  it('closes the session on quit, once, and remembers the window for the next start', async () => {
    const win = fake.rec.windows[0]!;
    win.bounds = { x: 40, y: 60, width: 1000, height: 700 };
    win.emit('resize');
    const { port } = await bridge.proxy.status();

    const first = fakeEvent({});
    const appEmitter = fake.module.app as { emit(name: string, ...a: unknown[]): boolean };
    appEmitter.emit('before-quit', first);
    expect(first.defaultPrevented).toBe(true);
    const again = fakeEvent({});
    appEmitter.emit('before-quit', again);
    await expect(fake.exited).resolves.toBe(0);

    expect(existsSync(join(dataDir, 'loupe.lock'))).toBe(false);
    const refused = await new Promise<boolean>((done) => {
      const socket = connect(port, '127.0.0.1');
      socket.on('connect', () => (socket.destroy(), done(false)));
      socket.on('error', () => done(true));
    });
    expect(refused).toBe(true);
    const saved = JSON.parse(readFileSync(join(dataDir, WINDOW_STATE_FILE), 'utf8'));
    expect(saved).toEqual({ bounds: { x: 40, y: 60, width: 1000, height: 700 }, maximized: false });

    const next = startMain({ LOUPE_DATA_DIR: dataDir, LOUPE_PORT: '0' });
    try {
      await deadline(next.loaded, 'the next window to load');
      expect(next.fake.rec.windows[0]!.options).toMatchObject({
        x: 40,
        y: 60,
        width: 1000,
        height: 700,
      });
      // SIGTERM quits as cleanly as the menu does.
      const sigterm = next.signalHandlers.find((h) => h.signal === 'SIGTERM')!;
      (sigterm.listener as () => void)();
      await expect(next.fake.exited).resolves.toBe(0);
      expect(existsSync(join(dataDir, 'loupe.lock'))).toBe(false);
    } finally {
      next.restoreEnv();
      next.removeSignalHandlers();
    }
    // Quit was asked twice. A second stop would await the same flush, dispose and close as the
    // first and exit right after; another instance has since opened this data directory and
    // quit, so that second exit would be recorded by now.
    expect(fake.rec.exit).toEqual([0]);
  });
});
