/**
 * HTTPS through the real `loupe headless` command: curl trusting the CA in the data directory,
 * upstreams with a test CA of their own passed as `--upstream-ca`, host names mapped to loopback
 * with `--resolve`, and the settings.json fields that shape interception (the learned
 * auto-bypass list, upstream-certificate exceptions, Alt-Svc steering).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, watch, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { validateHar } from '../test-support/har-schema';
import { startHeadless, type HeadlessProcess } from '../test-support/headless';
import { cleanup, curlVia } from '../test-support/servers';
import { h2Upstream, httpsUpstream, selfSigned, testPki, type TestPki } from '../test-support/tls';
import { needTool } from '../test-support/tools';
import { until } from '../test-support/wait';

interface HarEntry {
  request: { method: string; url: string; httpVersion: string };
  response: {
    status: number;
    httpVersion: string;
    headers: { name: string; value: string }[];
  };
  comment?: string;
}

let dir: string;
let data: string;
let pki: TestPki;
const running: HeadlessProcess[] = [];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'loupe-headless-https-'));
  data = join(dir, 'data');
  pki = await testPki();
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((p) => p.stop('SIGKILL')));
  await cleanup();
  rmSync(dir, { recursive: true, force: true });
});

const loupeCa = (): string => join(data, 'ca.pem');

/** `loupe headless` on the data directory, trusting the test PKI upstream and mapping `hosts`. */
async function start(hosts: string[], extra: string[] = []): Promise<HeadlessProcess> {
  const p = await startHeadless([
    '--port',
    '0',
    '--data-dir',
    data,
    '--upstream-ca',
    pki.caFile,
    ...hosts.flatMap((h) => ['--resolve', `${h}=127.0.0.1`]),
    ...extra,
  ]);
  running.push(p);
  return p;
}

/** Stops with SIGTERM (the HAR is written then) and reads the HAR, checked against HAR 1.2. */
async function stopAndReadHar(p: HeadlessProcess, har: string): Promise<HarEntry[]> {
  expect(await p.stop('SIGTERM')).toBe(0);
  const doc = JSON.parse(readFileSync(har, 'utf8')) as { log: { entries: HarEntry[] } };
  expect(validateHar(doc)).toEqual([]);
  return doc.log.entries;
}

/** Writes settings.json into the data directory before Loupe starts. */
function writeSettings(fields: Record<string, unknown>): void {
  mkdirSync(data, { recursive: true });
  writeFileSync(join(data, 'settings.json'), JSON.stringify({ version: 1, ...fields }));
}

const learnedHosts = (): string[] => {
  try {
    const s = JSON.parse(readFileSync(join(data, 'settings.json'), 'utf8')) as {
      autoBypass?: { host: string }[];
    };
    return (s.autoBypass ?? []).map((e) => e.host);
  } catch {
    return [];
  }
};

/**
 * The learned list once settings.json has `host` on it. Loupe saves the list after learning a
 * host by renaming a new file over the old one; the file is read again at each change in the
 * data directory.
 */
async function learned(host: string): Promise<string[]> {
  await until(
    `${host} to be saved in settings.json`,
    (notify) => {
      const watcher = watch(data, notify);
      return () => watcher.close();
    },
    () => learnedHosts().includes(host),
  );
  return learnedHosts();
}

describe('loupe headless HTTPS interception', () => {
  it('decrypts curl over HTTP/1.1 and HTTP/2 and writes both exchanges to the HAR', async (t) => {
    needTool(t, 'curl');
    const seen: Record<string, string> = {};
    const up = await h2Upstream(
      pki,
      (req, res) => {
        seen[req.url] = req.httpVersion;
        res.setHeader('Content-Type', 'text/plain');
        res.end(`secret ${req.url} over ${req.httpVersion}`);
      },
      { allowHTTP1: true },
    );
    const har = join(dir, 'out.har');
    const p = await start(['api.test'], ['--har', har]);
    const base = `https://api.test:${up.port}`;

    const h1 = await curlVia(p.url, `${base}/one`, ['--http1.1', '--cacert', loupeCa()]);
    expect(h1.code, h1.stderr).toBe(0);
    expect(h1.body.toString()).toBe(`secret /one over ${seen['/one']}`);
    const h2 = await curlVia(p.url, `${base}/two`, ['--http2', '--cacert', loupeCa()]);
    expect(h2.code, h2.stderr).toBe(0);
    expect(h2.body.toString()).toBe(`secret /two over ${seen['/two']}`);
    expect(h2.trace).toMatch(/ALPN.*h2/);

    const entries = await stopAndReadHar(p, har);
    const one = entries.find((e) => e.request.url === `${base}/one`);
    const two = entries.find((e) => e.request.url === `${base}/two`);
    expect(one?.request.httpVersion).toBe('HTTP/1.1');
    expect(two?.request.httpVersion).toBe('HTTP/2.0');
    expect(one?.response.status).toBe(200);
    expect(two?.response.status).toBe(200);
    expect(one?.response.httpVersion).toBe(`HTTP/${seen['/one']}`);
    expect(two?.response.httpVersion).toBe(`HTTP/${seen['/two']}`);
  });

  it('learns a host whose client rejects Loupe, tunnels it raw from then on, and after a restart', async (t) => {
    needTool(t, 'curl');
    const up = await httpsUpstream(pki, (_req, res) => res.end('the real server'));
    const url = `https://api.test:${up.port}/`;
    const har = join(dir, 'out.har');
    const p = await start(['api.test'], ['--har', har]);

    // Trusting only the real server's CA, curl refuses the Loupe leaf.
    const refused = await curlVia(p.url, url, ['--cacert', pki.caFile]);
    expect(refused.code, refused.stderr).toBe(60);
    expect(await learned('api.test')).toEqual(['api.test']);

    const bypassed = await curlVia(p.url, url, ['--cacert', pki.caFile]);
    expect(bypassed.code, bypassed.stderr).toBe(0);
    expect(bypassed.body.toString()).toBe('the real server');

    const entries = await stopAndReadHar(p, har);
    const connects = entries.filter((e) => e.request.method === 'CONNECT');
    expect(connects.map((e) => e.comment)).toContainEqual(
      expect.stringContaining("The client rejected Loupe's certificate for api.test"),
    );

    // The list is in settings.json, so the next run on the directory still bypasses the host.
    const again = await start(['api.test']);
    const remembered = await curlVia(again.url, url, ['--cacert', pki.caFile]);
    expect(remembered.code, remembered.stderr).toBe(0);
    expect(remembered.body.toString()).toBe('the real server');
  });
});

describe('loupe headless settings.json and HTTPS', () => {
  /** An upstream for self.test presenting a self-signed certificate. */
  async function selfSignedUpstream(): Promise<number> {
    const context = tls.createSecureContext(selfSigned('self.test'));
    return (await httpsUpstream({ context }, (_req, res) => res.end('self-signed but allowed')))
      .port;
  }

  it('refuses a self-signed upstream with 502 and words', async (t) => {
    needTool(t, 'curl');
    needTool(t, 'openssl');
    const port = await selfSignedUpstream();
    const p = await start(['self.test']);
    const r = await curlVia(p.url, `https://self.test:${port}/`, ['--cacert', loupeCa()]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.status).toBe(502);
    expect(r.body.toString()).toContain('it is self-signed');
  });

  it('lets a self-signed upstream through when allowInvalidUpstreamCertificates names it', async (t) => {
    needTool(t, 'curl');
    needTool(t, 'openssl');
    const port = await selfSignedUpstream();
    writeSettings({ allowInvalidUpstreamCertificates: ['self.test'] });
    const p = await start(['self.test']);
    const r = await curlVia(p.url, `https://self.test:${port}/`, ['--cacert', loupeCa()]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.status).toBe(200);
    expect(r.body.toString()).toBe('self-signed but allowed');
  });

  it.for<[string, boolean | undefined, string]>([
    ['strips h3 from Alt-Svc by default', undefined, 'Alt-Svc: h2=":443"; ma=60'],
    [
      'leaves Alt-Svc alone with stripAltSvcH3 false',
      false,
      'Alt-Svc: h3=":443"; ma=86400, h2=":443"; ma=60',
    ],
  ])('%s', async ([, strip, header], t) => {
    needTool(t, 'curl');
    const up = await httpsUpstream(pki, (_req, res) => {
      res.setHeader('Alt-Svc', 'h3=":443"; ma=86400, h2=":443"; ma=60');
      res.end('ok');
    });
    if (strip !== undefined) writeSettings({ stripAltSvcH3: strip });
    const p = await start(['api.test']);
    // HTTP/1.1, where the header's case is kept (HTTP/2 lower-cases every name).
    const r = await curlVia(p.url, `https://api.test:${up.port}/`, [
      '--http1.1',
      '--cacert',
      loupeCa(),
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.headers.filter((h) => /^alt-svc:/i.test(h))).toEqual([header]);
  });
});
