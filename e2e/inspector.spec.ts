/**
 * The inspector in Chromium against a real `loupe headless --ui-port`, with real traffic from curl
 * and a hand-driven WebSocket: headers in order and a gzip JSON body decoded and pretty-printed,
 * an image, binary as hex, an 8 MiB body loaded in parts while the page keeps painting, copy as
 * cURL run by real curl against the same server, and the WebSocket message list.
 */
import { execFile } from 'node:child_process';
import { expect, test, type Page } from '@playwright/test';
import {
  BIG,
  GZIP_HEADERS,
  startInspectorUpstream,
  webSocketThroughProxy,
  type InspectorUpstream,
} from './inspector-support';
import { curl, startLoupe, type Loupe } from './support';

let loupe: Loupe;
let upstream: InspectorUpstream;

test.beforeEach(async () => {
  upstream = await startInspectorUpstream();
  loupe = await startLoupe();
});

test.afterEach(async () => {
  await loupe?.stop();
  await upstream?.close();
});

const origin = () => `http://api.example.test:${upstream.port}`;
const inspector = (page: Page) => page.getByTestId('inspector');
const tab = (page: Page, name: string) =>
  page.locator(`[data-testid="inspector-tab"][data-tab="${name}"]`);
const subtab = (page: Page, name: string) =>
  page.locator(`[data-testid="inspector-subtab"][data-sub="${name}"]`);
const viewer = (page: Page) => page.locator('[data-testid="body-viewer"]');

/** Sends one request through the proxy and opens its row in the inspector. */
async function openFlow(page: Page, path: string, args: string[] = []): Promise<void> {
  await page.goto(loupe.uiUrl);
  await curl(loupe.proxyUrl, `${origin()}${path}`, args);
  const row = page.getByTestId('flow-row').filter({ hasText: path.split('?')[0]! });
  await expect(row).toHaveCount(1);
  await expect(row).toHaveAttribute('data-look', 'complete');
  await row.click();
  await expect(inspector(page)).toHaveAttribute('data-state', 'flow');
}

async function openResponseBody(page: Page): Promise<void> {
  await tab(page, 'response').click();
  await subtab(page, 'body').click();
}

test('an empty selection explains itself; tabs work from the keyboard', async ({ page }) => {
  await page.goto(loupe.uiUrl);
  await expect(inspector(page)).toHaveAttribute('data-state', 'empty');
  await expect(inspector(page)).toContainText('Select a flow');
  await curl(loupe.proxyUrl, `${origin()}/gzip-json`);
  await page.getByTestId('flow-row').click();
  await tab(page, 'overview').focus();
  await page.keyboard.press('ArrowRight');
  await expect(tab(page, 'request')).toHaveAttribute('aria-selected', 'true');
  await expect(tab(page, 'request')).toBeFocused();
  await page.keyboard.press('End');
  await expect(tab(page, 'response')).toHaveAttribute('aria-selected', 'true');
  // The table keeps its arrow keys: focus in the table moves the selection, not the tabs.
  await curl(loupe.proxyUrl, `${origin()}/binary`);
  await expect(page.getByTestId('flow-row')).toHaveCount(2);
  await page.getByTestId('flow-table').focus();
  await page.keyboard.press('ArrowDown');
  await expect(inspector(page)).toContainText('/binary');
  await expect(tab(page, 'response')).toHaveAttribute('aria-selected', 'true');
});

test('overview, headers in order and a gzip JSON body pretty-printed and foldable', async ({
  page,
}) => {
  await openFlow(page, '/gzip-json?lang=en&lang=fr');
  await expect(page.getByTestId('overview-url')).toContainText(`${origin()}/gzip-json?lang=en`);
  await expect(page.getByTestId('overview-status')).toHaveText('200 OK');
  await expect(page.getByTestId('overview-protocol')).toContainText('HTTP/1.1');
  await expect(page.getByTestId('overview-reused')).toContainText('no');
  const bars = page.getByTestId('timing-bar');
  await expect(bars).toHaveCount(7);
  await expect(page.locator('[data-testid="timing-bar"][data-phase="ssl"]')).toContainText('—');

  await tab(page, 'request').click();
  await subtab(page, 'query').click();
  await expect(page.getByTestId('query-row')).toHaveCount(2);

  await tab(page, 'response').click();
  await subtab(page, 'headers').click();
  const names = await page
    .getByTestId('header-row')
    .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-name')));
  expect(names.slice(0, GZIP_HEADERS.length)).toEqual(GZIP_HEADERS.map(([n]) => n));

  await subtab(page, 'body').click();
  await expect(viewer(page)).toHaveAttribute('data-viewer', 'json');
  await expect(page.getByTestId('body-size')).toContainText('decoded from gzip');
  const lines = page.getByTestId('json-lines');
  await expect(lines).toContainText('"greeting": "hello from gzip",');
  await expect(lines).toContainText('"list": [');
  const nested = page.locator('.json-line', { hasText: '"nested": {' });
  await nested.getByTestId('json-toggle').click();
  await expect(lines).toContainText('"nested": {…} 2 keys');
  await expect(lines).not.toContainText('"list"');
  await nested.getByTestId('json-toggle').click();
  await expect(lines).toContainText('"list": [');
});

test('an image body is shown as an image', async ({ page }) => {
  await openFlow(page, '/pixel.png');
  await openResponseBody(page);
  await expect(viewer(page)).toHaveAttribute('data-viewer', 'image');
  const img = page.getByTestId('image-body');
  await expect.poll(() => img.evaluate((el: HTMLImageElement) => el.naturalWidth)).toBe(3);
  await expect(viewer(page)).toContainText('3 × 2');
});

test('a binary body is shown as hex, and the viewer can be switched by hand', async ({ page }) => {
  await openFlow(page, '/binary');
  await openResponseBody(page);
  await expect(viewer(page)).toHaveAttribute('data-viewer', 'hex');
  const rows = page.getByTestId('hex-row');
  await expect(rows).toHaveCount(16);
  await expect(rows.first()).toContainText('00000000');
  await expect(rows.first()).toContainText('00 01 02 03 04 05 06 07  08 09 0a 0b 0c 0d 0e 0f');
  await expect(rows.nth(3)).toContainText('0123456789:;<=>?');
  await page.getByTestId('viewer-select').selectOption('raw');
  await expect(viewer(page)).toHaveAttribute('data-viewer', 'raw');
  await expect(page.getByTestId('raw-lines')).toContainText('HTTP/1.1 200 OK');
  await expect(page.getByTestId('raw-lines')).toContainText(
    'Content-Type: application/octet-stream',
  );
});

for (const mode of ['worker', 'page'] as const) {
  test(`an 8 MiB body loads its first part, then all of it while the page keeps painting (formatting on the ${mode})`, async ({
    page,
  }) => {
    test.setTimeout(90_000);
    let workerRequests = 0;
    if (mode === 'page') {
      // No worker script: the formatter must notice and format on the page in slices.
      await page.route('**/format-worker.js', (route) => {
        workerRequests++;
        return route.abort();
      });
    }
    await openFlow(page, '/big.json', ['-o', '/dev/null']);
    await openResponseBody(page);
    await expect(page.getByTestId('body-size')).toHaveText(/^1\.0 MB of 8\.0 MB loaded/);
    await expect(page.getByTestId('load-more')).toBeVisible();
    await expect(viewer(page)).toContainText('load all of it to see it as JSON');
    if (mode === 'page') expect(workerRequests).toBe(1);

    // Count animation frames and the longest gap between two while everything loads and formats.
    await page.evaluate(() => {
      const w = window as unknown as { frames_: { n: number; maxGap: number; last: number } };
      w.frames_ = { n: 0, maxGap: 0, last: performance.now() };
      const tick = (now: number) => {
        const f = w.frames_;
        f.maxGap = Math.max(f.maxGap, now - f.last);
        f.last = now;
        f.n++;
        requestAnimationFrame(tick);
      };
      requestAnimationFrame(tick);
    });
    const started = Date.now();
    await page.getByTestId('load-all').click();
    await expect(page.getByTestId('body-size')).toHaveText(/^8\.0 MB/, { timeout: 60_000 });
    const lines = page.getByTestId('json-lines');
    await expect(lines).toBeVisible({ timeout: 60_000 });
    const elapsed = Date.now() - started;
    const frames = await page.evaluate(
      () => (window as unknown as { frames_: { n: number; maxGap: number } }).frames_,
    );
    console.log(
      `8 MiB load+format (${mode}): ${elapsed} ms, ${frames.n} frames, longest frame gap ${Math.round(frames.maxGap)} ms`,
    );
    expect(frames.n).toBeGreaterThan(10);
    expect(frames.maxGap).toBeLessThan(400);

    // Windowed: only a screenful of the document's lines is in the DOM; the end is reachable.
    expect(await page.locator('.json-line').count()).toBeLessThan(200);
    await lines.evaluate((el) => (el.scrollTop = el.scrollHeight));
    await expect(lines).toContainText(`"id": ${BIG.lastId},`);
  });
}

test('copy as cURL repeats the request: real curl sends the server the same thing', async ({
  page,
  context,
}) => {
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], {
    origin: loupe.uiOrigin,
  });
  const body = `{"name":"it's $(touch /tmp/loupe-pwned) \`id\`"}`;
  await openFlow(page, '/echo/[x]?a=1&b=%20', [
    '-g',
    '-X',
    'PUT',
    '-H',
    `X-Hostile: "q" 'single' $(id) \`id\` ; echo pwned`,
    '-H',
    'Content-Type: application/json',
    '-H',
    'X-Order: last',
    '--data-binary',
    body,
  ]);
  const original = upstream.received.at(-1)!;
  await page.getByTestId('copy-curl').click();
  await expect.poll(() => page.evaluate(() => navigator.clipboard.readText())).toMatch(/^curl /);
  const command = await page.evaluate(() => navigator.clipboard.readText());
  const resolve = `--resolve api.example.test:${upstream.port}:127.0.0.1`;
  await new Promise<void>((done, fail) =>
    execFile('/bin/sh', ['-c', `${command} -sS -o /dev/null ${resolve}`], (err, _o, errOut) =>
      err ? fail(new Error(`${err.message}\n${errOut}\n${command}`)) : done(),
    ),
  );
  const replay = upstream.received.at(-1)!;
  expect(replay).not.toBe(original);
  expect(replay.method).toBe('PUT');
  expect(replay.url).toBe(original.url);
  expect(replay.body.toString()).toBe(body);
  const pairs = (raw: string[]) =>
    raw
      .flatMap((v, i) => (i % 2 === 0 ? [`${v}: ${raw[i + 1]}`] : []))
      .filter((h) => !/^(connection|proxy-connection):/i.test(h));
  expect(pairs(replay.rawHeaders).sort()).toEqual(pairs(original.rawHeaders).sort());

  // ⌘⇧C (Ctrl+Shift+C here) copies the same command from the keyboard.
  await page.evaluate(() => navigator.clipboard.writeText('before'));
  await page.getByTestId('flow-table').focus();
  await page.keyboard.press('ControlOrMeta+Shift+C');
  await expect.poll(() => page.evaluate(() => navigator.clipboard.readText())).toBe(command);
});

test('the WebSocket tab lists messages with direction, type and size, and decodes them', async ({
  page,
}) => {
  await page.goto(loupe.uiUrl);
  await webSocketThroughProxy(loupe.proxyPort, `ws://api.example.test:${upstream.port}/ws`, [
    'hello text',
    '{"kind":"json","n":1}',
    Buffer.from([0, 1, 2, 254, 255]),
  ]);
  const row = page.getByTestId('flow-row').filter({ hasText: '/ws' });
  await expect(row).toHaveCount(1);
  await row.click();
  await tab(page, 'websocket').click();
  const messages = page.getByTestId('ws-message');
  await expect(messages.filter({ hasText: 'hello text' })).toHaveCount(2);
  const sent = messages.filter({ hasText: 'hello text' }).first();
  await expect(sent).toHaveAttribute('data-direction', 'send');
  await expect(sent).toContainText('↑');
  await expect(sent).toContainText('text');
  await expect(sent).toContainText('10 B');
  await expect(messages.filter({ hasText: 'hello text' }).nth(1)).toHaveAttribute(
    'data-direction',
    'receive',
  );
  await expect(messages.filter({ hasText: '00 01 02 fe ff' }).first()).toContainText('binary');
  await messages.filter({ hasText: '"kind":"json"' }).first().click();
  await expect(page.getByTestId('ws-payload')).toContainText('"kind": "json",');
  await messages.filter({ hasText: '00 01 02 fe ff' }).first().click();
  await expect(page.getByTestId('ws-payload')).toContainText('00000000  00 01 02 fe ff');
});

test('a bypassed tunnel says why it was not decrypted and what it relayed', async ({ page }) => {
  await loupe.stop();
  loupe = await startLoupe(['--bypass', 'bank.example.test']);
  await page.goto(loupe.uiUrl);
  // TLS to a plain HTTP server through a bypassed tunnel: the handshake fails, the tunnel stays.
  await curl(loupe.proxyUrl, `https://bank.example.test:${upstream.port}/`, ['-k']).catch(
    () => undefined,
  );
  const row = page.getByTestId('flow-row').filter({ hasText: 'bank.example.test' });
  await expect(row).toHaveCount(1);
  await row.click();
  await expect(page.getByTestId('inspector-tab')).toHaveCount(1);
  await expect(page.getByTestId('overview-url')).toHaveText(`bank.example.test:${upstream.port}`);
  await expect(page.getByTestId('overview-reason')).toContainText(/bypass/i);
  // Bypassed at CONNECT, so no ClientHello was read; the bytes relayed are counted.
  await expect(page.getByTestId('overview')).toContainText(/\d+ B up · \d+ B down/);
  await expect(page.getByTestId('copy-curl')).toHaveCount(0);
});

test('several selected rows are counted; the pane resizes and the table keeps its rows', async ({
  page,
}) => {
  await page.goto(loupe.uiUrl);
  for (const path of ['/a', '/b', '/c']) await curl(loupe.proxyUrl, `${origin()}${path}`);
  const rows = page.getByTestId('flow-row');
  await expect(rows).toHaveCount(3);
  await rows.nth(0).click();
  await rows.nth(2).click({ modifiers: ['Shift'] });
  await expect(page.getByTestId('inspector-multi')).toHaveText(/^3 flows selected/);
  await expect(inspector(page)).toContainText('/c');

  const before = (await inspector(page).boundingBox())!.height;
  const handle = (await page.getByTestId('inspector-resizer').boundingBox())!;
  await page.mouse.move(handle.x + 200, handle.y + handle.height / 2);
  await page.mouse.down();
  await page.mouse.move(handle.x + 200, handle.y - 100, { steps: 5 });
  await page.mouse.up();
  const after = (await inspector(page).boundingBox())!.height;
  expect(after).toBeGreaterThan(before + 80);
  await page.getByTestId('inspector-resizer').focus();
  await page.keyboard.press('ArrowDown');
  expect((await inspector(page).boundingBox())!.height).toBeLessThan(after);
  await expect(rows).toHaveCount(3);
  await expect(rows.nth(0)).toBeVisible();
});

test('form bodies: urlencoded fields and multipart parts, and request cookies', async ({
  page,
}) => {
  await openFlow(page, '/form', [
    '-H',
    'Cookie: sid=abc; theme=dark',
    '--data-raw',
    'name=Ada+Lovelace&lang=en&lang=fr&empty=',
  ]);
  await tab(page, 'request').click();
  await subtab(page, 'cookies').click();
  await expect(page.locator('[data-testid="cookie-row"][data-name="theme"]')).toContainText('dark');
  await subtab(page, 'body').click();
  await expect(viewer(page)).toHaveAttribute('data-viewer', 'form');
  const fields = page.getByTestId('form-field');
  await expect(fields).toHaveCount(4);
  await expect(fields.first()).toContainText('Ada Lovelace');
  await expect(page.locator('[data-testid="form-field"][data-name="lang"]')).toHaveCount(2);

  await curl(loupe.proxyUrl, `${origin()}/upload`, [
    '-F',
    'title=Hello',
    '-F',
    'file=binary-ish;filename=a.bin',
  ]);
  const row = page.getByTestId('flow-row').filter({ hasText: '/upload' });
  await row.click();
  await tab(page, 'request').click();
  await subtab(page, 'body').click();
  await expect(viewer(page)).toHaveAttribute('data-viewer', 'form');
  const parts = page.getByTestId('form-part');
  await expect(parts).toHaveCount(2);
  await expect(parts.first()).toContainText('title');
  await expect(parts.first()).toContainText('Hello');
  await expect(parts.nth(1)).toContainText('file “a.bin”');
});
