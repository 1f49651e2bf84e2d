/**
 * The table's habits in Chromium against a real `loupe headless --ui-port`: keyboard navigation
 * and multi-select, columns shown/hidden and resized and still so after a reload (saved through
 * the settings API), and the live tail that follows new flows until the user scrolls up.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import type { Settings, UiPreferences } from '../src-common/settings';
import type { ApiEvent } from '../src-common/api/contract';
import { curl, startLoupe, startUpstream, syntheticFlow, type Loupe } from './support';

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

const rows = (page: Page) => page.getByTestId('flow-row');
const selected = (page: Page) => page.locator('[data-testid="flow-row"][aria-selected="true"]');

/** The window arrangement as Loupe saved it in settings.json (empty before the first save). */
function savedUi(l: Loupe): Partial<UiPreferences> {
  try {
    return (
      (JSON.parse(readFileSync(join(l.dataDir, 'settings.json'), 'utf8')) as Settings).ui ?? {}
    );
  } catch {
    return {};
  }
}

/** Adds flows `from`..`to` through the renderer's own event path. */
async function inject(page: Page, from: number, to: number): Promise<void> {
  const event: ApiEvent = {
    flows: {
      added: Array.from({ length: to - from + 1 }, (_, i) => syntheticFlow(from + i)),
      updated: [],
    },
  };
  await page.evaluate(
    (text) => window.__loupeDebug.applyEvent(JSON.parse(text)),
    JSON.stringify(event),
  );
}

test('arrow keys move the selection, Shift extends it, a modifier click toggles one row', async ({
  page,
}) => {
  await page.goto(loupe.uiUrl);
  for (const path of ['/a', '/b', '/c', '/d']) {
    await curl(loupe.proxyUrl, `http://api.example.test:${upstream.port}${path}`);
  }
  await expect(rows(page)).toHaveCount(4);
  await rows(page).nth(0).click();
  await expect(selected(page)).toHaveCount(1);
  await page.keyboard.press('ArrowDown');
  await expect(selected(page)).toHaveAttribute('data-seq', '2');
  await page.keyboard.press('Shift+ArrowDown');
  await expect(selected(page)).toHaveCount(2);
  await page.keyboard.press('End');
  await expect(selected(page)).toHaveAttribute('data-seq', '4');
  await rows(page)
    .nth(0)
    .click({ modifiers: ['ControlOrMeta'] });
  await expect(selected(page)).toHaveCount(2);
  await rows(page)
    .nth(2)
    .click({ modifiers: ['Shift'] });
  await expect(selected(page)).toHaveCount(3);
  await page.getByTestId('flow-table').focus();
  await page.keyboard.press('ControlOrMeta+a');
  await expect(selected(page)).toHaveCount(4);
});

test('hidden and resized columns stay so after a reload', async ({ page }) => {
  await page.goto(loupe.uiUrl);
  await curl(loupe.proxyUrl, `http://api.example.test:${upstream.port}/x`);
  await expect(rows(page)).toHaveCount(1);
  await page.getByTestId('column-menu-button').click();
  await page.locator('[data-testid="column-toggle"][data-col="method"]').uncheck();
  await page.locator('[data-testid="column-toggle"][data-col="reqSize"]').check();
  await expect(page.locator('[data-testid="col-header"][data-col="method"]')).toHaveCount(0);
  await expect(page.locator('[data-testid="col-header"][data-col="reqSize"]')).toHaveCount(1);

  // Drag the host column's right edge 80 px wider.
  const host = page.locator('[data-testid="col-header"][data-col="host"]');
  const before = (await host.boundingBox())!;
  await page.mouse.move(before.x + before.width - 2, before.y + before.height / 2);
  await page.mouse.down();
  await page.mouse.move(before.x + before.width + 78, before.y + before.height / 2, { steps: 5 });
  await page.mouse.up();
  await expect
    .poll(async () => Math.round((await host.boundingBox())!.width))
    .toBe(Math.round(before.width) + 80);

  // Saved through the settings API after a short quiet period; a reload restores it.
  await expect
    .poll(() => savedUi(loupe).columns?.find((c) => c.id === 'method')?.visible)
    .toBe(false);
  await expect
    .poll(() => Math.round(savedUi(loupe).columns?.find((c) => c.id === 'host')?.width ?? 0))
    .toBe(Math.round(before.width) + 80);
  await page.reload();
  await expect(rows(page)).toHaveCount(1);
  await expect(page.locator('[data-testid="col-header"][data-col="method"]')).toHaveCount(0);
  await expect(page.locator('[data-testid="col-header"][data-col="reqSize"]')).toHaveCount(1);
  expect(Math.round((await host.boundingBox())!.width)).toBe(Math.round(before.width) + 80);
});

test('the live tail follows new flows until the user scrolls up, then offers to jump back', async ({
  page,
}) => {
  await page.goto(loupe.uiUrl);
  // The session's first listing replaces the table (it came with the proxy's address): flows
  // injected before it arrived would be wiped by it.
  await expect(page.getByTestId('proxy-address')).toBeVisible();
  await inject(page, 1, 500);
  const last = (seq: number) => page.locator(`[data-testid="flow-row"][data-seq="${seq}"]`);
  await expect(last(500)).toBeInViewport();

  await inject(page, 501, 600);
  await expect(last(600)).toBeInViewport();

  // Scrolled up, the table stops following (it says so), and then shows the first rows.
  const table = page.getByTestId('flow-table');
  await expect(table).toHaveAttribute('data-following', 'true');
  await table.evaluate((el) => (el.scrollTop = 0));
  await expect(table).toHaveAttribute('data-following', 'false');
  await expect(page.locator('[data-testid="flow-row"][data-seq="1"]')).toBeInViewport();
  await inject(page, 601, 650);
  await expect(page.getByTestId('jump-to-latest')).toHaveText('50 new — jump to latest');
  await expect(page.locator('[data-testid="flow-row"][data-seq="1"]')).toBeInViewport();

  await page.getByTestId('jump-to-latest').click();
  await expect(table).toHaveAttribute('data-following', 'true');
  await expect(last(650)).toBeInViewport();
  await expect(page.getByTestId('jump-to-latest')).toHaveCount(0);
  await inject(page, 651, 660);
  await expect(last(660)).toBeInViewport();
});

test('a pinned host stays on top of the sidebar, through a Clear and a reload', async ({
  page,
}) => {
  await page.goto(loupe.uiUrl);
  for (const host of ['api.example.test', 'api.example.test', 'cdn.example.test']) {
    await curl(loupe.proxyUrl, `http://${host}:${upstream.port}/`);
  }
  const names = () =>
    page
      .getByTestId('host-item')
      .evaluateAll((els) => els.map((el) => el.getAttribute('data-host')));
  await expect.poll(names).toEqual(['api.example.test', 'cdn.example.test']);
  const cdnPin = page
    .locator('li', { has: page.locator('[data-host="cdn.example.test"]') })
    .getByTestId('host-pin');
  await cdnPin.click();
  await expect(cdnPin).toHaveAttribute('aria-pressed', 'true');
  await expect.poll(names).toEqual(['cdn.example.test', 'api.example.test']);

  await page.getByTestId('clear-button').click();
  await page.getByTestId('confirm-ok').click();
  await expect(rows(page)).toHaveCount(0);
  await expect.poll(names).toEqual(['cdn.example.test']);
  await expect(
    page
      .locator('[data-testid="host-item"][data-host="cdn.example.test"]')
      .getByTestId('host-count'),
  ).toHaveText('0');

  await expect.poll(() => savedUi(loupe).pinnedHosts).toEqual(['cdn.example.test']);
  await page.reload();
  await expect(page.getByTestId('proxy-address')).toBeVisible();
  await expect.poll(names).toEqual(['cdn.example.test']);
});
