/**
 * The desktop app itself, through Playwright's Electron support: the locked-down window with
 * `window.loupe` and no Node, the empty state, curl traffic arriving live, the menu's Record,
 * and a clean quit. Skipped, saying why, where the Electron runtime is not installed.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { _electron as electron, expect, test } from '@playwright/test';
import type { LoupeBridge } from '../src-common/api/contract';
import { findElectronRuntime } from './electron-runtime';
import { curl, startUpstream } from './support';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const runtime = findElectronRuntime(ROOT);
if (!runtime.ok) console.log(runtime.reason);

test('the desktop app: locked-down window, live capture, menu Record, clean quit', async () => {
  test.skip(!runtime.ok, runtime.ok ? '' : runtime.reason);
  if (!runtime.ok) return;

  execFileSync(process.execPath, ['scripts/build.js', 'electron', '--quiet'], { cwd: ROOT });
  if (!existsSync(join(ROOT, 'out/renderer/index.html'))) {
    execFileSync(process.execPath, ['scripts/build.js', 'renderer', '--quiet'], { cwd: ROOT });
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'loupe-electron-e2e-'));
  const upstream = await startUpstream();
  const app = await electron.launch({
    executablePath: runtime.executablePath,
    args: [ROOT],
    cwd: ROOT,
    env: { ...process.env, LOUPE_DATA_DIR: dataDir, LOUPE_PORT: '0' } as Record<string, string>,
  });
  try {
    const page = await app.firstWindow();
    const exposed = await page.evaluate(() => ({
      loupe: typeof (window as unknown as { loupe?: unknown }).loupe,
      require: typeof (globalThis as { require?: unknown }).require,
      process: typeof (globalThis as { process?: unknown }).process,
    }));
    expect(exposed).toEqual({ loupe: 'object', require: 'undefined', process: 'undefined' });

    await expect(page.getByTestId('empty-state')).toBeVisible();
    const proxyUrl = await page.evaluate(async () => {
      const { loupe } = window as unknown as { loupe: LoupeBridge };
      return (await loupe.proxy.status()).url;
    });
    await curl(proxyUrl, `http://127.0.0.1:${upstream.port}/json`);
    await expect(page.getByTestId('flow-row')).toHaveCount(1);

    const toggle = page.getByTestId('record-toggle');
    await expect(toggle).toHaveAttribute('aria-pressed', 'true');
    const clicked = await app.evaluate(({ Menu }) => {
      const items = (Menu.getApplicationMenu()?.items ?? []).flatMap(
        (item) => item.submenu?.items ?? [],
      );
      const record = items.find((item) => item.accelerator === 'CmdOrCtrl+R');
      record?.click();
      return record !== undefined;
    });
    expect(clicked).toBe(true);
    await expect(toggle).toHaveAttribute('aria-pressed', 'false');

    const exited = new Promise<number | null>((resolve) =>
      app.process().once('exit', (code) => resolve(code)),
    );
    // Quit from a timer so that the evaluation's answer gets out before the process ends.
    await app.evaluate(({ app: electronApp }) => void setTimeout(() => electronApp.quit(), 10));
    expect(await exited).toBe(0);
    expect(existsSync(join(dataDir, 'loupe.lock'))).toBe(false);
  } finally {
    if (app.process().exitCode === null) await app.close();
    await upstream.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
