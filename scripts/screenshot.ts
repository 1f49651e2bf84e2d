/**
 * `npm run screenshot`: docs/screenshot.png, the picture at the top of the README, taken from the
 * real UI. It builds the UI, starts `loupe headless --ui-port 0` on a throwaway data dir, sends
 * varied traffic through the proxy with curl (JSON API calls, a POST, an image, a 404, a 500 and
 * one HTTPS host, decrypted), opens the UI in Chromium, selects a JSON response so the inspector
 * shows it, and saves the window. Not part of `npm test`: run it when the UI changes.
 *
 * The upstreams listen on ports 80 and 443 where the machine allows it, so the table shows plain
 * host names; elsewhere they take free ports and the URLs carry them.
 */
import { chromium } from '@playwright/test';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const OUTPUT = process.env.SCREENSHOT_OUT ?? join(ROOT, 'docs/screenshot.png');
const VIEWPORT = {
  width: Number(process.env.SCREENSHOT_WIDTH ?? 1440),
  height: Number(process.env.SCREENSHOT_HEIGHT ?? 900),
};
const HOSTS = ['api.example.test', 'cdn.example.test', 'www.example.test'];
const SECURE_HOST = 'pay.example.test';
/** The flow the inspector shows: a JSON list with some depth. */
const SELECTED_PATH = '/v1/users?page=1';

const json = (value: unknown) => JSON.stringify(value, null, 2);

const USERS = {
  page: 1,
  total: 3,
  users: [
    { id: 42, name: 'Ada Lovelace', email: 'ada@example.test', roles: ['admin'], active: true },
    { id: 43, name: 'Alan Turing', email: 'alan@example.test', roles: ['editor'], active: true },
    { id: 44, name: 'Grace Hopper', email: 'grace@example.test', roles: [], active: false },
  ],
};

/** What the fake site answers: [status, content type, body]. */
function answer(method: string, path: string, body: Buffer): [number, string, string | Buffer] {
  if (path === '/') {
    return [200, 'text/html; charset=utf-8', '<!doctype html><title>Example</title><h1>Hi</h1>'];
  }
  if (path === '/img/logo.png')
    return [200, 'image/png', readFileSync(join(ROOT, 'assets/icon.png'))];
  if (path === '/css/site.css') return [200, 'text/css', 'body { font: 14px system-ui; }\n'];
  if (path === '/js/app.js') return [200, 'application/javascript', 'console.log("hello");\n'];
  if (path === '/fonts/inter.woff2') return [200, 'font/woff2', Buffer.alloc(18_400, 1)];
  if (path === '/v1/notifications') {
    return [200, 'application/json', json({ unread: 2, items: [{ id: 7, text: 'Welcome' }] })];
  }
  if (path === '/v1/cart') {
    return [200, 'application/json', json({ items: [{ sku: 'LP-100', quantity: 2 }], total: 84 })];
  }
  if (path === '/v1/users') return [200, 'application/json', json(USERS)];
  if (path === '/v1/users/42') return [200, 'application/json', json(USERS.users[0])];
  if (path === '/v1/orders' && method === 'POST') {
    const order = JSON.parse(body.toString('utf8') || '{}') as Record<string, unknown>;
    return [201, 'application/json', json({ id: 'ord_8f3a', status: 'created', ...order })];
  }
  if (path === '/v1/health') {
    return [503, 'application/json', json({ status: 'degraded', retryAfter: 30 })];
  }
  if (path === '/v2/account') {
    return [200, 'application/json', json({ account: 'acct_123', balance: { EUR: 1250.5 } })];
  }
  if (path === '/v2/charges' && method === 'POST') {
    return [402, 'application/json', json({ error: 'card_declined', code: 'insufficient_funds' })];
  }
  return [404, 'application/json', json({ error: 'not_found', path })];
}

function handler(req: http.IncomingMessage, res: http.ServerResponse): void {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const path = (req.url ?? '/').split('?')[0]!;
    const [status, type, body] = answer(req.method ?? 'GET', path, Buffer.concat(chunks));
    res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store' });
    res.end(body);
  });
}

/** Listens on `preferred`, or on a free port when that one is taken or not allowed. */
async function listen(server: http.Server, preferred: number): Promise<number> {
  for (const port of [preferred, 0]) {
    const ok = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (ok) return (server.address() as AddressInfo).port;
  }
  throw new Error('no port for the upstream');
}

/** A self-signed certificate for the HTTPS host; Loupe trusts it through --upstream-ca. */
function selfSigned(dir: string, name: string): { cert: string; key: string; file: string } {
  const file = join(dir, 'upstream.pem');
  const keyFile = join(dir, 'upstream.key');
  execFileSync(
    'openssl',
    [
      ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'],
      ...['-subj', `/CN=${name}`, '-addext', `subjectAltName=DNS:${name}`, '-days', '2'],
      ...['-keyout', keyFile, '-out', file],
    ],
    { stdio: 'ignore' },
  );
  return { cert: readFileSync(file, 'utf8'), key: readFileSync(keyFile, 'utf8'), file };
}

interface Running {
  proxyUrl: string;
  uiUrl: string;
  stop(): Promise<void>;
}

/** `loupe headless` with the UI; resolves once both listening lines are out. */
function startLoupe(args: string[]): Promise<Running> {
  const child = spawn(process.execPath, [join(ROOT, 'bin/loupe.js'), 'headless', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LOUPE_NO_BROWSER: '1' },
  });
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d));
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`loupe headless did not start\n${out}\n${err}`));
    }, 30_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`loupe headless exited with ${code}\n${out}\n${err}`));
    });
    child.stdout.on('data', (d: Buffer) => {
      out += d;
      const proxy = /^proxy listening on (http:\/\/\S+)$/m.exec(out);
      const ui = /^ui listening on (http:\/\/\S+)$/m.exec(out);
      if (!proxy || !ui) return;
      clearTimeout(timer);
      resolve({
        proxyUrl: proxy[1]!,
        uiUrl: ui[1]!,
        async stop() {
          if (child.exitCode === null) child.kill('SIGTERM');
          await exited;
        },
      });
    });
  });
}

function curl(args: string[]): Promise<void> {
  return new Promise((resolve, reject) =>
    execFile(
      'curl',
      ['-sS', '-o', '/dev/null', '--max-time', '10', ...args],
      (error, _o, stderr) =>
        error ? reject(new Error(`curl ${args.join(' ')}: ${stderr || error.message}`)) : resolve(),
    ),
  );
}

async function main(): Promise<void> {
  // `loupe headless` runs from the TypeScript sources; only the UI it serves must be built.
  console.log('building the UI…');
  execFileSync(process.execPath, [join(ROOT, 'scripts/build.js'), 'renderer', '--quiet'], {
    cwd: ROOT,
    stdio: 'inherit',
  });

  const dir = mkdtempSync(join(tmpdir(), 'loupe-screenshot-'));
  const dataDir = join(dir, 'data');
  const tlsPair = selfSigned(dir, SECURE_HOST);
  const plain = http.createServer(handler);
  const secure = https.createServer({ cert: tlsPair.cert, key: tlsPair.key }, handler);
  const httpPort = await listen(plain, 80);
  const httpsPort = await listen(secure, 443);
  const origin = (scheme: string, host: string, port: number, standard: number) =>
    `${scheme}://${host}${port === standard ? '' : `:${port}`}`;
  const api = origin('http', 'api.example.test', httpPort, 80);
  const cdn = origin('http', 'cdn.example.test', httpPort, 80);
  const www = origin('http', 'www.example.test', httpPort, 80);
  const pay = origin('https', SECURE_HOST, httpsPort, 443);

  const loupe = await startLoupe([
    ...['--port', '0', '--ui-port', '0', '--data-dir', dataDir],
    ...['--upstream-ca', tlsPair.file],
    ...[...HOSTS, SECURE_HOST].flatMap((host) => ['--resolve', `${host}=127.0.0.1`]),
  ]);
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  });
  try {
    const page = await browser.newPage({ viewport: VIEWPORT, colorScheme: 'light' });
    await page.goto(loupe.uiUrl);

    const via = ['-x', loupe.proxyUrl];
    const jsonPost = (body: unknown) => [
      ...['-X', 'POST', '-H', 'Content-Type: application/json'],
      ...['--data', JSON.stringify(body)],
    ];
    // One at a time, so the table's order reads like a page load followed by API calls.
    const calls: string[][] = [
      [`${www}/`],
      [`${cdn}/css/site.css`],
      [`${cdn}/js/app.js`],
      [`${cdn}/img/logo.png`],
      [`${cdn}/fonts/inter.woff2`],
      [`${api}${SELECTED_PATH}`, '-H', 'Accept: application/json'],
      [`${api}/v1/users/42`, '-H', 'Accept: application/json'],
      [`${api}/v1/notifications`],
      [`${api}/v1/cart`],
      [`${api}/v1/orders`, ...jsonPost({ sku: 'LP-100', quantity: 2 })],
      [`${api}/v1/orders/9999`],
      [`${api}/v1/health`],
      [`${pay}/v2/account`, '--cacert', join(dataDir, 'ca.pem')],
      [`${pay}/v2/charges`, '--cacert', join(dataDir, 'ca.pem'), ...jsonPost({ amount: 4200 })],
      [`${api}/v1/users?page=2`],
      [`${api}/v1/cart`],
    ];
    for (const call of calls) await curl([...via, ...call]);

    const rows = page.getByTestId('flow-row');
    await rows.nth(calls.length - 1).waitFor({ timeout: 15_000 });
    const target = rows.filter({ hasText: SELECTED_PATH.split('?')[0]! }).first();
    await target.click();
    // Show the response body, the part people look at, where the inspector has tabs for it.
    const responseTab = page.getByRole('tab', { name: 'Response', exact: true });
    if ((await responseTab.count()) > 0) await responseTab.first().click();
    const bodyTab = page.getByRole('tab', { name: 'Body', exact: true }).filter({ visible: true });
    if ((await bodyTab.count()) > 0) await bodyTab.first().click();
    // The inspector (where built) loads the body; give it the network and a frame to settle.
    await page.waitForLoadState('networkidle');
    await page.waitForTimeout(500);
    await page.mouse.move(0, VIEWPORT.height - 1);
    await page.screenshot({ path: OUTPUT });
    console.log(`wrote ${OUTPUT}`);
  } finally {
    await browser.close();
    await loupe.stop();
    plain.close();
    secure.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  // esbuild and curl have already said what went wrong; the stack adds nothing.
  console.error(`screenshot failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
