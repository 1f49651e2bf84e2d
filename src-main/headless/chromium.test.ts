/**
 * Debian's headless Chromium through the real `loupe headless`: with the Loupe CA trusted in its
 * NSS database (a temporary HOME) it loads an HTTPS page and the page's own fetch, both decrypted
 * and in the HAR; with an empty NSS database it refuses Loupe's leaf, and the HAR says so.
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { validateHar } from '../test-support/har-schema';
import { startHeadless, type HeadlessProcess } from '../test-support/headless';
import { cleanup } from '../test-support/servers';
import { httpsUpstream, testPki } from '../test-support/tls';
import { chromiumPath, needTool } from '../test-support/tools';

interface HarEntry {
  request: { method: string; url: string };
  response: { status: number; content: { text?: string; encoding?: string } };
  comment?: string;
  _error?: { code: string; message: string };
}

/** How long one Chromium run may take before its process group is killed and the test fails. */
const CHROMIUM_TIMEOUT_MS = 30_000;
const TEST_TIMEOUT_MS = 90_000;

/** Fetches /api/data and writes `result=<token>`: the token is only in the JSON, never here. */
const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>loupe chromium test</title><link rel="icon" href="data:,"></head>
<body><p id="out">pending</p>
<script>
fetch('/api/data')
  .then((r) => r.json())
  .then((d) => { document.getElementById('out').textContent = 'result=' + d.token; })
  .catch((e) => { document.getElementById('out').textContent = 'failed: ' + e; });
</script></body></html>`;

let dir: string;
let token: string;
let loupe: HeadlessProcess | undefined;
/** Chromium runs not yet exited; each leads its own process group, killed whole on timeout. */
const chromiumGroups = new Set<number>();

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'loupe-chromium-'));
  token = randomUUID();
});

afterEach(async () => {
  for (const pid of chromiumGroups) killGroup(pid);
  chromiumGroups.clear();
  await loupe?.stop('SIGKILL');
  loupe = undefined;
  await cleanup();
  rmSync(dir, { recursive: true, force: true });
});

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // The group has already exited.
  }
}

const app: http.RequestListener = (req, res) => {
  if (req.url === '/') {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(PAGE);
  } else if (req.url === '/api/data') {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ token }));
  } else {
    res.writeHead(404, { 'Content-Type': 'text/plain' });
    res.end('not found');
  }
};

/** The app on its own test CA, and Loupe trusting that CA upstream and resolving app.test. */
async function startAppAndLoupe(): Promise<{ origin: string; caFile: string; har: string }> {
  const pki = await testPki();
  const upstream = await httpsUpstream(pki, app);
  const dataDir = join(dir, 'data');
  const har = join(dir, 'out.har');
  loupe = await startHeadless([
    '--port',
    '0',
    '--data-dir',
    dataDir,
    '--upstream-ca',
    pki.caFile,
    '--resolve',
    'app.test=127.0.0.1',
    '--har',
    har,
  ]);
  return { origin: `https://app.test:${upstream.port}`, caFile: join(dataDir, 'ca.pem'), har };
}

/** A HOME whose NSS database (Chromium's trust store on Linux) trusts `caFile`, or nothing. */
function nssHome(name: string, caFile?: string): string {
  const home = join(dir, name);
  mkdirSync(join(home, '.pki', 'nssdb'), { recursive: true });
  const db = `sql:${join(home, '.pki', 'nssdb')}`;
  execFileSync('certutil', ['-d', db, '-N', '--empty-password'], { stdio: 'pipe' });
  if (caFile) {
    execFileSync('certutil', ['-A', '-d', db, '-t', 'C,,', '-n', 'loupe', '-i', caFile], {
      stdio: 'pipe',
    });
  }
  return home;
}

interface ChromiumRun {
  /** The DOM once the page settled (`--dump-dom`); empty when the page did not load. */
  dom: string;
  /** Chromium's whole stderr (`--enable-logging=stderr --v=1`). */
  stderr: string;
  /** Chromium's TLS, certificate and network error lines, for failure messages. */
  log: string;
}

/**
 * Loads `url` in a fresh profile of headless Chromium through Loupe and dumps the DOM. Under
 * load, Chromium's own connectivity check sometimes declares the machine offline
 * (net::ERR_INTERNET_DISCONNECTED) before any request reaches the proxy; that run is repeated
 * once, as it says nothing about Loupe.
 */
async function dumpDom(home: string, url: string): Promise<ChromiumRun> {
  const run = await dumpDomOnce(home, url);
  if (netError(run, url) !== 'net::ERR_INTERNET_DISCONNECTED') return run;
  return dumpDomOnce(home, url);
}

function dumpDomOnce(home: string, url: string): Promise<ChromiumRun> {
  const args = [
    '--headless=new',
    '--no-sandbox',
    '--disable-gpu',
    `--proxy-server=http://127.0.0.1:${loupe!.port}`,
    '--proxy-bypass-list=<-loopback>',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
    `--user-data-dir=${mkdtempSync(join(home, 'profile-'))}`,
    '--enable-logging=stderr',
    '--v=1',
    '--virtual-time-budget=5000',
    '--dump-dom',
    url,
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(chromiumPath(), args, {
      env: { ...process.env, HOME: home },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    if (child.pid !== undefined) chromiumGroups.add(child.pid);
    let dom = '';
    let stderr = '';
    const log = (): string =>
      stderr
        .split('\n')
        .filter((l) => /ERR_[A-Z_]+|handshake failed|CertVerifyProc|ssl_client_socket/.test(l))
        .slice(-40)
        .join('\n');
    child.stdout.on('data', (d: Buffer) => (dom += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    const timer = setTimeout(() => {
      if (child.pid !== undefined) killGroup(child.pid);
      reject(new Error(`chromium did not finish in ${CHROMIUM_TIMEOUT_MS} ms\n${log()}`));
    }, CHROMIUM_TIMEOUT_MS);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('exit', () => {
      clearTimeout(timer);
      // Chromium's helpers leave with it; forget the group so no later kill can hit a reused id.
      if (child.pid !== undefined) chromiumGroups.delete(child.pid);
      resolve({ dom, stderr, log: log() });
    });
  });
}

/** What the page shows: the fetch's outcome line, or why there is none. */
function pageOutcome(dom: string): string {
  return /<p id="out">([^<]*)<\/p>/.exec(dom)?.[1] ?? `no page (${dom.length} characters of DOM)`;
}

/**
 * Chromium's net error for loading `url`, wherever this version reports it: an error page in the
 * DOM (older versions' interstitial), the headless shell's `Page load failed: net::ERR_…` line on
 * stderr (156 leaves no DOM), or any stderr line that names the page's host with a net error.
 * Undefined when Chromium reported none.
 */
function netError(run: ChromiumRun, url: string): string | undefined {
  const code = /net::ERR_[A-Z_]+/;
  const inDom = code.exec(run.dom)?.[0];
  if (inDom) return inDom;
  const lines = run.stderr.split('\n');
  const pageLoad = lines.find((l) => /Page load failed/i.test(l) && code.test(l));
  if (pageLoad) return code.exec(pageLoad)![0];
  const host = new URL(url).hostname;
  const aboutHost = lines.find((l) => l.includes(host) && code.test(l));
  return aboutHost ? code.exec(aboutHost)![0] : undefined;
}

/** Stops Loupe with SIGTERM and returns the entries of the HAR it wrote, checked against 1.2. */
async function stopAndReadHar(har: string): Promise<HarEntry[]> {
  expect(await loupe!.stop('SIGTERM')).toBe(0);
  const doc = JSON.parse(readFileSync(har, 'utf8')) as { log: { entries: HarEntry[] } };
  expect(validateHar(doc)).toEqual([]);
  return doc.log.entries;
}

/** Failed-handshake tunnels to app.test, as their comments (Chromium's own hosts aside). */
function failedHandshakes(entries: HarEntry[], origin: string): string[] {
  return entries
    .filter((e) => e.request.url === `${origin}/` && e._error?.code === 'tls_handshake_failed')
    .map((e) => `${e.request.method} ${e.request.url}: ${e.comment ?? ''}`);
}

describe('headless Chromium through loupe headless', () => {
  it(
    'loads an HTTPS page and its fetch decrypted when the Loupe CA is in its NSS database',
    async (t) => {
      needTool(t, chromiumPath());
      needTool(t, 'certutil');
      const { origin, caFile, har } = await startAppAndLoupe();
      const home = nssHome('home-trusting', caFile);

      const run = await dumpDom(home, `${origin}/`);
      expect(pageOutcome(run.dom), run.log).toBe(`result=${token}`);

      const entries = await stopAndReadHar(har);
      const get = (url: string): HarEntry | undefined =>
        entries.find((e) => e.request.method === 'GET' && e.request.url === url);
      const page = get(`${origin}/`);
      const data = get(`${origin}/api/data`);
      expect(page?.response.status).toBe(200);
      expect(page?.response.content.text).toBe(PAGE);
      expect(data?.response.status).toBe(200);
      expect(data?.response.content.encoding).toBeUndefined();
      expect(JSON.parse(data?.response.content.text ?? 'null')).toEqual({ token });
      // A trusting client must never be reported as rejecting Loupe's certificate.
      expect(failedHandshakes(entries, origin)).toEqual([]);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'still decrypts app.test on a later Chromium run: the first run taught no auto-bypass',
    async (t) => {
      needTool(t, chromiumPath());
      needTool(t, 'certutil');
      const { origin, caFile, har } = await startAppAndLoupe();
      const home = nssHome('home-trusting', caFile);

      const first = await dumpDom(home, `${origin}/`);
      expect(pageOutcome(first.dom), first.log).toBe(`result=${token}`);
      const second = await dumpDom(home, `${origin}/`);
      expect(pageOutcome(second.dom), second.log).toBe(`result=${token}`);

      const entries = await stopAndReadHar(har);
      expect(
        entries.filter((e) => e.request.method === 'GET' && e.request.url === `${origin}/api/data`),
      ).toHaveLength(2);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'refuses the page when the Loupe CA is not trusted, and the HAR records the rejected handshake',
    async (t) => {
      needTool(t, chromiumPath());
      needTool(t, 'certutil');
      const { origin, har } = await startAppAndLoupe();
      const home = nssHome('home-empty');

      const url = `${origin}/`;
      const run = await dumpDom(home, url);
      // The page never ran, and Chromium blames the certificate's issuer: in its DOM (an
      // interstitial, in older versions) or on stderr (156 and later leave no DOM).
      expect(pageOutcome(run.dom), run.log).not.toMatch(/^result=/);
      expect(netError(run, url), run.log).toBe('net::ERR_CERT_AUTHORITY_INVALID');

      const entries = await stopAndReadHar(har);
      // Nothing was decrypted: app.test appears only as CONNECTs.
      expect(
        entries
          .filter((e) => e.request.url.startsWith(`${origin}/`) && e.request.method !== 'CONNECT')
          .map((e) => `${e.request.method} ${e.request.url}`),
      ).toEqual([]);
      const failed = failedHandshakes(entries, origin);
      expect(failed.length).toBeGreaterThan(0);
      // BoringSSL answers a certificate it cannot verify with a certificate_unknown alert. A
      // connection Chromium opened in parallel may be dropped mid-handshake once the first one
      // failed (seen under load): that one closes without an alert, and says so.
      const rejected =
        /^CONNECT https:\/\/app\.test:\d+\/: The client rejected Loupe's certificate for app\.test \(alert certificate_unknown\)/;
      const abandoned =
        /^CONNECT https:\/\/app\.test:\d+\/: The client closed the connection to app\.test during the TLS handshake without saying why\./;
      expect(failed.some((words) => rejected.test(words))).toBe(true);
      for (const words of failed) {
        if (!rejected.test(words)) expect(words).toMatch(abandoned);
      }
    },
    TEST_TIMEOUT_MS,
  );
});
