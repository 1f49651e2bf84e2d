/**
 * Start-up notices reach the page, not only stderr: `loupe headless` on a data directory whose
 * lock was left by a process that no longer runs says the last run ended abnormally, and each
 * page that loads shows that once, as a toast.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { startLoupe, type Loupe } from './support';

let loupe: Loupe | undefined;

test.afterEach(async () => {
  await loupe?.stop();
  loupe = undefined;
});

/** A data directory as a crash leaves it: `loupe.lock` names a process that has exited. */
async function crashedDataDir(): Promise<{ dataDir: string; pid: number }> {
  const child = spawn(process.execPath, ['-e', '']);
  await once(child, 'exit');
  const dataDir = mkdtempSync(join(tmpdir(), 'loupe-e2e-'));
  const owner = { pid: child.pid, startedAt: '2024-05-01T10:00:00.000Z', hostname: hostname() };
  writeFileSync(join(dataDir, 'loupe.lock'), JSON.stringify(owner));
  return { dataDir, pid: child.pid! };
}

const endedAbnormally = (page: Page) =>
  page.getByRole('status').filter({ hasText: 'The last run ended abnormally' });

test('after a crash, every page that loads says the last run ended abnormally, once', async ({
  page,
  context,
}) => {
  const { dataDir, pid } = await crashedDataDir();
  loupe = await startLoupe([], { dataDir });

  await page.goto(loupe.uiUrl);
  await expect(page.getByTestId('empty-state')).toBeVisible();
  await expect(endedAbnormally(page)).toHaveCount(1);
  await expect(endedAbnormally(page)).toContainText(`Loupe (pid ${pid}, started 2024-05-01`);

  // A second UI connecting later hears it too, and the first is not told again.
  const other = await context.newPage();
  await other.goto(loupe.uiUrl);
  await expect(other.getByTestId('empty-state')).toBeVisible();
  await expect(endedAbnormally(other)).toHaveCount(1);
  await expect(endedAbnormally(page)).toHaveCount(1);

  // A page loaded again is told again: the notice is about this run's start.
  await page.reload();
  await expect(page.getByTestId('empty-state')).toBeVisible();
  await expect(endedAbnormally(page)).toHaveCount(1);
});

test('a clean start shows no such notice', async ({ page }) => {
  loupe = await startLoupe();
  await page.goto(loupe.uiUrl);
  await expect(page.getByTestId('empty-state')).toBeVisible();
  await expect(endedAbnormally(page)).toHaveCount(0);
});
