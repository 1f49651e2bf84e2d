/**
 * Playwright: the UI in Debian's Chromium against `loupe headless --ui-port` (e2e/*.spec.ts), and
 * the Electron app where its runtime is installed (e2e/electron.spec.ts skips elsewhere, saying
 * why). Browsers are never downloaded: Chromium comes from CHROMIUM_PATH or /usr/bin/chromium.
 * `npm test` runs this after vitest (scripts/test.js) and counts its results.
 */
import { defineConfig } from '@playwright/test';

export default defineConfig({
  testDir: 'e2e',
  // Each spec starts its own Loupe; two cores are shared with the proxy and curl.
  workers: 1,
  fullyParallel: false,
  retries: 0,
  timeout: 60_000,
  expect: { timeout: 10_000 },
  reporter: [['list']],
  use: {
    browserName: 'chromium',
    launchOptions: { executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium' },
    viewport: { width: 1280, height: 800 },
    trace: 'off',
  },
});
