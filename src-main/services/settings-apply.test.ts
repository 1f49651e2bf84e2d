/**
 * Every preference applies at once, through the API both transports call, against a real
 * session: real sockets, curl through the proxy, a self-signed HTTPS upstream and the real
 * settings file.
 */
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ApiEvent, ApiReply } from '../../src-common/api/contract';
import { DEFAULT_SETTINGS, type Settings } from '../../src-common/settings';
import { cleanup, curlVia, httpUpstream, listen, viaProxy } from '../test-support/servers';
import { httpsUpstream, selfSigned } from '../test-support/tls';
import { needTool } from '../test-support/tools';
import { until } from '../test-support/wait';
import { createApi, createDispatcher, createEventHub, type Dispatch, type EventHub } from './api';
import { openSession, type Session } from './session';

let dir: string;
let session: Session;
let call: Dispatch;
let events: ApiEvent[];
let hub: EventHub;

async function open(seed?: Partial<Settings>): Promise<void> {
  const dataDir = join(dir, 'data');
  if (seed) {
    await mkdir(dataDir, { recursive: true });
    await writeFile(
      join(dataDir, 'settings.json'),
      JSON.stringify({ ...DEFAULT_SETTINGS, ...seed }),
    );
  }
  session = await openSession({
    dataDir,
    host: '127.0.0.1',
    port: 0,
    resolve: [['self.test', '127.0.0.1']],
    version: '0.0.0-test',
    mode: 'headless',
  });
  hub = createEventHub(session);
  hub.subscribe((e) => events.push(e));
  call = createDispatcher(createApi(session, hub));
}

/** Resolves once an event the windows were sent satisfies `check`. */
const heard = (what: string, check: (event: ApiEvent) => boolean): Promise<void> =>
  until(
    what,
    (notify) => hub.subscribe(notify),
    () => events.some(check),
  );

const update = (patch: unknown): Promise<ApiReply> => call('loupe:settings.update', [patch]);
const saved = async (): Promise<Settings> =>
  JSON.parse(await readFile(join(dir, 'data', 'settings.json'), 'utf8')) as Settings;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'loupe-prefs-'));
  events = [];
});

afterEach(async () => {
  await session?.close();
  await cleanup();
  await rm(dir, { recursive: true, force: true });
});

describe('upstream-certificate exceptions', () => {
  it('take effect for the next connection to a self-signed upstream, and their removal too', async (t) => {
    needTool(t, 'curl');
    needTool(t, 'openssl');
    await open();
    const { cert, key } = selfSigned('self.test');
    const up = await httpsUpstream({ context: tls.createSecureContext({ cert, key }) }, (_q, res) =>
      res.end('accepted'),
    );
    const get = () =>
      curlVia(session.proxy.url, `https://self.test:${up.port}/`, [
        '--cacert',
        session.ca.certPath,
      ]);

    const refused = await get();
    expect(refused.status).toBe(502);
    expect(refused.body.toString()).toMatch(/self-signed/);

    const reply = await update({ allowInvalidUpstreamCertificates: ['self.test'] });
    expect(reply.ok).toBe(true);
    const accepted = await get();
    expect(accepted.status).toBe(200);
    expect(accepted.body.toString()).toBe('accepted');
    expect((await saved()).allowInvalidUpstreamCertificates).toEqual(['self.test']);

    // Taken back: the connection made under the exception is not reused for the host.
    expect((await update({ allowInvalidUpstreamCertificates: [] })).ok).toBe(true);
    expect((await get()).status).toBe(502);
  });

  it('refuses a bad pattern in words, and saves nothing', async () => {
    await open();
    const reply = await update({ allowInvalidUpstreamCertificates: ['https://self.test'] });
    expect(reply).toMatchObject({ ok: false, error: { code: 'invalid_argument' } });
    expect(!reply.ok && reply.error.message).toMatch(/without a scheme/);
    expect(session.settings.get().allowInvalidUpstreamCertificates).toEqual([]);
  });
});

describe('HTTP/3 steering', () => {
  it('turning stripAltSvcH3 off and on changes the Alt-Svc the client sees', async () => {
    await open();
    const { port } = await httpUpstream((_q, res) => {
      res.setHeader('Alt-Svc', 'h3=":443"; ma=86400, h2=":443"');
      res.end('hi');
    });
    const altSvc = async (): Promise<string | undefined> => {
      const r = await viaProxy(session.proxy.port, `http://127.0.0.1:${port}/`);
      const i = r.rawHeaders.findIndex((h) => h.toLowerCase() === 'alt-svc');
      return i < 0 ? undefined : r.rawHeaders[i + 1];
    };
    expect(await altSvc()).toBe('h2=":443"');
    expect((await update({ stripAltSvcH3: false })).ok).toBe(true);
    expect(await altSvc()).toBe('h3=":443"; ma=86400, h2=":443"');
    expect((await update({ stripAltSvcH3: true })).ok).toBe(true);
    expect(await altSvc()).toBe('h2=":443"');
    expect((await saved()).stripAltSvcH3).toBe(true);
  });
});

/** A free loopback port (listened on, then released). */
async function freePort(): Promise<number> {
  const server = net.createServer();
  const port = await listen(server, '127.0.0.1');
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/** Sends a keep-alive GET on an open socket and resolves with the response's status line. */
function getOn(socket: net.Socket, url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (d: Buffer): void => {
      text += d.toString('latin1');
      if (!text.includes('\r\n\r\n')) return;
      socket.off('data', onData);
      resolve(text.split('\r\n', 1)[0]!);
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.write(`GET ${url} HTTP/1.1\r\nHost: ${new URL(url).host}\r\n\r\n`);
  });
}

describe('proxy port', () => {
  it('moves the running proxy: the new port serves, the old one refuses new connections, open ones finish', async () => {
    await open();
    const { port: upPort } = await httpUpstream((_q, res) => res.end('ok'));
    const url = `http://127.0.0.1:${upPort}/`;
    const oldPort = session.proxy.port;
    const open1 = net.connect(oldPort, '127.0.0.1');
    await new Promise((r) => open1.once('connect', r));
    expect(await getOn(open1, url)).toBe('HTTP/1.1 200 OK');

    const to = await freePort();
    const reply = await update({ proxyPort: to });
    expect(reply.ok).toBe(true);
    expect((reply as { result: Settings }).result.proxyPort).toBe(to);
    expect(session.proxy.port).toBe(to);
    expect(session.proxy.url).toBe(`http://127.0.0.1:${to}`);
    expect((await saved()).proxyPort).toBe(to);
    expect(events.find((e) => e.proxy)?.proxy).toMatchObject({ port: to });
    expect((await call('loupe:proxy.status', [])) as ApiReply).toMatchObject({
      ok: true,
      result: { port: to },
    });

    expect((await viaProxy(to, url)).body.toString()).toBe('ok');
    await expect(viaProxy(oldPort, url)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    // A connection made before the move still works.
    expect(await getOn(open1, url)).toBe('HTTP/1.1 200 OK');
    open1.destroy();
  });

  it('refuses a taken port in words: nothing saved, the proxy stays where it was', async () => {
    await open();
    const { port: upPort } = await httpUpstream((_q, res) => res.end('ok'));
    const holder = http.createServer();
    const taken = await listen(holder, '127.0.0.1');
    try {
      const before = session.proxy.port;
      const reply = await update({ proxyPort: taken, captureBodyCap: 1234 });
      expect(reply).toMatchObject({ ok: false, error: { code: 'invalid_argument' } });
      expect(!reply.ok && reply.error.message).toContain(`port ${taken} is in use`);
      expect(session.proxy.port).toBe(before);
      expect(session.settings.get()).toMatchObject({
        proxyPort: DEFAULT_SETTINGS.proxyPort,
        captureBodyCap: DEFAULT_SETTINGS.captureBodyCap,
      });
      await expect(readFile(join(dir, 'data', 'settings.json'))).rejects.toMatchObject({
        code: 'ENOENT',
      });
      expect(events.some((e) => e.proxy || e.settings)).toBe(false);
      expect((await viaProxy(before, `http://127.0.0.1:${upPort}/`)).body.toString()).toBe('ok');
    } finally {
      await new Promise<void>((r) => holder.close(() => r()));
    }
  });

  it('does not move for a change refused for another reason', async () => {
    await open();
    const before = session.proxy.port;
    const to = await freePort();
    const reply = await update({ proxyPort: to, bypass: [{ pattern: 'a b', enabled: true }] });
    expect(reply).toMatchObject({ ok: false, error: { code: 'invalid_argument' } });
    expect(session.proxy.port).toBe(before);
    // Nothing was left listening on the port asked for.
    const probe = net.createServer();
    await new Promise<void>((r, j) => probe.once('error', j).listen(to, '127.0.0.1', r));
    await new Promise<void>((r) => probe.close(() => r()));
  });
});

describe('auto-learned bypass list', () => {
  const learned = (host: string) => ({
    host,
    reason: "The client rejected Loupe's certificate.",
    learnedAt: Date.now() - 1000,
    expiresAt: Date.now() + 23 * 3600 * 1000,
  });

  it('forgetLearned removes a host, persists the list and tells the windows', async () => {
    await open({ autoBypass: [learned('pinned.test'), learned('other.test')] });
    expect(session.learning.matches('pinned.test')).toBe(true);
    const reply = await call('loupe:settings.forgetLearned', ['pinned.test']);
    expect(reply.ok).toBe(true);
    const hosts = (s: Settings) => s.autoBypass.map((e) => e.host);
    expect(hosts((reply as { result: Settings }).result)).toEqual(['other.test']);
    expect(hosts(await saved())).toEqual(['other.test']);
    expect(session.learning.matches('pinned.test')).toBe(false);
    await heard('the shorter list in a settings event', (e) => e.settings?.autoBypass.length === 1);
  });

  it('a changed lifetime applies to the next host learned, which every window hears of', async (t) => {
    needTool(t, 'curl');
    await open();
    expect((await update({ autoBypassHours: 2 })).ok).toBe(true);
    const { port } = await httpUpstream((_q, res) => res.end('unused'));
    // curl does not trust Loupe's CA: it rejects the certificate, which is what pinning looks like.
    const r = await curlVia(session.proxy.url, `https://self.test:${port}/`);
    expect(r.code).toBe(60);
    await heard(
      'the learned host in a settings event',
      (e) => e.settings?.autoBypass[0]?.host === 'self.test',
    );
    expect(session.settings.get().autoBypass).toHaveLength(1);
    const [entry] = session.settings.get().autoBypass;
    expect(entry!.host).toBe('self.test');
    expect(entry!.expiresAt - entry!.learnedAt).toBe(2 * 3600 * 1000);
  });

  it('forgetLearned of a host not on the list is not_found', async () => {
    await open({ autoBypass: [learned('pinned.test')] });
    const reply = await call('loupe:settings.forgetLearned', ['nope.test']);
    expect(reply).toMatchObject({ ok: false, error: { code: 'not_found' } });
    expect(session.learning.matches('pinned.test')).toBe(true);
  });
});
