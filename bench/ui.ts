/**
 * UI benchmark, two parts, each read as ratios within one run (the machine is shared and noisy):
 *
 * 1. What a watching UI costs the proxy: keep-alive req/s through `loupe headless --ui-port`
 *    (a separate process) with no UI, with one WebSocket client reading every event, and with
 *    the real UI open in Chromium — rounds interleaved, medians compared.
 * 2. How the table scales: the real UI in Chromium, N synthetic flows injected through the same
 *    event path as live traffic (batches of 1,000), timed until the status bar shows N; then a
 *    filter over all of them. Ratios against the 10,000-flow run.
 *
 *   node --import tsx bench/ui.ts [seconds-per-round]
 */
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { chromium, type Page } from '@playwright/test';
import WebSocket from 'ws';
import { startHeadless } from '../src-main/test-support/headless';
import { syntheticFlow, startUpstream } from '../e2e/support';

/** The renderer's test hooks (see e2e/globals.d.ts). */
interface DebugWindow {
  __loupeDebug: { applyEvent(event: unknown): void };
}

const SECONDS = Number(process.argv[2] ?? 4);
const ROUNDS = 3;
const CONCURRENCY = 50;
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

async function requestsPerSecond(proxyPort: number, upstreamPort: number): Promise<number> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const end = performance.now() + SECONDS * 1000;
  let done = 0;
  const worker = async (): Promise<void> => {
    while (performance.now() < end) {
      await new Promise<void>((resolve, reject) => {
        const req = http.request(
          {
            host: '127.0.0.1',
            port: proxyPort,
            path: `http://127.0.0.1:${upstreamPort}/json`,
            agent,
          },
          (res) => {
            res.resume();
            res.on('end', resolve);
          },
        );
        req.on('error', reject);
        req.end();
      });
      done += 1;
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  agent.destroy();
  return done / ((performance.now() - start) / 1000);
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};

async function proxyCost(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'loupe-bench-ui-'));
  const upstream = await startUpstream();
  const loupe = await startHeadless(['--port', '0', '--ui-port', '0', '--data-dir', dir]);
  const uiUrl = new URL(loupe.uiUrl!);
  const browser = await chromium.launch({ executablePath: CHROMIUM });
  const results: Record<string, number[]> = { none: [], websocket: [], chromium: [] };
  let events = 0;
  try {
    const token = uiUrl.searchParams.get('token');
    const connect = async (): Promise<WebSocket> => {
      const ws = new WebSocket(`ws://${uiUrl.host}/api?token=${token}`, {
        headers: { Origin: uiUrl.origin },
      });
      await new Promise((r) => ws.on('open', r));
      return ws;
    };
    // Every measurement starts from an empty session, so none pays for the flows of another.
    const clear = async (): Promise<void> => {
      const ws = await connect();
      ws.send(JSON.stringify({ id: 1, channel: 'loupe:flows.clear', args: [] }));
      await new Promise((r) => ws.on('message', (m) => String(m).startsWith('{"id":1') && r(m)));
      ws.close();
    };
    for (let round = 0; round < ROUNDS; round++) {
      await clear();
      results.none!.push(await requestsPerSecond(loupe.port, upstream.port));

      await clear();
      const ws = await connect();
      ws.on('message', () => (events += 1));
      results.websocket!.push(await requestsPerSecond(loupe.port, upstream.port));
      ws.close();

      await clear();
      const page = await browser.newPage();
      await page.goto(loupe.uiUrl!);
      await page.getByTestId('flow-count').filter({ hasText: '0 / 0 flows' }).waitFor();
      results.chromium!.push(await requestsPerSecond(loupe.port, upstream.port));
      await page.close();
    }
  } finally {
    await browser.close();
    await loupe.stop('SIGTERM');
    await upstream.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const base = median(results.none!);
  console.log(`\nProxy req/s (${CONCURRENCY} keep-alive clients, ${SECONDS} s x ${ROUNDS} rounds)`);
  console.log('| UI watching | median req/s | ratio to none |');
  console.log('| --- | --- | --- |');
  for (const [name, values] of Object.entries(results)) {
    console.log(
      `| ${name} | ${Math.round(median(values))} | ${(median(values) / base).toFixed(2)} |`,
    );
  }
  console.log(`(${events} event batches reached the WebSocket client)`);
}

async function inject(page: Page, total: number): Promise<number> {
  await page.evaluate(() =>
    (globalThis as unknown as DebugWindow).__loupeDebug.applyEvent({
      flows: { added: [], updated: [], cleared: true },
    }),
  );
  const start = await page.evaluate(() => performance.now());
  for (let from = 0; from < total; from += 1000) {
    const batch = Array.from({ length: Math.min(1000, total - from) }, (_, i) =>
      syntheticFlow(from + i + 1),
    );
    // As text: Playwright's structured argument transfer costs ~1 ms per flow, JSON far less.
    await page.evaluate(
      (text) =>
        (globalThis as unknown as DebugWindow).__loupeDebug.applyEvent({
          flows: { added: JSON.parse(text), updated: [] },
        }),
      JSON.stringify(batch),
    );
  }
  await page
    .getByTestId('flow-count')
    .filter({ hasText: `${total} / ${total} flows` })
    .waitFor();
  return (await page.evaluate(() => performance.now())) - start;
}

async function tableScaling(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'loupe-bench-ui-'));
  const loupe = await startHeadless(['--port', '0', '--ui-port', '0', '--data-dir', dir]);
  const browser = await chromium.launch({ executablePath: CHROMIUM });
  const rows: [number, number, number, number][] = [];
  try {
    for (const total of [10_000, 50_000, 100_000]) {
      const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      await page.goto(loupe.uiUrl!);
      await page.getByTestId('empty-state').waitFor();
      const ms = await inject(page, total);
      const posts = Math.floor(total / 3);
      const t0 = await page.evaluate(() => performance.now());
      await page.getByTestId('filter-input').fill('method:POST');
      await page
        .getByTestId('flow-count')
        .filter({ hasText: `${posts} / ${total} flows` })
        .waitFor();
      const filterMs = (await page.evaluate(() => performance.now())) - t0;
      const domRows = await page.getByTestId('flow-row').count();
      rows.push([total, ms, filterMs, domRows]);
      await page.close();
    }
  } finally {
    await browser.close();
    await loupe.stop('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
  const [, baseMs, baseFilter] = rows[0]!;
  console.log('\nTable in Chromium: inject N flows (batches of 1,000), then filter method:POST');
  console.log('| flows | inject ms | ratio | filter ms | ratio | DOM rows |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const [total, ms, filterMs, domRows] of rows) {
    console.log(
      `| ${total} | ${Math.round(ms)} | ${(ms / baseMs).toFixed(1)} | ${Math.round(filterMs)} | ${(filterMs / baseFilter).toFixed(1)} | ${domRows} |`,
    );
  }
}

await proxyCost();
await tableScaling();
