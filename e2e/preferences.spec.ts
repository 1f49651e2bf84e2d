/**
 * Preferences in Chromium against a real `loupe headless --ui-port 0`: each change applies at
 * once, seen through curl and the proxy rather than through the UI alone. A bypass pattern added
 * (a bad one refused with its words) tunnels the next HTTPS connection to its host; an
 * auto-learned host removed is decrypted again and gone from settings.json; a new port moves the
 * proxy (the status bar follows, curl works there, the old port refuses) and a taken one is
 * refused; a connection limit and the WebSocket cap typed in reach settings.json, and values out
 * of range are refused in words before they are sent.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { curl, startLoupe, startUpstream, type Loupe } from './support';

let loupe: Loupe | undefined;
let upstream: { port: number; close(): Promise<void> };

test.beforeEach(async () => {
  upstream = await startUpstream();
});

test.afterEach(async () => {
  await loupe?.stop();
  loupe = undefined;
  await upstream?.close();
});

const row = (page: Page, host: string) =>
  page.locator('[data-testid="flow-row"]').filter({ hasText: host });

/** An HTTPS request through the proxy trusting Loupe's CA; its failure (the upstream speaks plain HTTP) does not matter here. */
async function https(l: Loupe, host: string, proxyUrl = l.proxyUrl): Promise<void> {
  await curl(proxyUrl, `https://${host}:${upstream.port}/`, [
    '--cacert',
    join(l.dataDir, 'ca.pem'),
  ]).catch(() => undefined);
}

async function openPreferences(page: Page, tab: string): Promise<void> {
  await page.getByTestId('preferences-button').click();
  await expect(page.getByTestId('preferences-dialog')).toBeVisible();
  await page.getByTestId(`preferences-tab-${tab}`).click();
}

test('a bypass pattern added in Preferences tunnels the next HTTPS connection; a bad one is refused in words', async ({
  page,
}) => {
  loupe = await startLoupe();
  await page.goto(loupe.uiUrl);

  // Before: decrypted (an HTTP flow that failed upstream, not a tunnel).
  await https(loupe, 'bank.example.test');
  await expect(row(page, 'bank.example.test')).toHaveCount(1);
  await expect(row(page, 'bank.example.test')).not.toHaveAttribute('data-look', 'bypassed');

  await openPreferences(page, 'bypass');
  const input = page.getByTestId('bypass-input');
  await input.fill('https://bank.example.test');
  await expect(page.getByTestId('bypass-error')).toContainText('without a scheme');
  await expect(page.getByTestId('bypass-add')).toBeDisabled();
  await input.fill('*.example..test');
  await expect(page.getByTestId('bypass-error')).toContainText('empty label');

  await input.fill('bank.example.test');
  await expect(page.getByTestId('bypass-error')).toHaveCount(0);
  await input.press('Enter');
  const entry = page.locator('[data-testid="bypass-entry"][data-pattern="bank.example.test"]');
  await expect(entry).toHaveCount(1);
  await expect(input).toHaveValue('');
  // A duplicate is refused before it is sent.
  await input.fill('BANK.example.test');
  await expect(page.getByTestId('bypass-error')).toContainText('already in the list');
  await input.fill('');

  // Esc closes the dialog and gives the focus back to the gear.
  await page.keyboard.press('Escape');
  await expect(page.getByTestId('preferences-dialog')).toBeHidden();
  await expect(page.getByTestId('preferences-button')).toBeFocused();

  await https(loupe, 'bank.example.test');
  await expect(row(page, 'bank.example.test')).toHaveCount(2);
  await expect(row(page, 'bank.example.test').nth(1)).toHaveAttribute('data-look', 'bypassed');
  const saved = JSON.parse(readFileSync(join(loupe.dataDir, 'settings.json'), 'utf8'));
  expect(saved.bypass).toEqual([{ pattern: 'bank.example.test', enabled: true }]);

  // Edit in place (Esc cancels without closing the dialog, Enter saves), disable, remove, undo.
  await openPreferences(page, 'bypass');
  await entry.locator('.pattern-text').dblclick();
  const edit = page.getByTestId('bypass-edit-input');
  await edit.fill('nope');
  await edit.press('Escape');
  await expect(page.getByTestId('preferences-dialog')).toBeVisible();
  await expect(entry).toHaveCount(1);
  await entry.getByTestId('bypass-edit').click();
  await edit.fill('*.example.test');
  await edit.press('Enter');
  const wildcard = page.locator('[data-testid="bypass-entry"][data-pattern="*.example.test"]');
  await expect(wildcard).toHaveCount(1);
  await wildcard.getByTestId('bypass-enabled').uncheck();
  await expect(wildcard.getByTestId('bypass-enabled')).not.toBeChecked();
  // The list shows the change as sent at once; traffic waits until main has applied it.
  await expect(page.getByTestId('bypass-list')).toHaveAttribute('aria-busy', 'false');
  await https(loupe, 'bank.example.test');
  await expect(row(page, 'bank.example.test')).toHaveCount(3);
  await expect(row(page, 'bank.example.test').nth(2)).not.toHaveAttribute('data-look', 'bypassed');
  await wildcard.getByTestId('bypass-remove').click();
  await expect(page.getByTestId('bypass-entry')).toHaveCount(0);
  await page.getByTestId('bypass-undo').click();
  await expect(wildcard).toHaveCount(1);
  await expect(wildcard.getByTestId('bypass-enabled')).not.toBeChecked();
});

test('an auto-learned host removed in Preferences is decrypted again and gone from settings.json', async ({
  page,
}) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'loupe-e2e-'));
  mkdirSync(dataDir, { recursive: true });
  const now = Date.now();
  writeFileSync(
    join(dataDir, 'settings.json'),
    JSON.stringify({
      version: 1,
      autoBypass: [
        {
          host: 'cdn.example.test',
          reason: "The client rejected Loupe's certificate (it pins its certificates).",
          learnedAt: now - 3600_000,
          expiresAt: now + 23.5 * 3600_000,
        },
      ],
    }),
  );
  loupe = await startLoupe([], { dataDir });
  await page.goto(loupe.uiUrl);
  await https(loupe, 'cdn.example.test');
  await expect(row(page, 'cdn.example.test')).toHaveAttribute('data-look', 'bypassed');

  await openPreferences(page, 'learned');
  const learned = page.locator('[data-testid="learned-entry"][data-host="cdn.example.test"]');
  await expect(learned).toContainText('expires in 23 h');
  await expect(learned).toContainText('rejected Loupe');
  await learned.getByTestId('learned-remove').click();
  await expect(page.getByTestId('learned-entry')).toHaveCount(0);
  await expect(page.getByTestId('learned-empty')).toBeVisible();
  const file = JSON.parse(readFileSync(join(dataDir, 'settings.json'), 'utf8'));
  expect(file.autoBypass).toEqual([]);

  await page.getByTestId('preferences-close').click();
  await https(loupe, 'cdn.example.test');
  await expect(row(page, 'cdn.example.test')).toHaveCount(2);
  await expect(row(page, 'cdn.example.test').nth(1)).not.toHaveAttribute('data-look', 'bypassed');
});

/** A free loopback port. */
function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

test('a new port moves the proxy: the status bar follows, curl works there, a taken port is refused', async ({
  page,
}) => {
  loupe = await startLoupe();
  await page.goto(loupe.uiUrl);
  await expect(page.getByTestId('proxy-address')).toHaveText(`127.0.0.1:${loupe.proxyPort}`);
  await openPreferences(page, 'network');
  const port = page.getByTestId('port-input');
  await expect(port).toHaveValue(String(loupe.proxyPort));

  await port.fill('70000');
  await expect(page.getByTestId('port-error')).toContainText('from 1 to 65535');
  await expect(page.getByTestId('port-apply')).toBeDisabled();

  const holder = net.createServer();
  await new Promise<void>((r) => holder.listen(0, '127.0.0.1', r));
  const taken = (holder.address() as net.AddressInfo).port;
  try {
    await port.fill(String(taken));
    await page.getByTestId('port-apply').click();
    await expect(page.getByTestId('port-error')).toContainText(`port ${taken} is in use`);
    await expect(page.getByTestId('proxy-address')).toHaveText(`127.0.0.1:${loupe.proxyPort}`);
  } finally {
    await new Promise<void>((r) => holder.close(() => r()));
  }

  const to = await freePort();
  await port.fill(String(to));
  await port.press('Enter');
  await expect(page.getByTestId('port-error')).toHaveCount(0);
  await expect(page.getByTestId('proxy-address')).toHaveText(`127.0.0.1:${to}`);
  await expect(page.getByTestId('port-current')).toHaveText(`127.0.0.1:${to}`);

  const body = await curl(
    `http://127.0.0.1:${to}`,
    `http://api.example.test:${upstream.port}/moved`,
  );
  expect(JSON.parse(body)).toMatchObject({ path: '/moved' });
  await expect(
    curl(loupe.proxyUrl, `http://api.example.test:${upstream.port}/old`),
  ).rejects.toThrow();
  const saved = JSON.parse(readFileSync(join(loupe.dataDir, 'settings.json'), 'utf8'));
  expect(saved.proxyPort).toBe(to);

  // HTTP/3 steering and the capture cap save at once too.
  await page.getByTestId('h3-toggle').uncheck();
  await page.getByTestId('preferences-tab-capture').click();
  await page.getByTestId('cap-input').fill('lots');
  await expect(page.getByTestId('cap-error')).toContainText('megabytes');
  await page.getByTestId('cap-input').fill('0.5');
  await page.getByTestId('cap-apply').click();
  await expect
    .poll(() => JSON.parse(readFileSync(join(loupe!.dataDir, 'settings.json'), 'utf8')))
    .toMatchObject({ stripAltSvcH3: false, captureBodyCap: 512 * 1024 });
});

/** settings.json as saved, or nothing yet. */
function savedSettings(dataDir: string): Record<string, unknown> {
  try {
    return JSON.parse(readFileSync(join(dataDir, 'settings.json'), 'utf8'));
  } catch {
    return {};
  }
}

test('the keep-alive limit and the WebSocket cap typed in reach settings.json; values out of range are refused in words', async ({
  page,
}) => {
  loupe = await startLoupe();
  await page.goto(loupe.uiUrl);
  await openPreferences(page, 'network');
  const limits = page.getByTestId('connection-limits');
  await expect(limits).toContainText('0 = off');
  const keepAlive = page.getByTestId('keep-alive-timeout-input');
  await expect(keepAlive).toHaveValue('120');

  await keepAlive.fill('0');
  await expect(page.getByTestId('keep-alive-timeout-error')).toContainText(
    'from 1 to 86400 (a day)',
  );
  await expect(page.getByTestId('keep-alive-timeout-apply')).toBeDisabled();
  await keepAlive.fill('300');
  await expect(page.getByTestId('keep-alive-timeout-error')).toHaveCount(0);
  await keepAlive.press('Enter');
  await expect
    .poll(() => savedSettings(loupe!.dataDir))
    .toMatchObject({
      keepAliveTimeoutSeconds: 300,
    });

  await page.getByTestId('preferences-tab-capture').click();
  const wsCap = page.getByTestId('ws-cap-input');
  await expect(wsCap).toHaveValue('64');
  await wsCap.fill('2048');
  await expect(page.getByTestId('ws-cap-error')).toContainText('At most 1024 MB');
  await expect(page.getByTestId('ws-cap-apply')).toBeDisabled();
  await wsCap.fill('8');
  await page.getByTestId('ws-cap-apply').click();
  await expect
    .poll(() => savedSettings(loupe!.dataDir))
    .toMatchObject({
      keepAliveTimeoutSeconds: 300,
      captureWebSocketCap: 8 * 1024 * 1024,
    });
  // What is in force comes back to the fields.
  await page.getByTestId('preferences-tab-network').click();
  await expect(keepAlive).toHaveValue('300');
});
