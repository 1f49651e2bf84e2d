/**
 * The headless contract, tested through the real `loupe` command: the listening line, HAR on
 * SIGINT/SIGTERM, the CA in the data directory, the data-directory lock, and one clear line for
 * every bad flag.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startHeadless, runLoupe, type HeadlessProcess } from '../test-support/headless';
import { validateHar } from '../test-support/har-schema';
import { rawRequest } from '../test-support/servers';
import { needTool } from '../test-support/tools';

interface HarEntry {
  request: {
    method: string;
    url: string;
    httpVersion: string;
    headers: { name: string; value: string }[];
    postData?: { mimeType: string; text: string; params?: { name: string; value: string }[] };
  };
  response: {
    status: number;
    httpVersion: string;
    headers: { name: string; value: string }[];
    content: { size: number; text?: string; encoding?: string; mimeType: string };
  };
  timings: Record<string, number>;
  time: number;
  serverIPAddress?: string;
  connection?: string;
  _error?: { code: string; message: string };
}

let dir: string;
let upstream: http.Server;
let upstreamPort: number;
const running: HeadlessProcess[] = [];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'loupe-headless-'));
  upstream = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const path = (req.url ?? '').split('?')[0];
      if (path === '/json') {
        res.writeHead(200, ['Content-Type', 'application/json', 'X-Zeta', '1', 'x-alpha', '2']);
        res.end(JSON.stringify({ hello: 'world', method: req.method }));
      } else if (path === '/binary') {
        res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
        res.end(Buffer.from([0, 1, 2, 255, 254, 0x80]));
      } else if (path === '/missing') {
        res.writeHead(404, { 'Content-Type': 'text/plain' });
        res.end('nope');
      } else {
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        res.end(`echo ${req.method} ${body.length}`);
      }
    });
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  upstreamPort = (upstream.address() as net.AddressInfo).port;
});

afterEach(async () => {
  for (const p of running.splice(0)) await p.stop('SIGKILL');
  await new Promise<void>((resolve) => upstream.close(() => resolve()));
  upstream.closeAllConnections();
  rmSync(dir, { recursive: true, force: true });
});

async function start(args: string[]): Promise<HeadlessProcess> {
  const p = await startHeadless(args);
  running.push(p);
  return p;
}

/** One request through the proxy with Node's http client, raw headers as given. */
function viaProxy(
  proxyPort: number,
  method: string,
  url: string,
  headers: string[] = [],
  body?: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = http.request({
      host: '127.0.0.1',
      port: proxyPort,
      method,
      path: url,
      headers: ['Host', u.host, ...headers],
      setHost: false,
    } as http.RequestOptions);
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('loupe headless', () => {
  it('prints the listening line, captures traffic and writes a valid HAR 1.2 on SIGINT', async () => {
    const har = join(dir, 'session.har');
    const p = await start([
      '--port',
      '0',
      '--data-dir',
      join(dir, 'data'),
      '--har',
      har,
      '--resolve',
      'api.loupe.test=127.0.0.1',
    ]);
    expect(p.url).toBe(`http://127.0.0.1:${p.port}`);
    const base = `http://api.loupe.test:${upstreamPort}`;

    const json = await viaProxy(p.port, 'GET', `${base}/json?q=1&lang=en`, [
      'X-Second',
      'b',
      'x-first',
      'a',
      'Cookie',
      'sid=abc; theme=dark',
    ]);
    expect(JSON.parse(json.body)).toEqual({ hello: 'world', method: 'GET' });
    const form = await viaProxy(
      p.port,
      'POST',
      `${base}/form`,
      ['Content-Type', 'application/x-www-form-urlencoded'],
      'a=1&b=two+words',
    );
    expect(form.body).toBe('echo POST 15');
    await viaProxy(p.port, 'GET', `${base}/binary`);
    expect((await viaProxy(p.port, 'GET', `${base}/missing`)).status).toBe(404);
    expect((await viaProxy(p.port, 'GET', 'http://127.0.0.1:1/refused')).status).toBe(502);

    expect(await p.stop('SIGINT')).toBe(0);
    const doc = JSON.parse(readFileSync(har, 'utf8')) as {
      log: { creator: { name: string }; entries: HarEntry[] };
    };
    expect(validateHar(doc)).toEqual([]);
    expect(doc.log.creator.name).toBe('Loupe');
    const entries = doc.log.entries;
    expect(entries.map((e) => `${e.request.method} ${e.request.url} ${e.response.status}`)).toEqual(
      [
        `GET ${base}/json?q=1&lang=en 200`,
        `POST ${base}/form 200`,
        `GET ${base}/binary 200`,
        `GET ${base}/missing 404`,
        'GET http://127.0.0.1:1/refused 0',
      ],
    );

    const [getJson, postForm, binary, , refused] = entries as [
      HarEntry,
      HarEntry,
      HarEntry,
      HarEntry,
      HarEntry,
    ];
    expect(getJson.request.httpVersion).toBe('HTTP/1.1');
    expect(getJson.request.headers.map((h) => h.name).slice(0, 3)).toEqual([
      'Host',
      'X-Second',
      'x-first',
    ]);
    expect(getJson.response.headers.map((h) => h.name).slice(0, 3)).toEqual([
      'Content-Type',
      'X-Zeta',
      'x-alpha',
    ]);
    expect(JSON.parse(getJson.response.content.text ?? '')).toEqual({
      hello: 'world',
      method: 'GET',
    });
    expect(getJson.serverIPAddress).toBe('127.0.0.1');
    for (const phase of ['send', 'wait', 'receive'])
      expect(getJson.timings[phase]).toBeGreaterThanOrEqual(0);
    expect(getJson.timings.connect).toBeGreaterThanOrEqual(0);
    expect(getJson.time).toBeGreaterThan(0);

    expect(postForm.request.postData?.text).toBe('a=1&b=two+words');
    expect(postForm.request.postData?.params).toEqual([
      { name: 'a', value: '1' },
      { name: 'b', value: 'two words' },
    ]);
    expect(binary.response.content.encoding).toBe('base64');
    expect(Buffer.from(binary.response.content.text ?? '', 'base64')).toEqual(
      Buffer.from([0, 1, 2, 255, 254, 0x80]),
    );
    expect(refused._error?.code).toBe('connection_refused');
  });

  it('writes the HAR on SIGTERM as well', async () => {
    const har = join(dir, 'term.har');
    const p = await start(['--port', '0', '--data-dir', join(dir, 'data'), '--har', har]);
    await viaProxy(p.port, 'GET', `http://127.0.0.1:${upstreamPort}/json`);
    expect(await p.stop('SIGTERM')).toBe(0);
    const doc = JSON.parse(readFileSync(har, 'utf8')) as { log: { entries: HarEntry[] } };
    expect(doc.log.entries).toHaveLength(1);
  });

  it.skipIf(process.platform === 'win32')(
    'writes the --har file private, leaves its folder as it was and warns that others can read the folder',
    async () => {
      const shared = join(dir, 'shared');
      mkdirSync(shared, { mode: 0o755 });
      chmodSync(shared, 0o755);
      const har = join(shared, 'private.har');
      const p = await start(['--port', '0', '--data-dir', join(dir, 'data'), '--har', har]);
      await viaProxy(p.port, 'GET', `http://127.0.0.1:${upstreamPort}/json`);
      expect(await p.stop('SIGINT')).toBe(0);
      expect(statSync(har).mode & 0o777).toBe(0o600);
      expect(statSync(shared).mode & 0o777).toBe(0o755);
      const warnings = p
        .stderr()
        .split('\n')
        .filter((line) => /other users/i.test(line));
      expect(warnings).toEqual([expect.stringContaining(shared)]);
    },
  );

  it('applies --bypass together with the saved list: matching tunnels are marked bypassed in the HAR', async () => {
    const har = join(dir, 'bypass.har');
    const data = join(dir, 'data');
    mkdirSync(data);
    writeFileSync(
      join(data, 'settings.json'),
      JSON.stringify({ version: 1, bypass: [{ pattern: 'saved.loupe.test', enabled: true }] }),
    );
    const p = await start([
      '--port',
      '0',
      '--data-dir',
      data,
      '--har',
      har,
      '--bypass',
      '*.bank.loupe.test',
      '--resolve',
      'www.bank.loupe.test=127.0.0.1',
      '--resolve',
      'saved.loupe.test=127.0.0.1',
      '--resolve',
      'other.loupe.test=127.0.0.1',
    ]);
    for (const host of ['www.bank.loupe.test', 'saved.loupe.test', 'other.loupe.test']) {
      await rawRequest(
        p.port,
        `CONNECT ${host}:${upstreamPort} HTTP/1.1\r\nHost: ${host}\r\n\r\nGET /json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
      );
    }
    expect(await p.stop('SIGINT')).toBe(0);
    const entries = (
      JSON.parse(readFileSync(har, 'utf8')) as {
        log: { entries: (HarEntry & { _tags?: string[] })[] };
      }
    ).log.entries;
    expect(
      entries.map((e) => [new URL(e.request.url).hostname, e._tags?.includes('bypassed') ?? false]),
    ).toEqual([
      ['www.bank.loupe.test', true],
      ['saved.loupe.test', true],
      ['other.loupe.test', false],
    ]);
  });

  it('creates a unique CA in the data directory with its key readable only by the user', async () => {
    const a = await start(['--port', '0', '--data-dir', join(dir, 'a')]);
    const b = await start(['--port', '0', '--data-dir', join(dir, 'b')]);
    const pemA = readFileSync(join(dir, 'a', 'ca.pem'), 'utf8');
    const pemB = readFileSync(join(dir, 'b', 'ca.pem'), 'utf8');
    expect(pemA).toMatch(/^-----BEGIN CERTIFICATE-----/);
    expect(pemA).not.toBe(pemB);
    expect(statSync(join(dir, 'a', 'ca-key.pem')).mode & 0o777).toBe(0o600);
    // The same certificate is offered through the proxy's own page.
    const page = await viaProxy(a.port, 'GET', 'http://loupe.local/ca.pem');
    expect(page.body).toBe(pemA);
    await a.stop();
    await b.stop();
  });

  it('refuses a second process on the same data directory', async () => {
    await start(['--port', '0', '--data-dir', join(dir, 'data')]);
    const second = await runLoupe(['headless', '--port', '0', '--data-dir', join(dir, 'data')]);
    expect(second.code).not.toBe(0);
    expect(second.stderr).toMatch(/Another Loupe \(pid \d+\) is using/);
  });

  it('exits non-zero with one clear line when the port is in use', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const result = await runLoupe([
        'headless',
        '--port',
        String(port),
        '--data-dir',
        join(dir, 'data'),
      ]);
      expect(result.code).toBe(1);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(result.stderr).toContain(`Port ${port} on 127.0.0.1 is already in use`);
    } finally {
      blocker.close();
    }
  });

  it.each([
    [['--port', 'eighty'], /--port takes a port number/],
    [['--port', '70000'], /--port takes a port number/],
    [['--frobnicate'], /frobnicate/],
    [['--bypass', '*.'], /--bypass: /],
    [['--resolve', 'nohost'], /--resolve takes HOST=ADDR/],
    [['--upstream-proxy', 'ftp://x:1'], /--upstream-proxy: .*http/],
    [['--upstream-ca', '/nonexistent/ca.pem'], /--upstream-ca: cannot read/],
    [['--har', '/nonexistent/dir/out.har'], /--har: the folder/],
    [['--open'], /--open needs --ui-port/],
  ])('refuses %j with a clear message', async (args, message) => {
    const result = await runLoupe(['headless', '--data-dir', join(dir, 'data'), ...args]);
    expect(result.code).toBe(2);
    expect(result.stderr.split('\n')[0]).toMatch(message);
    expect(result.stdout).not.toContain('proxy listening');
  });

  it('refuses an --upstream-ca file without a certificate', async () => {
    const file = join(dir, 'not-a-ca.pem');
    writeFileSync(file, 'hello');
    const result = await runLoupe(['headless', '--upstream-ca', file]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('holds no PEM certificate');
  });

  it('documents every contract flag in --help', async () => {
    const result = await runLoupe(['headless', '--help']);
    expect(result.code).toBe(0);
    for (const flag of [
      '--port',
      '--host',
      '--data-dir',
      '--har',
      '--bypass',
      '--ui-port',
      '--upstream-ca',
      '--upstream-proxy',
      '--resolve',
      '--no-proxy',
    ]) {
      expect(result.stdout).toContain(flag);
    }
  });

  it('serves curl through the proxy (real client)', async (ctx) => {
    needTool(ctx, 'curl');
    const p = await start(['--port', '0', '--data-dir', join(dir, 'data')]);
    // Asynchronously: the upstream lives in this process and must keep answering.
    const { stdout: out } = await promisify(execFile)(
      'curl',
      ['-sS', '-x', p.url, `http://127.0.0.1:${upstreamPort}/json`],
      { encoding: 'utf8' },
    );
    expect(JSON.parse(out)).toEqual({ hello: 'world', method: 'GET' });
  });
});

describe('the UI of loupe headless and loupe start', () => {
  /** A stand-in renderer, so these tests do not depend on the UI build (e2e/ covers that). */
  function fakeRenderer(): string {
    const rendererDir = join(dir, 'renderer');
    mkdirSync(rendererDir);
    writeFileSync(join(rendererDir, 'index.html'), '<!doctype html><title>Loupe UI</title>');
    return rendererDir;
  }

  function fetchText(url: string): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      http
        .get(url, (res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        })
        .on('error', reject);
    });
  }

  it('prints the ui listening line with a token after the proxy line, and serves the page', async () => {
    const p = await startHeadless(
      ['--port', '0', '--ui-port', '0', '--data-dir', join(dir, 'data')],
      20_000,
      { env: { LOUPE_RENDERER_DIR: fakeRenderer() } },
    );
    running.push(p);
    expect(p.uiUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]{32}$/);
    expect(p.stdout().indexOf('proxy listening')).toBeLessThan(p.stdout().indexOf('ui listening'));
    expect(await fetchText(p.uiUrl!)).toEqual({
      status: 200,
      body: '<!doctype html><title>Loupe UI</title>',
    });
    expect((await fetchText(p.uiUrl!.replace(/\?token=.*/, ''))).status).toBe(403);
  });

  it('says in one line that the UI is not built when it is not', async () => {
    const result = await runLoupe(
      ['headless', '--port', '0', '--ui-port', '0', '--data-dir', join(dir, 'data')],
      20_000,
      { LOUPE_RENDERER_DIR: join(dir, 'nowhere') },
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/the UI is not built .*run npm run build/);
  });

  it('loupe start without the Electron runtime says so and serves the UI headless', async (ctx) => {
    if (hasElectronRuntime())
      ctx.skip('the Electron runtime is installed here, so start opens the app');
    const p = await startHeadless(['--port', '0', '--data-dir', join(dir, 'data')], 20_000, {
      command: 'start',
      env: { LOUPE_RENDERER_DIR: fakeRenderer() },
    });
    running.push(p);
    expect(p.stderr()).toContain(
      'The Electron runtime is not installed on this machine, so Loupe serves its UI headless instead.',
    );
    expect((await fetchText(p.uiUrl!)).status).toBe(200);
  });
});

/** The runtime binary as `loupe start` finds it: electron's path.txt, never `require`. */
function hasElectronRuntime(): boolean {
  try {
    const pkg = join(process.cwd(), 'node_modules', 'electron');
    const rel = readFileSync(join(pkg, 'path.txt'), 'utf8').trim();
    return statSync(join(pkg, 'dist', rel)).isFile();
  } catch {
    return false;
  }
}
