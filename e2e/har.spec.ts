/**
 * HAR export and import in Debian's Chromium against a real `loupe headless --ui-port`: exports
 * of all, shown and selected flows arrive as browser downloads that validate against the HAR 1.2
 * schema; each fixture of another tool opens as a session tab of its own with its repairs; an
 * unreadable file says why and adds nothing; live traffic keeps counting meanwhile.
 */
import { readFileSync } from 'node:fs';
import { expect, test, type Page } from '@playwright/test';
import { FIXTURES, fixture, validateHar } from './har-support';
import { curl, startLoupe, startUpstream, type Loupe } from './support';

let loupe: Loupe;
let upstream: { port: number; close(): Promise<void> };

test.beforeEach(async () => {
  upstream = await startUpstream();
  loupe = await startLoupe();
});

test.afterEach(async () => {
  await loupe?.stop();
  await upstream?.close();
});

const url = (host: string, path: string): string => `http://${host}:${upstream.port}${path}`;
const tabs = (page: Page) => page.getByTestId('session-tab');
const tab = (page: Page, id: string) =>
  page.locator(`[data-testid="session-tab"][data-session="${id}"]`);

type Har = { log: { entries: { request: { url: string } }[] } };

/** Exports with one of the dialog's buttons; resolves to the downloaded HAR and its name. */
async function exportWith(page: Page, button: string): Promise<{ har: Har; name: string }> {
  await page.getByTestId('export-button').click();
  const dialog = page.getByTestId('export-dialog');
  await expect(dialog).toBeVisible();
  const download = page.waitForEvent('download');
  await dialog.getByTestId(button).click();
  const file = await download;
  const har = JSON.parse(readFileSync((await file.path())!, 'utf8')) as Har;
  await expect(dialog.getByTestId('job-progress').last()).toHaveAttribute('data-state', 'done');
  await expect(dialog.getByTestId('download-link').last()).toBeVisible();
  await page.keyboard.press('Escape');
  await expect(dialog).toBeHidden();
  return { har, name: file.suggestedFilename() };
}

const urlsOf = (har: Har): string[] => har.log.entries.map((e) => e.request.url).sort();

async function importFile(page: Page, path: string): Promise<void> {
  await page.getByTestId('import-button').click();
  await expect(page.getByTestId('import-dialog')).toBeVisible();
  await page.getByTestId('import-file-input').setInputFiles(path);
}

test('exports all, shown and selected flows as valid HAR downloads', async ({ page }) => {
  await page.goto(loupe.uiUrl);
  const sent = [
    url('api.example.test', '/one'),
    url('api.example.test', '/two'),
    url('cdn.example.test', '/logo.png'),
  ];
  for (const u of sent) await curl(loupe.proxyUrl, u);
  await expect(page.getByTestId('flow-count')).toHaveText('3 / 3 flows');

  const all = await exportWith(page, 'export-all');
  expect(all.name).toMatch(/^loupe-\d{4}-\d\d-\d\d-\d{4}-all\.har$/);
  expect(validateHar(all.har)).toEqual([]);
  expect(urlsOf(all.har)).toEqual([...sent].sort());

  await page.getByTestId('filter-input').fill('domain:cdn.example.test');
  await expect(page.getByTestId('flow-count')).toHaveText('1 / 3 flows');
  const shown = await exportWith(page, 'export-filtered');
  expect(shown.name).toMatch(/-filtered\.har$/);
  expect(validateHar(shown.har)).toEqual([]);
  expect(urlsOf(shown.har)).toEqual([sent[2]]);

  await page.getByTestId('filter-input').fill('');
  await page.getByTestId('export-button').click();
  await expect(page.getByTestId('export-selected')).toBeDisabled();
  await page.keyboard.press('Escape');
  await page.locator('[data-testid="flow-row"][data-seq="2"]').click();
  const selected = await exportWith(page, 'export-selected');
  expect(validateHar(selected.har)).toEqual([]);
  expect(urlsOf(selected.har)).toEqual([sent[1]]);
});

test('opens each fixture as a session tab of its own, with its repairs', async ({ page }) => {
  await page.goto(loupe.uiUrl);
  await expect(page.getByTestId('record-toggle')).toBeEnabled();
  await expect(tabs(page)).toHaveCount(0);
  let n = 0;
  for (const name of FIXTURES) {
    const f = fixture(name);
    n += 1;
    await importFile(page, f.path);
    await expect(page.getByTestId('import-dialog')).toBeHidden();
    const opened = tab(page, `har${n}`);
    await expect(opened).toHaveAttribute('aria-selected', 'true');
    await expect(opened).toContainText(f.name);
    await expect(opened.getByTestId('session-count')).toHaveText(
      f.flowCount.toLocaleString('en-US'),
    );
    await expect(page.getByTestId('flow-count')).toHaveText(
      `${f.flowCount} / ${f.flowCount} flows`,
    );
    const first = page.getByTestId('flow-row').first();
    await expect(first).toHaveAttribute('data-flow-id', new RegExp(`^har${n}\\.`));
    const badge = page.locator('.session-tab', { has: opened }).getByTestId('repairs-badge');
    if (f.repairs.length === 0 && f.skipped === 0) {
      await expect(badge).toHaveCount(0);
    } else {
      await badge.click();
      await expect(page.getByRole('dialog', { name: `Repairs in ${f.name}` })).toContainText(
        f.repairs[0]!,
      );
      await page.keyboard.press('Escape');
    }
    // A flow of the imported session opens in the inspector like a live one.
    await first.click();
    await expect(first).toHaveAttribute('aria-selected', 'true');
    await expect(page.getByTestId('inspector')).toContainText(f.firstUrl);
  }
  await expect(tabs(page)).toHaveCount(FIXTURES.length + 1);

  // Closing asks first, then the table shows the live session again.
  await page
    .locator('.session-tab', { has: tab(page, `har${n}`) })
    .getByTestId('session-close')
    .click();
  await page
    .getByTestId('confirm-dialog')
    .filter({ hasText: 'Close with-bom.har?' })
    .getByTestId('confirm-ok')
    .click();
  await expect(tabs(page)).toHaveCount(FIXTURES.length);
  await expect(tab(page, 'live')).toHaveAttribute('aria-selected', 'true');
  await expect(page.getByTestId('flow-count')).toHaveText('0 / 0 flows');
});

test('an unreadable file says why and opens nothing', async ({ page }) => {
  await page.goto(loupe.uiUrl);
  await curl(loupe.proxyUrl, url('api.example.test', '/kept'));
  await expect(page.getByTestId('flow-count')).toHaveText('1 / 1 flows');
  await page.getByTestId('import-button').click();
  await page.getByTestId('import-file-input').setInputFiles({
    name: 'broken.har',
    mimeType: 'application/json',
    buffer: Buffer.from('{"log": {"entries": [ {"request": '),
  });
  const error = page.getByTestId('import-error');
  await expect(error).toContainText('broken.har could not be opened');
  await expect(page.getByTestId('import-dialog')).toBeVisible();
  await expect(tabs(page)).toHaveCount(0);
  await page.keyboard.press('Escape');
  await expect(page.getByTestId('flow-count')).toHaveText('1 / 1 flows');
});

test('live traffic keeps counting while an import is shown; a dropped file opens', async ({
  page,
}) => {
  await page.goto(loupe.uiUrl);
  await curl(loupe.proxyUrl, url('api.example.test', '/before'));
  await expect(page.getByTestId('flow-count')).toHaveText('1 / 1 flows');
  const f = fixture('insomnia');
  // Dropped on the window, as from a file manager.
  await page.evaluate(
    ([text, name]) => {
      const data = new DataTransfer();
      data.items.add(new File([text!], name!, { type: 'application/json' }));
      window.dispatchEvent(new DragEvent('drop', { dataTransfer: data, cancelable: true }));
    },
    [readFileSync(f.path, 'utf8'), f.name],
  );
  await expect(tab(page, 'har1')).toHaveAttribute('aria-selected', 'true');
  await expect(page.getByTestId('flow-count')).toHaveText(`${f.flowCount} / ${f.flowCount} flows`);
  await expect(page.getByTestId('clear-button')).toBeDisabled();

  await curl(loupe.proxyUrl, url('api.example.test', '/during-1'));
  await curl(loupe.proxyUrl, url('cdn.example.test', '/during-2'));
  await expect(tab(page, 'live').getByTestId('session-count')).toHaveText('3');
  await expect(page.getByTestId('flow-count')).toHaveText(`${f.flowCount} / ${f.flowCount} flows`);

  await tab(page, 'live').click();
  await expect(page.getByTestId('flow-count')).toHaveText('3 / 3 flows');
  await expect(page.locator('[data-testid="flow-row"][data-seq="3"]')).toBeVisible();

  // The imported session exports too.
  await tab(page, 'har1').click();
  await expect(page.getByTestId('flow-count')).toHaveText(`${f.flowCount} / ${f.flowCount} flows`);
  const again = await exportWith(page, 'export-all');
  expect(validateHar(again.har)).toEqual([]);
  expect(again.har.log.entries).toHaveLength(f.flowCount);
});
