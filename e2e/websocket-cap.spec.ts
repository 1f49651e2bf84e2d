/**
 * The WebSocket tab in Chromium against a real `loupe headless --ui-port` whose per-connection
 * cap on kept message bytes (captureWebSocketCap) is 4 bytes: the message it cut and the one it
 * left out say so in words, in the list, the summary line and the payload pane.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import {
  startInspectorUpstream,
  webSocketThroughProxy,
  type InspectorUpstream,
} from './inspector-support';
import { startLoupe, type Loupe } from './support';

let loupe: Loupe;
let upstream: InspectorUpstream;

test.beforeEach(async () => {
  upstream = await startInspectorUpstream();
  const dataDir = mkdtempSync(join(tmpdir(), 'loupe-e2e-ws-cap-'));
  writeFileSync(
    join(dataDir, 'settings.json'),
    JSON.stringify({ version: 1, captureWebSocketCap: 4 }),
  );
  loupe = await startLoupe([], { dataDir });
});

test.afterEach(async () => {
  await loupe?.stop();
  await upstream?.close();
});

test('WebSocket messages past the per-connection cap are marked cut or not kept, in words', async ({
  page,
}) => {
  await page.goto(loupe.uiUrl);
  await webSocketThroughProxy(loupe.proxyPort, `ws://api.example.test:${upstream.port}/ws`, [
    'hello text',
  ]);
  const row = page.getByTestId('flow-row').filter({ hasText: '/ws' });
  await expect(row).toHaveAttribute('data-look', 'complete');
  await row.click();
  await page.locator('[data-testid="inspector-tab"][data-tab="websocket"]').click();
  await expect(page.locator('.ws-summary')).toContainText(
    '1 cut, 1 not kept: past the 4 B cap on kept bytes per connection',
  );
  const messages = page.getByTestId('ws-message');
  const sent = messages.filter({ hasText: '↑' }).filter({ hasText: 'text' }).first();
  await expect(sent).toContainText('cut');
  await expect(sent).toContainText('hell');
  const echo = messages.filter({ hasText: '↓' }).filter({ hasText: 'text' }).first();
  await expect(echo).toContainText('not kept');
  await echo.click();
  await expect(page.getByTestId('ws-payload')).toContainText(
    'Not kept: this connection had reached its cap of 4 B of kept message bytes',
  );
  await sent.click();
  await expect(page.getByTestId('ws-payload')).toContainText(
    'Only the start of this message was kept',
  );
});
