/**
 * `loupe headless`: the engine, capture and stores in plain Node (services/session.ts). Prints
 * the contract line `proxy listening on http://HOST:PORT`, and with `--ui-port` serves the UI and
 * prints `ui listening on http://…/?token=…`; on SIGINT or SIGTERM writes the captured flows to
 * `--har` and exits 0.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { defaultDataDir } from '../data/data-dir';
import { sharedFolderWarning } from '../data/private-folder';
import { harWriteWords, testHarLimits, writeHarFile } from '../flows/har-file';
import { openSession } from '../services/session';
import type { HeadlessConfig } from './args';
import { UsageError } from './args';
import { openInBrowser } from './open-browser';
import { rendererDir, startUiServer, type UiServer } from './ui-server';

const out = (line: string): void => void process.stdout.write(`${line}\n`);
const info = (line: string): void => void process.stderr.write(`${line}\n`);

/**
 * Fails early, before any traffic is captured, when the HAR could not be written at exit; warns
 * when other users can read its folder (the user's choice: its mode is left as it is).
 */
function checkHarTarget(path: string): void {
  const dir = dirname(path);
  let mode: number;
  try {
    const folder = statSync(dir);
    if (!folder.isDirectory()) throw new Error();
    accessSync(dir, constants.W_OK);
    mode = folder.mode;
  } catch {
    throw new UsageError(`--har: the folder ${dir} does not exist or is not writable`);
  }
  try {
    if (statSync(path).isDirectory())
      throw new UsageError(`--har: ${path} is a folder, not a file`);
  } catch (err) {
    if (err instanceof UsageError) throw err;
  }
  const warning = sharedFolderWarning(dir, mode);
  if (warning) info(`loupe headless: ${warning}`);
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
  const harPath = config.harPath ? resolve(config.harPath) : undefined;
  if (harPath) checkHarTarget(harPath);

  // One broken connection must never end the session and lose what was captured: a bug that
  // escapes every handler is reported and the proxy keeps serving.
  process.on('uncaughtException', (err) =>
    info(`loupe headless: internal error (please report it): ${err.stack ?? err}`),
  );

  const dataDir = resolve(config.dataDir ?? defaultDataDir());
  const session = await openSession({
    dataDir,
    host: config.host,
    ...(config.port !== undefined ? { port: config.port } : {}),
    extraBypass: config.bypass,
    noProxy: config.noProxy,
    resolve: config.resolve,
    ...(config.upstreamProxy ? { upstreamProxy: config.upstreamProxy } : {}),
    upstreamCa: config.upstreamCa,
    ...(config.bodyMemoryBudget !== undefined ? { bodyMemoryBudget: config.bodyMemoryBudget } : {}),
    version,
    mode: 'headless',
    onNotice: (notice) => info(`loupe headless: ${notice.message}`),
  });
  let ui: UiServer | undefined;
  let code = 0;
  try {
    if (config.uiPort !== undefined) {
      ui = await startUiServer({ session, port: config.uiPort, rendererDir: rendererDir() });
    }
    if (!isLoopbackHost(config.host)) {
      info(
        `loupe headless: listening on ${config.host}: any machine that can reach it can use this proxy.`,
      );
    }
    info(
      `CA certificate: ${join(dataDir, 'ca.pem')} (or open http://loupe.local/ through the proxy)`,
    );
    out(`proxy listening on ${session.proxy.url}`);
    if (ui) out(`ui listening on ${ui.url}`);
    if (ui && config.openBrowser) openInBrowser(ui.url, info);

    const signal = await waitForSignal();
    info(`loupe headless: ${signal} received, stopping`);
  } finally {
    await ui?.close();
    await session.close(async () => {
      if (!harPath) return;
      const list = session.flows.list();
      try {
        const result = await writeHarFile(harPath, list, session.bodies, {
          creatorVersion: version,
          limits: testHarLimits(process.env),
        });
        info(`loupe headless: wrote ${harWriteWords(result)} to ${harPath}`);
      } catch (err) {
        info(`loupe headless: could not write ${harPath}: ${(err as Error).message}`);
        code = 1;
      }
    });
  }
  return code;
}

function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}
