/**
 * `loupe headless`: the engine, capture and stores in plain Node. Prints the contract line
 * `proxy listening on http://HOST:PORT`; on SIGINT or SIGTERM writes the captured flows to
 * `--har` and exits 0.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { compileBypassList } from '../../src-common/bypass';
import { createCapture } from '../addons/capture';
import { loadOrCreateCa } from '../certs/ca';
import { LeafMinter } from '../certs/leaf';
import { defaultDataDir, ensureDataDir } from '../data/data-dir';
import { acquireLock } from '../data/lock';
import { openSettings } from '../data/settings';
import { createBypassLearning } from '../addons/bypass-learning';
import { Hooks, startProxy } from '../engine/index';
import { trustedRoots } from '../engine/trust';
import { BodyStore } from '../flows/body-store';
import { FlowStore } from '../flows/flow-store';
import { writeHarFile } from '../flows/har-file';
import type { HeadlessConfig } from './args';
import { UsageError } from './args';

const out = (line: string): void => void process.stdout.write(`${line}\n`);
const info = (line: string): void => void process.stderr.write(`${line}\n`);

/** Fails early, before any traffic is captured, when the HAR could not be written at exit. */
function checkHarTarget(path: string): void {
  const dir = dirname(path);
  try {
    if (!statSync(dir).isDirectory()) throw new Error();
    accessSync(dir, constants.W_OK);
  } catch {
    throw new UsageError(`--har: the folder ${dir} does not exist or is not writable`);
  }
  try {
    if (statSync(path).isDirectory())
      throw new UsageError(`--har: ${path} is a folder, not a file`);
  } catch (err) {
    if (err instanceof UsageError) throw err;
  }
}

function waitForSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolveSignal) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
      resolveSignal(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

/** Runs until SIGINT/SIGTERM; resolves to the exit code. */
export async function runHeadless(config: HeadlessConfig, version: string): Promise<number> {
  if (config.uiPort !== undefined) {
    throw new UsageError(
      'the web UI is not built yet (it arrives with the desktop app); run without --ui-port',
    );
  }
  const harPath = config.harPath ? resolve(config.harPath) : undefined;
  if (harPath) checkHarTarget(harPath);

  // One broken connection must never end the session and lose what was captured: a bug that
  // escapes every handler is reported and the proxy keeps serving.
  process.on('uncaughtException', (err) =>
    info(`loupe headless: internal error (please report it): ${err.stack ?? err}`),
  );

  const dataDir = resolve(config.dataDir ?? defaultDataDir());
  await ensureDataDir(dataDir);
  const lock = await acquireLock(dataDir);
  try {
    const { store, warning } = await openSettings(dataDir);
    if (warning) info(`loupe headless: ${warning}`);
    const settings = store.get();
    const ca = await loadOrCreateCa(dataDir);

    const hooks = new Hooks();
    hooks.on('internalError', (err, hook) =>
      info(`loupe headless: internal error in ${hook}: ${(err as Error)?.stack ?? err}`),
    );
    const flows = new FlowStore();
    const bodies = new BodyStore({ dir: join(dataDir, 'bodies') });
    const capture = createCapture({ hooks, flows, bodies, bodyCap: settings.captureBodyCap });

    // The saved list plus this run's --bypass patterns (validated by the argument parser).
    const bypass = compileBypassList([
      ...settings.bypass,
      ...config.bypass.map((pattern) => ({ pattern, enabled: true })),
    ]);
    // Hosts whose clients rejected Loupe's certificate: tunnelled raw until they expire, and
    // kept in settings.json so a restart remembers them.
    const proxyRef: { current?: { bypassChanged(): number } } = {};
    const learning = createBypassLearning({
      hooks,
      initial: settings.autoBypass,
      ttlMs: settings.autoBypassHours * 3600 * 1000,
      onChange: (autoBypass) => {
        proxyRef.current?.bypassChanged();
        store
          .update({ autoBypass })
          .catch((err: Error) =>
            info(`loupe headless: could not save the auto-bypass list: ${err.message}`),
          );
      },
      onNotice: (message) => info(`loupe headless: ${message}`),
    });
    // Each host's first failed handshake is worth a line; a client retrying is not.
    const reported = new Set<string>();
    hooks.on('tunnelClose', (tn) => {
      if (tn.error?.code !== 'tls_handshake_failed' || reported.has(tn.target.host)) return;
      if (reported.size < 1000) reported.add(tn.target.host);
      info(`loupe headless: ${tn.error.message}`);
    });
    const insecure = compileBypassList(
      settings.allowInvalidUpstreamCertificates.map((pattern) => ({ pattern, enabled: true })),
    );
    const noProxy = config.noProxy.length
      ? compileBypassList(config.noProxy.map((pattern) => ({ pattern, enabled: true })))
      : undefined;
    const proxy = await startProxy({
      host: config.host,
      port: config.port,
      hooks,
      resolve: config.resolve,
      isBypassed: (host: string, port: number) =>
        bypass.matches(host, port) || learning.matches(host),
      allowInvalidCertificate: (host: string, port: number) => insecure.matches(host, port),
      stripAltSvcH3: settings.stripAltSvcH3,
      ...(config.upstreamProxy ? { upstreamProxy: config.upstreamProxy } : {}),
      ...(noProxy ? { noProxy: (host: string, port: number) => noProxy.matches(host, port) } : {}),
      trustedCa: trustedRoots(config.upstreamCa),
      ca: { certPem: ca.certPem, certDer: ca.certDer, fingerprint256: ca.fingerprint256 },
      tls: new LeafMinter(ca),
    });
    proxyRef.current = proxy;

    if (!isLoopbackHost(config.host)) {
      info(
        `loupe headless: listening on ${config.host}: any machine that can reach it can use this proxy.`,
      );
    }
    info(
      `CA certificate: ${join(dataDir, 'ca.pem')} (or open http://loupe.local/ through the proxy)`,
    );
    out(`proxy listening on ${proxy.url}`);

    const signal = await waitForSignal();
    info(`loupe headless: ${signal} received, stopping`);
    await proxy.close();
    capture.dispose();
    learning.dispose();
    let code = 0;
    if (harPath) {
      const list = flows.list();
      try {
        await writeHarFile(harPath, list, bodies, { creatorVersion: version });
        info(
          `loupe headless: wrote ${list.length} flow${list.length === 1 ? '' : 's'} to ${harPath}`,
        );
      } catch (err) {
        info(`loupe headless: could not write ${harPath}: ${(err as Error).message}`);
        code = 1;
      }
    }
    await bodies.close();
    return code;
  } finally {
    await lock.release();
  }
}

function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}
