/**
 * One Loupe session: the data directory (lock, settings, CA), the engine, capture, bypass
 * learning and the stores, wired together the same way for `loupe headless` and the desktop
 * app. `close()` undoes it in order.
 */
import { join } from 'node:path';
import { compileBypassList, type BypassMatcher } from '../../src-common/bypass';
import type { Notice } from '../../src-common/api/contract';
import { createCapture, type Capture } from '../addons/capture';
import { createBypassLearning, type BypassLearning } from '../addons/bypass-learning';
import { loadOrCreateCa } from '../certs/ca';
import { LeafMinter } from '../certs/leaf';
import { ensureDataDir } from '../data/data-dir';
import { acquireLock, type StaleOwner } from '../data/lock';
import {
  applySettingsPatch,
  openSettings,
  SettingsError,
  type SettingsPatch,
  type SettingsStore,
} from '../data/settings';
import type { Settings } from '../../src-common/settings';
import { Hooks, startProxy, type ClientLimits, type RunningProxy } from '../engine/index';
import { trustedRoots } from '../engine/trust';
import { BodyStore } from '../flows/body-store';
import { FlowStore } from '../flows/flow-store';

export interface SessionOptions {
  dataDir: string;
  host: string;
  /** Absent: the saved `proxyPort` setting. 0 picks a free port. */
  port?: number;
  /** Patterns added to the saved bypass list for this run only. */
  extraBypass?: string[];
  noProxy?: string[];
  resolve?: [string, string][];
  upstreamProxy?: string;
  /** PEM texts trusted for upstream TLS besides the system's roots. */
  upstreamCa?: string[];
  /** Bytes of captured bodies kept in memory before they spill to disk; default 256 MiB. */
  bodyMemoryBudget?: number;
  version: string;
  mode: 'electron' | 'headless';
  /**
   * Receives each notice; the headless mode prints them. Those of start-up come once start-up
   * has ended (or failed), so what it adds to a notice is in it.
   */
  onNotice?: (notice: Notice) => void;
}

export interface Session {
  readonly options: SessionOptions;
  readonly dataDir: string;
  readonly proxy: RunningProxy;
  readonly hooks: Hooks;
  readonly flows: FlowStore;
  readonly bodies: BodyStore;
  readonly capture: Capture;
  readonly learning: BypassLearning;
  readonly settings: SettingsStore;
  readonly ca: { certPem: string; fingerprint256: string; certPath: string };
  /**
   * Validates, saves and applies a change at once: the bypass list (connections it contradicts
   * are closed), upstream-certificate exceptions (from the next upstream connection), Alt-Svc
   * stripping (from the next response), the capture caps, the limits on client connections (each
   * from its next wait), the auto-bypass lifetime (hosts learned from now on) and the proxy port
   * (the proxy moves before the change is saved; a port it cannot have refuses the whole change).
   * Throws SettingsError `settings_invalid` with words when refused; nothing is saved or changed
   * then.
   */
  updateSettings(patch: SettingsPatch): Promise<Settings>;
  /**
   * Takes a host off the auto-learned bypass list and resolves once that is saved, to the
   * settings now in force; undefined when the host was not on the list.
   */
  forgetLearned(host: string): Promise<Settings | undefined>;
  /** Subscribes to saved changes made inside the session (a host learned, forgotten or expired). */
  onSettings(listener: (settings: Settings) => void): () => void;
  /**
   * Subscribes to notices (learned hosts, untrusted CA, failed handshakes). Those of start-up come
   * before openSession resolves, so only `onNotice` in the options hears them: the rest learn
   * them from `startupNotices`.
   */
  onNotice(listener: (notice: Notice) => void): () => void;
  /**
   * The notices of start-up (the last run ended abnormally, settings repaired), oldest first and
   * as they stand now: the event hub tells them to each UI that connects.
   */
  readonly startupNotices: readonly Notice[];
  /**
   * Adds a sentence to the start-up notice that the last run ended abnormally, for what has been
   * put right since (the system proxy restored, a session recovered); false when the last run
   * ended cleanly. The notice keeps its time and is told again whole, so a UI that shows it
   * replaces its text: it stays one notice.
   */
  addToLastRunNotice(sentence: string): boolean;
  /**
   * Stops the proxy, runs `afterStop` (the flows and bodies are still readable then: the headless
   * mode writes its HAR), then frees the stores and the data-directory lock.
   */
  close(afterStop?: () => Promise<void>): Promise<void>;
}

/** The settings' limits on client connections, as the engine takes them. */
function clientLimits(settings: Settings): ClientLimits {
  return {
    headersTimeoutMs: settings.requestHeadTimeoutSeconds * 1000,
    firstRequestTimeoutMs: settings.firstRequestTimeoutSeconds * 1000,
    keepAliveTimeoutMs: settings.keepAliveTimeoutSeconds * 1000,
    tunnelIdleTimeoutMs: settings.tunnelIdleTimeoutSeconds * 1000,
  };
}

/** Words for a stale lock taken over at start: the previous run crashed or was killed. */
function lastRunEnded(owner: StaleOwner): string {
  const which = [
    ...(owner.pid !== undefined ? [`pid ${owner.pid}`] : []),
    ...(owner.startedAt ? [`started ${owner.startedAt}`] : []),
  ];
  return `The last run ended abnormally: Loupe${which.length ? ` (${which.join(', ')})` : ''} stopped without closing, as after a crash, a forced quit or a power cut.`;
}

/**
 * The notices of start-up, kept for every UI that connects later (they come before any can).
 * Held until start-up ends, so that what start-up puts right after an abnormal end joins that
 * notice before anyone is told.
 */
class StartupNotices {
  readonly list: Notice[] = [];
  private lastRun: number | undefined;
  private told = false;

  constructor(private readonly tell: (notice: Notice) => void) {}

  add(level: Notice['level'], message: string): void {
    this.list.push({ level, message, at: Date.now() });
  }

  /** The one notice about a run that did not end cleanly; `addToLastRun` extends it. */
  lastRunEnded(owner: StaleOwner): void {
    this.lastRun = this.list.length;
    this.add('warning', lastRunEnded(owner));
  }

  addToLastRun(sentence: string): boolean {
    if (this.lastRun === undefined) return false;
    const notice = this.list[this.lastRun]!;
    const extended = { ...notice, message: `${notice.message} ${sentence}` };
    this.list[this.lastRun] = extended;
    if (this.told) this.tell(extended);
    return true;
  }

  /** Start-up has ended, or failed: tells what it held, once. */
  flush(): void {
    if (this.told) return;
    this.told = true;
    for (const notice of this.list) this.tell(notice);
  }
}

/** Opens the data directory and starts the proxy; throws (with words) when either cannot be. */
export async function openSession(opts: SessionOptions): Promise<Session> {
  await ensureDataDir(opts.dataDir);
  const lock = await acquireLock(opts.dataDir);
  const noticeListeners = new Set<(notice: Notice) => void>();
  const tell = (notice: Notice): void => {
    opts.onNotice?.(notice);
    for (const listener of noticeListeners) listener(notice);
  };
  const notify = (level: Notice['level'], message: string): void =>
    tell({ level, message, at: Date.now() });
  const startup = new StartupNotices(tell);
  try {
    // A run that did not end cleanly is told in one notice; whatever start-up later puts right
    // after it (the system proxy restored, a session recovered) joins it (addToLastRun).
    if (lock.staleFrom) startup.lastRunEnded(lock.staleFrom);
    const { store, warning } = await openSettings(opts.dataDir);
    if (warning) startup.add('warning', warning);
    const settings = store.get();
    const ca = await loadOrCreateCa(opts.dataDir);
    const settingsListeners = new Set<(settings: Settings) => void>();

    const hooks = new Hooks();
    hooks.on('internalError', (err, hook) =>
      notify('error', `internal error in ${hook}: ${(err as Error)?.stack ?? err}`),
    );
    const flows = new FlowStore();
    const bodies = new BodyStore({
      dir: join(opts.dataDir, 'bodies'),
      ...(opts.bodyMemoryBudget !== undefined ? { memoryBudget: opts.bodyMemoryBudget } : {}),
    });
    const capture = createCapture({
      hooks,
      flows,
      bodies,
      bodyCap: settings.captureBodyCap,
      webSocketCap: settings.captureWebSocketCap,
    });

    const extra = (opts.extraBypass ?? []).map((pattern) => ({ pattern, enabled: true }));
    let bypass: BypassMatcher = compileBypassList([...settings.bypass, ...extra]);
    // Hosts whose clients rejected Loupe's certificate: tunnelled raw until they expire, and
    // kept in settings.json so a restart remembers them.
    const proxyRef: { current?: RunningProxy } = {};
    let learnedSaved: Promise<Settings | undefined> = Promise.resolve(undefined);
    const learning = createBypassLearning({
      hooks,
      initial: settings.autoBypass,
      // Read at each learning, so a changed lifetime applies to the next host learned.
      ttlMs: () => store.get().autoBypassHours * 3600 * 1000,
      onChange: (autoBypass) => {
        proxyRef.current?.bypassChanged();
        learnedSaved = store.update({ autoBypass }).then(
          (saved) => {
            for (const listener of settingsListeners) listener(saved);
            return saved;
          },
          (err: Error) => {
            notify('error', `could not save the auto-bypass list: ${err.message}`);
            return undefined;
          },
        );
      },
      onNotice: (message) => notify('warning', message),
    });
    // Each host's first failed handshake is worth a notice; a client retrying is not.
    const reported = new Set<string>();
    hooks.on('tunnelClose', (tn) => {
      if (tn.error?.code !== 'tls_handshake_failed' || reported.has(tn.target.host)) return;
      if (reported.size < 1000) reported.add(tn.target.host);
      notify('warning', tn.error.message);
    });
    let insecure = compileBypassList(
      settings.allowInvalidUpstreamCertificates.map((pattern) => ({ pattern, enabled: true })),
    );
    const noProxy = opts.noProxy?.length
      ? compileBypassList(opts.noProxy.map((pattern) => ({ pattern, enabled: true })))
      : undefined;
    const proxy = await startProxy({
      host: opts.host,
      port: opts.port ?? settings.proxyPort,
      hooks,
      resolve: opts.resolve ?? [],
      isBypassed: (host: string, port: number) =>
        bypass.matches(host, port) || learning.matches(host),
      allowInvalidCertificate: (host: string, port: number) => insecure.matches(host, port),
      stripAltSvcH3: settings.stripAltSvcH3,
      ...clientLimits(settings),
      ...(opts.upstreamProxy ? { upstreamProxy: opts.upstreamProxy } : {}),
      ...(noProxy ? { noProxy: (host: string, port: number) => noProxy.matches(host, port) } : {}),
      trustedCa: trustedRoots(opts.upstreamCa ?? []),
      ca: { certPem: ca.certPem, certDer: ca.certDer, fingerprint256: ca.fingerprint256 },
      tls: new LeafMinter(ca),
    });
    proxyRef.current = proxy;
    /** Recompiles the bypass list from the settings and closes connections it now contradicts. */
    const applyBypass = (): void => {
      bypass = compileBypassList([...store.get().bypass, ...extra]);
      proxy.bypassChanged();
    };

    let closed: Promise<void> | undefined;
    startup.flush();
    return {
      options: opts,
      dataDir: opts.dataDir,
      proxy,
      hooks,
      flows,
      bodies,
      capture,
      learning,
      settings: store,
      ca: {
        certPem: ca.certPem,
        fingerprint256: ca.fingerprint256,
        certPath: join(opts.dataDir, 'ca.pem'),
      },
      async updateSettings(patch) {
        const current = store.get();
        // Refused before anything moves: a bad change must not open a port, even for a moment.
        const check = applySettingsPatch(current, patch);
        if (!check.ok)
          throw new SettingsError('settings_invalid', `Settings not saved: ${check.error}.`);
        let next: Settings | undefined;
        const save = async (): Promise<void> => {
          next = await store.update(patch);
        };
        const port = patch.proxyPort;
        if (port !== undefined && port !== proxy.port) {
          try {
            await proxy.moveTo(port, save);
          } catch (err) {
            if (err instanceof SettingsError) throw err;
            const code = (err as NodeJS.ErrnoException).code;
            const why =
              code === 'EADDRINUSE'
                ? `port ${port} is in use by another program; choose another`
                : code === 'EACCES'
                  ? `port ${port} needs administrator privileges (ports below 1024 do); choose one from 1024 up`
                  : `the proxy could not listen on port ${port} (${(err as Error).message})`;
            throw new SettingsError('settings_invalid', `Settings not saved: ${why}.`);
          }
          notify('info', `The proxy now listens on ${proxy.url}.`);
        } else {
          await save();
        }
        const saved = next!;
        if (patch.bypass) applyBypass();
        if (patch.allowInvalidUpstreamCertificates) {
          // Read per upstream connection; the pool keys connections by whether they were
          // verified, so a verified connection is never reused for an excepted host or the
          // other way round: the next request to the host opens one under the new rule.
          insecure = compileBypassList(
            saved.allowInvalidUpstreamCertificates.map((pattern) => ({ pattern, enabled: true })),
          );
        }
        if (patch.stripAltSvcH3 !== undefined) proxy.setStripAltSvcH3(saved.stripAltSvcH3);
        if (patch.captureBodyCap !== undefined) capture.setBodyCap(saved.captureBodyCap);
        if (patch.captureWebSocketCap !== undefined) {
          capture.setWebSocketCap(saved.captureWebSocketCap);
        }
        // Each from the next time it starts counting: a connection's next wait, the next tunnel.
        proxy.setLimits(clientLimits(saved));
        return saved;
      },
      async forgetLearned(host) {
        if (!learning.remove(host)) return undefined;
        return (await learnedSaved) ?? store.get();
      },
      onSettings(listener) {
        settingsListeners.add(listener);
        return () => void settingsListeners.delete(listener);
      },
      onNotice(listener) {
        noticeListeners.add(listener);
        return () => void noticeListeners.delete(listener);
      },
      get startupNotices() {
        return startup.list;
      },
      addToLastRunNotice: (sentence) => startup.addToLastRun(sentence),
      close(afterStop) {
        closed ??= (async () => {
          try {
            await proxy.close();
            capture.dispose();
            learning.dispose();
            flows.dispose();
            await afterStop?.();
          } finally {
            await bodies.close();
            await lock.release();
          }
        })();
        return closed;
      },
    };
  } catch (err) {
    // A start that fails still says what it found (the last run crashed, settings repaired).
    startup.flush();
    await lock.release();
    throw err;
  }
}
