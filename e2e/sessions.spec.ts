/**
 * The session table in Debian's Chromium against a real `loupe headless --ui-port`: the empty
 * state, curl traffic arriving live, sorting, filtering, Record off, the token and Host guards,
 * and the table's structure under 10,000 injected flows.
 */
import http from 'node:http';
import { expect, test, type Page } from '@playwright/test';
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
const url = (host: string, path: string): string => `http://${host}:${upstream.port}${path}`;

/** Waits until no event batch has been applied for 600 ms. */
async function settled(page: Page): Promise<void> {
  let last = -1;
  await expect
    .poll(
      async () => {
        const now = await page.evaluate(() => window.__loupeDebug.storeUpdates);
        const still = now === last;
        last = now;
        return still;
      },
      { intervals: [600] },
    )
    .toBe(true);
}

/** Waits until no row has rendered for 400 ms. */
async function stableRenders(page: Page): Promise<void> {
  let last = '';
  await expect
    .poll(
      async () => {
        const now = await page.evaluate(() => JSON.stringify(window.__loupeDebug.rowRenders));
        const still = now === last;
        last = now;
        return still;
      },
      { intervals: [400] },
    )
    .toBe(true);
}

/** The text of one column for every rendered row, top to bottom. */
async function column(page: Page, col: string): Promise<string[]> {
  return rows(page).evaluateAll(
    (els, c) =>
      els
        .sort((a, b) => a.getBoundingClientRect().top - b.getBoundingClientRect().top)
        .map((el) => el.querySelector(`[data-col="${c}"]`)?.textContent?.trim() ?? ''),
    col,
  );
}

test('the empty state says what to do first, with the proxy address', async ({ page }) => {
  await page.goto(loupe.uiUrl);
  const empty = page.getByTestId('empty-state');
  await expect(empty).toBeVisible();
  await expect(empty).toContainText(`127.0.0.1:${loupe.proxyPort}`);
  await expect(empty).toContainText(`curl -x ${loupe.proxyUrl}`);
  await expect(page.getByTestId('record-toggle')).toHaveAttribute('aria-pressed', 'true');
  await expect(page.getByTestId('record-toggle')).toContainText('Recording');
  await expect(page.getByTestId('proxy-address')).toContainText(`127.0.0.1:${loupe.proxyPort}`);
  await expect(page.getByTestId('flow-count')).toHaveText('0 / 0 flows');
});

test('curl traffic appears live; sort, filter and the host sidebar work', async ({ page }) => {
  await page.goto(loupe.uiUrl);
  await expect(page.getByTestId('empty-state')).toBeVisible();

  await curl(loupe.proxyUrl, url('api.example.test', '/json'));
  await expect(rows(page)).toHaveCount(1);
  await expect(page.getByTestId('empty-state')).toHaveCount(0);
  await curl(loupe.proxyUrl, url('api.example.test', '/items'), ['-X', 'POST', '-d', 'a=1']);
  await curl(loupe.proxyUrl, url('cdn.example.test', '/missing'));
  await curl(loupe.proxyUrl, url('cdn.example.test', '/logo.png'));
  await expect(rows(page)).toHaveCount(4);
  await expect(page.getByTestId('flow-count')).toHaveText('4 / 4 flows');
  expect(await column(page, 'method')).toEqual(['GET', 'POST', 'GET', 'GET']);
  expect(await column(page, 'status')).toEqual(['200', '200', '404', '200']);
  expect(await column(page, 'host')).toEqual([
    `api.example.test:${upstream.port}`,
    `api.example.test:${upstream.port}`,
    `cdn.example.test:${upstream.port}`,
    `cdn.example.test:${upstream.port}`,
  ]);
  expect(await column(page, 'path')).toEqual(['/json', '/items', '/missing', '/logo.png']);

  // Sort by status: ascending, then descending, then back to arrival order.
  const header = page.locator('[data-testid="col-header"][data-col="status"]');
  await header.click();
  await expect(header).toHaveAttribute('aria-sort', 'ascending');
  expect(await column(page, 'status')).toEqual(['200', '200', '200', '404']);
  await header.click();
  await expect(header).toHaveAttribute('aria-sort', 'descending');
  expect((await column(page, 'status'))[0]).toBe('404');
  await header.click();
  await expect(header).toHaveAttribute('aria-sort', 'none');
  expect(await column(page, 'path')).toEqual(['/json', '/items', '/missing', '/logo.png']);

  // Filter with DevTools syntax.
  const filter = page.getByTestId('filter-input');
  await filter.fill('method:POST');
  await expect(rows(page)).toHaveCount(1);
  expect(await column(page, 'path')).toEqual(['/items']);
  await expect(page.getByTestId('flow-count')).toHaveText('1 / 4 flows');
  await filter.fill('status-code:4xx');
  await expect(rows(page)).toHaveCount(1);
  expect(await column(page, 'path')).toEqual(['/missing']);
  await filter.fill('-domain:cdn.example.test');
  await expect(rows(page)).toHaveCount(2);
  await filter.fill('methd:POST');
  await expect(page.getByTestId('filter-error')).toContainText("'methd:' is not a filter");
  await expect(rows(page)).toHaveCount(4);
  await filter.fill('');
  await expect(rows(page)).toHaveCount(4);

  // The host sidebar counts and filters.
  const cdn = page.locator('[data-testid="host-item"][data-host="cdn.example.test"]');
  await expect(cdn.getByTestId('host-count')).toHaveText('2');
  await cdn.click();
  await expect(rows(page)).toHaveCount(2);
  await cdn.click();
  await expect(rows(page)).toHaveCount(4);
});

test('Record off stops capture while traffic still flows', async ({ page }) => {
  await page.goto(loupe.uiUrl);
  await curl(loupe.proxyUrl, url('api.example.test', '/before'));
  await expect(rows(page)).toHaveCount(1);

  const toggle = page.getByTestId('record-toggle');
  await toggle.click();
  await expect(toggle).toHaveAttribute('aria-pressed', 'false');
  await expect(toggle).toContainText('Stopped');
  const body = await curl(loupe.proxyUrl, url('api.example.test', '/while-stopped'));
  expect(JSON.parse(body)).toMatchObject({ path: '/while-stopped' });
  await expect(rows(page)).toHaveCount(1);

  await toggle.click();
  await expect(toggle).toHaveAttribute('aria-pressed', 'true');
  await curl(loupe.proxyUrl, url('api.example.test', '/after'));
  // Flows reach the table in capture order: had /while-stopped been captured, it would be the
  // second row, ahead of /after.
  await expect(rows(page)).toHaveCount(2);
  expect(await column(page, 'path')).toEqual(['/before', '/after']);
});

test('Clear asks first, then empties the session', async ({ page }) => {
  await page.goto(loupe.uiUrl);
  await curl(loupe.proxyUrl, url('api.example.test', '/one'));
  await expect(rows(page)).toHaveCount(1);
  await page.getByTestId('clear-button').click();
  await expect(page.getByTestId('confirm-dialog')).toBeVisible();
  await page.getByTestId('confirm-cancel').click();
  await expect(rows(page)).toHaveCount(1);
  await page.getByTestId('clear-button').click();
  await page.getByTestId('confirm-ok').click();
  await expect(rows(page)).toHaveCount(0);
  await expect(page.getByTestId('empty-state')).toBeVisible();
});

test('a request without the token, or with a foreign Host, is refused', async ({ page }) => {
  const bare = await page.goto(`${loupe.uiOrigin}/`);
  expect(bare?.status()).toBe(403);
  await expect(page.locator('body')).toContainText('needs the token');
  const wrong = await page.goto(`${loupe.uiOrigin}/?token=${'x'.repeat(loupe.token.length)}`);
  expect(wrong?.status()).toBe(403);

  // A browser cannot forge Host; a rebinding attacker's page would send its own name.
  const port = new URL(loupe.uiOrigin).port;
  const status = await new Promise<number>((resolve, reject) => {
    http
      .get(
        {
          host: '127.0.0.1',
          port,
          path: `/?token=${loupe.token}`,
          headers: { Host: `attacker.example:${port}` },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      )
      .on('error', reject);
  });
  expect(status).toBe(403);

  // The page with the token opens, but a socket with a wrong token from it does not.
  await page.goto(loupe.uiUrl);
  const opened = await page.evaluate(
    (origin) =>
      new Promise<string>((resolve) => {
        const ws = new WebSocket(`${origin.replace('http', 'ws')}/api?token=wrong`);
        ws.onopen = () => resolve('open');
        ws.onerror = () => resolve('refused');
      }),
    loupe.uiOrigin,
  );
  expect(opened).toBe('refused');
});

test('10,000 injected flows: few DOM rows, one store update per batch, only changed rows re-render', async ({
  page,
}) => {
  await page.goto(loupe.uiUrl);
  await expect(page.getByTestId('empty-state')).toBeVisible();
  // The page's own loading (flows, settings, layout) must be over, or it would count too.
  await expect(page.getByTestId('proxy-address')).toBeVisible();
  await settled(page);
  const before = await page.evaluate(() => window.__loupeDebug.storeUpdates);

  // Ten events of 1,000 flows, queued within one task: the UI must apply them in one update.
  const batches: ApiEvent[] = [];
  for (let b = 0; b < 10; b++) {
    batches.push({
      flows: {
        added: Array.from({ length: 1000 }, (_, i) => syntheticFlow(b * 1000 + i + 1)),
        updated: [],
      },
    });
  }
  // As text: Playwright's structured argument transfer costs about 1 ms per flow.
  await page.evaluate((text) => {
    for (const event of JSON.parse(text) as ApiEvent[]) window.__loupeDebug.applyEvent(event);
  }, JSON.stringify(batches));
  await expect(page.getByTestId('flow-count')).toHaveText('10000 / 10000 flows');
  const after = await page.evaluate(() => window.__loupeDebug.storeUpdates);
  expect(after - before).toBe(1);

  // Virtualised: the DOM holds about a screenful of rows, not ten thousand.
  const domRows = await rows(page).count();
  const visible = await page
    .getByTestId('flow-table')
    .evaluate((el) => Math.ceil(el.clientHeight / 24));
  expect(domRows).toBeGreaterThan(0);
  expect(domRows).toBeLessThanOrEqual(visible + 40);

  // The live tail shows the newest flow; update it and check that only its row re-renders.
  const last = rows(page).last();
  await expect(
    page.locator('[data-testid="flow-row"][data-flow-id="synthetic-10000"]'),
  ).toBeVisible();
  // Rows mount as the tail scrolls after the batch; count from when they have.
  await stableRenders(page);
  const rendersBefore = await page.evaluate(() => ({ ...window.__loupeDebug.rowRenders }));
  await page.evaluate(
    (flow) => window.__loupeDebug.applyEvent({ flows: { added: [], updated: [flow] } }),
    syntheticFlow(10000, {
      state: 'error',
      error: { code: 'upstream_reset', message: 'reset', phase: 'response' },
    }),
  );
  await expect(page.locator('[data-flow-id="synthetic-10000"]')).toHaveAttribute(
    'data-look',
    'error',
  );
  const rendersAfter = await page.evaluate(() => ({ ...window.__loupeDebug.rowRenders }));
  const changed = Object.keys(rendersAfter).filter((id) => rendersAfter[id] !== rendersBefore[id]);
  expect(changed).toEqual(['synthetic-10000']);
  expect(await last.getAttribute('data-flow-id')).toBe('synthetic-10000');

  // Filtering 10,000 flows still leaves a screenful in the DOM and the right count.
  await page.getByTestId('filter-input').fill('method:POST');
  await expect(page.getByTestId('flow-count')).toHaveText('3333 / 10000 flows');
  expect(await rows(page).count()).toBeLessThanOrEqual(visible + 40);
});

test('rows say what happened: failed handshakes and errors in red with words, bypassed tunnels in grey', async ({
  page,
}) => {
  await loupe.stop();
  loupe = await startLoupe(['--bypass', 'bank.example.test']);
  await page.goto(loupe.uiUrl);
  const look = (host: string) =>
    rows(page).filter({ has: page.locator(`[data-col="host"]:has-text("${host}")`) });

  // curl does not trust the Loupe CA: the handshake fails, and the row says why in words.
  await expect(
    curl(loupe.proxyUrl, `https://api.example.test:${upstream.port}/`),
  ).rejects.toThrow();
  const failed = look('api.example.test');
  await expect(failed).toHaveAttribute('data-look', 'failed-handshake');
  expect(await failed.getAttribute('title')).toMatch(/certificate/i);
  const red = await failed.evaluate((el) => getComputedStyle(el).color);

  // Nothing listens on the target port: a red error row with the reason.
  const dead = await startUpstream();
  const deadPort = dead.port;
  await dead.close();
  await curl(loupe.proxyUrl, `http://api.example.test:${deadPort}/`);
  const refused = rows(page)
    .filter({ has: page.locator(`[data-col="path"]:text-is("/")`) })
    .last();
  await expect(refused).toHaveAttribute('data-look', 'error');
  expect(await refused.getAttribute('title')).toMatch(/refused/i);
  expect(await refused.evaluate((el) => getComputedStyle(el).color)).toBe(red);

  // A bypassed host is tunnelled raw: a grey row, never decrypted.
  await curl(loupe.proxyUrl, `https://bank.example.test:${upstream.port}/`).catch(() => undefined);
  const bypassed = look('bank.example.test');
  await expect(bypassed).toHaveAttribute('data-look', 'bypassed');
  expect(await bypassed.evaluate((el) => getComputedStyle(el).color)).not.toBe(red);

  await page.getByTestId('filter-input').fill('is:error');
  await expect(rows(page)).toHaveCount(2);
  await page.getByTestId('filter-input').fill('is:bypassed');
  await expect(rows(page)).toHaveCount(1);
});
