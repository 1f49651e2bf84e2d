/**
 * The headless UI server over real sockets: the token, Host and Origin guards on the page and on
 * the WebSocket, and the contract carried over it (calls, validation, live events) against a
 * real session with traffic through its proxy.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { ApiEvent, ApiReply, WireMessage } from '../../src-common/api/contract';

type Reply = { id: number } & ApiReply;
import { openSession, type Session } from '../services/session';
import { makeFlow, makeRequest } from '../test-support/factories';
import { HAR_FIXTURE_DIR } from '../test-support/har-fixtures';
import { cleanup, httpUpstream, viaProxy } from '../test-support/servers';
import { deadline, deferred } from '../test-support/wait';
import { startUiServer, type ClientClosed, type UiServer } from './ui-server';

let dir: string;
let session: Session;
let ui: UiServer;
let upstreamPort: number;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'loupe-ui-'));
  const rendererDir = join(dir, 'renderer');
  await import('node:fs/promises').then((fs) => fs.mkdir(rendererDir));
  await writeFile(join(rendererDir, 'index.html'), '<!doctype html><title>Loupe</title>');
  await writeFile(join(rendererDir, 'app.js'), 'console.log("loupe")');
  await writeFile(join(dir, 'secret.txt'), 'not for the UI');
  session = await openSession({
    dataDir: join(dir, 'data'),
    host: '127.0.0.1',
    port: 0,
    version: '0.0.0-test',
    mode: 'headless',
  });
  ui = await startUiServer({ session, port: 0, rendererDir });
  ({ port: upstreamPort } = await httpUpstream((req, res) => {
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify({ path: req.url }));
  }));
});

afterEach(async () => {
  await ui.close();
  await session.close();
  await cleanup();
  await rm(dir, { recursive: true, force: true });
});

/** A GET to the UI server with exactly these headers. */
function get(
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1',
      port: ui.port,
      path,
      headers: { Host: `127.0.0.1:${ui.port}`, ...headers },
    });
    req.on('response', (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

interface Client {
  ws: WebSocket;
  call(channel: string, ...args: unknown[]): Promise<Reply>;
  events: ApiEvent[];
  nextEvent(pred: (e: ApiEvent) => boolean): Promise<ApiEvent>;
}

/** Opens the API socket; rejects with the HTTP status when the server refuses the upgrade. */
function connect(
  query = `token=${ui.token}`,
  headers: Record<string, string> = { Origin: `http://127.0.0.1:${ui.port}` },
): Promise<Client> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${ui.port}/api?${query}`, { headers });
    const events: ApiEvent[] = [];
    const waiting = new Map<number, (m: Reply) => void>();
    const watchers: { pred: (e: ApiEvent) => boolean; done: (e: ApiEvent) => void }[] = [];
    let next = 1;
    ws.on('message', (data) => {
      const message = JSON.parse(String(data)) as WireMessage;
      if ('event' in message) {
        events.push(message.payload);
        for (const w of [...watchers]) {
          if (w.pred(message.payload)) {
            watchers.splice(watchers.indexOf(w), 1);
            w.done(message.payload);
          }
        }
      } else {
        waiting.get(message.id)?.(message as Reply);
      }
    });
    ws.on('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.on('error', reject);
    ws.on('open', () =>
      resolve({
        ws,
        events,
        call(channel, ...args) {
          const id = next++;
          ws.send(JSON.stringify({ id, channel, args }));
          return new Promise((r) => waiting.set(id, r));
        },
        nextEvent(pred) {
          const seen = events.find(pred);
          if (seen) return Promise.resolve(seen);
          return new Promise((done) => watchers.push({ pred, done }));
        },
      }),
    );
  });
}

describe('UI server guards', () => {
  it('prints a loopback URL with a long random token', () => {
    expect(ui.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]{32}$/);
  });

  it('serves the page only with the token, with a strict CSP', async () => {
    const ok = await get(`/?token=${ui.token}`);
    expect(ok.status).toBe(200);
    expect(ok.body).toContain('<title>Loupe</title>');
    expect(ok.headers['content-security-policy']).toContain("default-src 'none'");
    expect(ok.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(ok.headers['referrer-policy']).toBe('no-referrer');
    for (const path of ['/', '/?token=', `/?token=${ui.token.slice(1)}x`, '/index.html']) {
      const refused = await get(path);
      expect(refused.status, path).toBe(403);
      expect(refused.body).toMatch(/needs the token/);
    }
  });

  it.each([
    'evil.example',
    `evil.example:${0}`,
    'localhost.evil.example',
    '127.0.0.1.evil.example',
  ])('refuses a foreign Host %j (DNS rebinding) even with the token', async (host) => {
    const res = await get(`/?token=${ui.token}`, { Host: host.replace(':0', `:${ui.port}`) });
    expect(res.status).toBe(403);
    expect(res.body).toMatch(/is not this server/);
  });

  it('serves assets but nothing outside the renderer folder', async () => {
    expect((await get('/app.js')).status).toBe(200);
    expect((await get('/app.js')).headers['content-type']).toMatch(/^text\/javascript/);
    expect((await get('/%E0%A4%A')).status).toBe(400);
    for (const path of ['/../secret.txt', '/%2e%2e/secret.txt', '/..%2fsecret.txt', '/nope.js']) {
      const res = await get(path);
      expect(res.status, path).toBe(404);
      expect(res.body).not.toContain('not for the UI');
    }
  });

  it.each([
    ['no token', 'x=1', undefined, 'HTTP 401'],
    ['a wrong token', 'token=wrong', undefined, 'HTTP 401'],
    ['no Origin', undefined, {}, 'HTTP 403'],
    ['a foreign Origin', undefined, { Origin: 'http://evil.example' }, 'HTTP 403'],
    [
      'a foreign Host',
      undefined,
      { Origin: 'http://evil.example', Host: 'evil.example' },
      'HTTP 403',
    ],
  ])('refuses a WebSocket with %s', async (_what, query, headers, status) => {
    await expect(connect(query, headers)).rejects.toThrow(status);
  });
});

describe('the contract over the WebSocket', () => {
  it('answers calls, validates arguments and names unknown methods', async () => {
    const c = await connect();
    const status = await c.call('loupe:proxy.status');
    expect(status).toMatchObject({ ok: true, result: { url: session.proxy.url, recording: true } });
    expect(await c.call('loupe:proxy.setRecording', 'yes')).toMatchObject({
      ok: false,
      error: { code: 'invalid_argument', message: expect.stringMatching(/true or false/) },
    });
    expect(await c.call('loupe:flows.drop')).toMatchObject({
      ok: false,
      error: { code: 'unknown_method' },
    });
    expect(await c.call('loupe:flows.get', 'no-such-flow')).toMatchObject({
      ok: false,
      error: { code: 'not_found' },
    });
    const info = await c.call('loupe:system.info');
    expect(info).toMatchObject({
      ok: true,
      result: {
        mode: 'headless',
        version: '0.0.0-test',
        ca: { certPath: join(dir, 'data', 'ca.pem') },
      },
    });
    c.ws.close();
  });

  it('closes the socket on a frame that is not a call', async () => {
    const c = await connect();
    const closed = new Promise<[number, string]>((r) =>
      c.ws.on('close', (code, reason) => r([code, String(reason)])),
    );
    c.ws.send('{"hello":');
    expect(await closed).toEqual([1008, 'the message is not JSON']);
  });

  it('pushes traffic live, serves bodies, and stops capturing when Record is off', async () => {
    const c = await connect();
    const res = await viaProxy(session.proxy.port, `http://127.0.0.1:${upstreamPort}/first`);
    expect(res.status).toBe(200);
    const added = await c.nextEvent(
      (e) => (e.flows?.added.length ?? 0) > 0 || (e.flows?.updated.length ?? 0) > 0,
    );
    expect(added.stats?.flows).toBe(1);
    const listed = await c.call('loupe:flows.list');
    expect(
      listed.ok && (listed.result as { request: { url: string } }[]).map((f) => f.request.url),
    ).toEqual([`http://127.0.0.1:${upstreamPort}/first`]);
    const flow = (listed as { result: { id: string; response: { body: { bodyId: string } } }[] })
      .result[0]!;
    await c.nextEvent(
      (e) =>
        !!e.flows?.updated.some((f) => f.id === flow.id && f.state === 'complete') ||
        !!e.flows?.added.some((f) => f.id === flow.id && f.state === 'complete'),
    );
    const full = await c.call('loupe:flows.get', flow.id);
    const bodyId = (full as { result: { response: { body: { bodyId: string } } } }).result.response
      .body.bodyId;
    const body = await c.call('loupe:flows.body', bodyId);
    expect(
      body.ok && Buffer.from((body.result as { base64: string }).base64, 'base64').toString(),
    ).toBe('{"path":"/first"}');

    const stopped = await c.call('loupe:proxy.setRecording', false);
    expect(stopped).toMatchObject({ ok: true, result: { recording: false } });
    await c.nextEvent((e) => e.proxy?.recording === false);
    const second = await viaProxy(session.proxy.port, `http://127.0.0.1:${upstreamPort}/second`);
    expect(JSON.parse(second.body.toString())).toEqual({ path: '/second' });
    expect(((await c.call('loupe:flows.list')) as { result: unknown[] }).result).toHaveLength(1);

    await c.call('loupe:flows.clear');
    await c.nextEvent((e) => e.flows?.cleared === true);
    expect(
      ((await c.call('loupe:flows.stats')) as { result: { flows: number } }).result.flows,
    ).toBe(0);
    c.ws.close();
  });

  it('sends a long list whole and in order (serialised in slices)', async () => {
    const ids: string[] = [];
    for (let i = 1; i <= 5001; i++) {
      const flow = makeFlow({ seq: i });
      ids.push(flow.id);
      session.flows.upsert(flow);
    }
    const c = await connect();
    const listed = await c.call('loupe:flows.list');
    expect(listed.ok && (listed.result as { id: string }[]).map((f) => f.id)).toEqual(ids);
    const empty = await c.call('loupe:flows.clear');
    expect(empty).toMatchObject({ ok: true, result: null });
    expect(await c.call('loupe:flows.list')).toMatchObject({ ok: true, result: [] });
    c.ws.close();
  });

  it('saves and applies settings, refusing bad ones in words', async () => {
    const c = await connect();
    const columns = [{ id: 'host', visible: false, width: 200 }];
    const saved = await c.call('loupe:settings.update', { ui: { columns } });
    expect(saved).toMatchObject({ ok: true, result: { ui: { columns } } });
    const file = JSON.parse(await readFile(join(dir, 'data', 'settings.json'), 'utf8'));
    expect(file.ui.columns).toEqual(columns);
    const bad = await c.call('loupe:settings.update', {
      bypass: [{ pattern: '*.', enabled: true }],
    });
    expect(bad).toMatchObject({
      ok: false,
      error: { code: 'invalid_argument', message: expect.stringMatching(/bypass entry 1/) },
    });
    // The learned list itself is main's: a client forgets hosts, it never writes the list.
    const refused = await c.call('loupe:settings.update', { autoBypass: [] });
    expect(refused).toMatchObject({ ok: false, error: { code: 'invalid_argument' } });
    c.ws.close();
  });
});

describe('the per-client cap on what is queued and unread', () => {
  it('closes a client that asks for replies it does not read (1013) and sends it nothing more, while a reading client is answered', async () => {
    const cap = 1024 * 1024;
    const closedByServer = deferred<ClientClosed>();
    await ui.close();
    ui = await startUiServer({
      session,
      port: 0,
      rendererDir: join(dir, 'renderer'),
      maxBufferedBytes: cap,
      onClientClosed: (closed) => closedByServer.resolve(closed),
    });
    const path = 'a-long-path/'.repeat(170);
    for (let i = 0; i < 400; i++) {
      const url = `http://big.example.test/${path}${i}`;
      session.flows.upsert(makeFlow({ request: makeRequest({ url }) }));
    }
    const reader = await connect();
    const replyBytes = JSON.stringify(await reader.call('loupe:flows.list')).length;
    expect(replyBytes).toBeGreaterThan(cap / 2);

    const stalled = await connect();
    const raw = (stalled.ws as unknown as { _socket: Socket })._socket;
    raw.pause();
    const calls = 40;
    let answered = 0;
    for (let i = 0; i < calls; i++) void stalled.call('loupe:flows.list').then(() => answered++);

    const readerLists = async (): Promise<void> => {
      for (let i = 0; i < calls; i++) {
        const listed = await reader.call('loupe:flows.list');
        expect(listed.ok && (listed.result as unknown[]).length).toBe(400);
      }
    };
    const [closed] = await Promise.all([
      deadline(closedByServer.promise, 'the server closing the client that does not read'),
      readerLists(),
    ]);
    expect(closed).toMatchObject({ code: 1013, reason: expect.stringMatching(/too far behind/) });
    expect(closed.buffered).toBeLessThanOrEqual(cap + 2 * replyBytes);
    expect(reader.ws.readyState).toBe(WebSocket.OPEN);

    // Reading again, it gets what was queued before the close, then the close in words.
    const seen = new Promise<[number, string]>((r) =>
      stalled.ws.on('close', (code, reason) => r([code, String(reason)])),
    );
    raw.resume();
    expect(await deadline(seen, 'the close frame behind the queued replies')).toEqual([
      1013,
      closed.reason,
    ]);
    expect(answered).toBeLessThan(calls / 2);
    reader.ws.close();
  });
});

/** A request to the UI server with exactly these headers and this body (chunked when no length). */
function send(
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: Buffer | Buffer[],
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({
      method,
      host: '127.0.0.1',
      port: ui.port,
      path,
      headers: { Host: `127.0.0.1:${ui.port}`, ...headers },
    });
    req.on('response', (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }),
      );
    });
    // The server may answer and close before all of a refused body is sent.
    req.on('error', (err) => (req.writableEnded ? undefined : reject(err)));
    for (const chunk of Array.isArray(body) ? body : body ? [body] : []) req.write(chunk);
    req.end();
  });
}

const FIXTURES = HAR_FIXTURE_DIR;
const origin = (): Record<string, string> => ({ Origin: `http://127.0.0.1:${ui.port}` });
const uploadsIn = async (): Promise<string[]> =>
  (await import('node:fs/promises')).readdir(join(dir, 'data', 'uploads')).catch(() => []);

describe('POST /upload and GET /download', () => {
  it('takes an upload with the token and Origin, which har.import then opens once', async () => {
    const har = await readFile(join(FIXTURES, 'insomnia.har'));
    const up = await send('POST', `/upload?token=${ui.token}`, origin(), har);
    expect(up.status).toBe(200);
    expect(up.headers['content-type']).toMatch(/^application\/json/);
    const { uploadId } = JSON.parse(up.body) as { uploadId: string };
    expect(uploadId).toMatch(/^[A-Za-z0-9_-]+$/);
    const c = await connect();
    const opened = await c.call('loupe:har.import', {
      kind: 'upload',
      uploadId,
      name: 'insomnia.har',
    });
    expect(opened).toMatchObject({
      ok: true,
      result: { kind: 'imported', name: 'insomnia.har' },
    });
    expect(await uploadsIn()).toEqual([]);
    const again = await c.call('loupe:har.import', { kind: 'upload', uploadId, name: 'x.har' });
    expect(again).toMatchObject({ ok: false, error: { code: 'not_found' } });
    c.ws.close();
  });

  it('refuses an upload without the token, from another origin or without one', async () => {
    const body = Buffer.from('{}');
    const noToken = await send('POST', '/upload?token=wrong', origin(), body);
    expect(noToken.status).toBe(401);
    const evil = await send(
      'POST',
      `/upload?token=${ui.token}`,
      { Origin: 'http://evil.test' },
      body,
    );
    expect(evil.status).toBe(403);
    const none = await send('POST', `/upload?token=${ui.token}`, {}, body);
    expect(none.status).toBe(403);
    const rebinding = await send(
      'POST',
      `/upload?token=${ui.token}`,
      { ...origin(), Host: 'evil.test' },
      body,
    );
    expect(rebinding.status).toBe(403);
    expect((await send('GET', `/upload?token=${ui.token}`, origin())).status).toBe(405);
    expect(await uploadsIn()).toEqual([]);
  });

  it('refuses an upload over the cap, declared or streamed, and keeps nothing of it', async () => {
    await ui.close();
    ui = await startUiServer({
      session,
      port: 0,
      rendererDir: join(dir, 'renderer'),
      maxUploadBytes: 1000,
    });
    const declared = await send('POST', `/upload?token=${ui.token}`, origin(), Buffer.alloc(1001));
    expect(declared.status).toBe(413);
    expect(JSON.parse(declared.body).error).toMatch(/larger than/);
    const chunks = Array.from({ length: 5 }, () => Buffer.alloc(400, 'a'));
    const streamed = await send('POST', `/upload?token=${ui.token}`, origin(), chunks);
    expect(streamed.status).toBe(413);
    expect(await uploadsIn()).toEqual([]);
    const fits = await send('POST', `/upload?token=${ui.token}`, origin(), Buffer.alloc(1000));
    expect(fits.status).toBe(200);
  });

  it('serves a finished export as an attachment with the token only; unknown jobs are 404', async () => {
    const res = await viaProxy(session.proxy.port, `http://127.0.0.1:${upstreamPort}/exported`);
    expect(res.status).toBe(200);
    const c = await connect();
    const started = await c.call('loupe:har.export', { sessionId: 'live', scope: 'all' });
    expect(started).toMatchObject({ ok: true, result: { kind: 'export', state: 'running' } });
    const job = (started as { result: { id: string; downloadUrl: string } }).result;
    expect(job.downloadUrl).toBe(`/download/${job.id}`);
    await c.nextEvent((e) => !!e.jobs?.some((j) => j.id === job.id && j.state === 'done'));

    const file = await send('GET', `${job.downloadUrl}?token=${ui.token}`, {});
    expect(file.status).toBe(200);
    expect(file.headers['content-disposition']).toMatch(
      /^attachment; filename="loupe-\d{4}-\d\d-\d\d-\d{4}-all\.har"$/,
    );
    const har = JSON.parse(file.body) as { log: { entries: { request: { url: string } }[] } };
    expect(har.log.entries.map((e) => e.request.url)).toEqual([
      `http://127.0.0.1:${upstreamPort}/exported`,
    ]);
    expect((await send('GET', `${job.downloadUrl}?token=nope`, {})).status).toBe(401);
    expect((await send('GET', `${job.downloadUrl}`, {})).status).toBe(401);
    expect((await send('GET', `/download/export-999?token=${ui.token}`, {})).status).toBe(404);
    expect(
      (await send('GET', `${job.downloadUrl}?token=${ui.token}`, { Origin: 'http://evil.test' }))
        .status,
    ).toBe(403);
    c.ws.close();
  });
});
