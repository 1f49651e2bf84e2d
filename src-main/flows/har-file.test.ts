import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import zlib from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { HarLog } from '../../src-common/har/types';
import { makeFlow, makeTunnel } from '../test-support/factories';
import { validateHar } from '../test-support/har-schema';
import { BodyStore } from './body-store';
import { writeHarFile } from './har-file';

let dir: string;
let bodies: BodyStore;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'loupe-har-'));
  bodies = new BodyStore({ dir: join(dir, 'bodies') });
});
afterEach(async () => {
  await bodies.close();
  rmSync(dir, { recursive: true, force: true });
});

function store(
  id: string,
  data: Buffer,
): { size: number; captured: number; truncated: boolean; bodyId: string } {
  bodies.append(id, data);
  bodies.finish(id);
  return { size: data.length, captured: data.length, truncated: false, bodyId: id };
}

describe('HAR file', () => {
  it('writes every kind of flow as valid HAR 1.2 with bodies, cookies, forms and errors', async () => {
    const json = Buffer.from(
      JSON.stringify({ items: Array.from({ length: 300 }, (_, i) => i % 7) }),
    );
    const gz = zlib.gzipSync(json);
    const binary = Buffer.from([0, 0xff, 0x10, 0x80]);
    const form = Buffer.from('name=Ada+Lovelace&lang=en&lang=fr');
    const flows = [
      makeFlow({
        id: 'gz',
        request: {
          ...makeFlow().request,
          headers: [
            ['Host', 'api.example.test'],
            ['Cookie', 'sid=1; theme=dark'],
          ],
        },
        response: {
          ...makeFlow().response!,
          headers: [
            ['Content-Type', 'application/json'],
            ['Content-Encoding', 'gzip'],
            [
              'Set-Cookie',
              'sid=2; Path=/; HttpOnly; Secure; Expires=Wed, 21 Oct 2026 07:28:00 GMT',
            ],
          ],
          body: store('gz:res', gz),
        },
      }),
      makeFlow({
        id: 'form',
        request: {
          ...makeFlow().request,
          method: 'POST',
          headers: [
            ['Host', 'api.example.test'],
            ['Content-Type', 'application/x-www-form-urlencoded'],
          ],
          body: store('form:req', form),
        },
        response: {
          ...makeFlow().response!,
          headers: [['Content-Type', 'image/png']],
          body: store('form:res', binary),
        },
      }),
      makeFlow({
        id: 'cut',
        response: {
          ...makeFlow().response!,
          body: { size: 5000, captured: 1000, truncated: true, bodyId: 'cut:res' },
        },
      }),
      makeFlow({
        id: 'failed',
        state: 'error',
        response: undefined,
        error: {
          code: 'connection_refused',
          message: 'api.example.test refused the connection.',
          phase: 'connect',
        },
        timings: { blocked: -1, dns: 1, connect: -1, ssl: -1, send: -1, wait: -1, receive: -1 },
      }),
      makeFlow({
        id: 'refused',
        request: { ...makeFlow().request, method: '-', url: '' },
        response: undefined,
        state: 'error',
        error: { code: 'bad_request', message: 'bare LF', phase: 'request' },
      }),
      makeTunnel({ id: 'tunnel' }),
      makeFlow({ id: 'v6', server: { host: '::1', port: 80, address: '::1' } }),
    ];
    bodies.append('cut:res', Buffer.alloc(1000, 'a'));
    bodies.finish('cut:res');
    const path = join(dir, 'out.har');
    const progress: number[] = [];
    await writeHarFile(path, flows, bodies, {
      creatorVersion: '9.9.9',
      onProgress: (n) => progress.push(n),
    });
    expect(progress).toEqual([1, 2, 3, 4, 5, 6, 7]);

    const doc = JSON.parse(readFileSync(path, 'utf8')) as HarLog;
    expect(validateHar(doc)).toEqual([]);
    expect(doc.log.creator).toEqual({ name: 'Loupe', version: '9.9.9' });
    const byId = Object.fromEntries(doc.log.entries.map((e) => [e._loupeId, e]));

    const g = byId.gz!;
    expect(g.response.content.text).toBe(json.toString());
    expect(g.response.content.size).toBe(json.length);
    expect(g.response.content.compression).toBe(json.length - gz.length);
    expect(g.response.bodySize).toBe(gz.length);
    expect(g.request.cookies).toEqual([
      { name: 'sid', value: '1' },
      { name: 'theme', value: 'dark' },
    ]);
    expect(g.response.cookies).toEqual([
      {
        name: 'sid',
        value: '2',
        path: '/',
        httpOnly: true,
        secure: true,
        expires: '2026-10-21T07:28:00.000Z',
      },
    ]);
    expect(g.request.queryString).toEqual([
      { name: 'page', value: '2' },
      { name: 'q', value: 'a b' },
    ]);
    expect(g.startedDateTime).toBe('2026-11-24T12:00:00.123Z');
    expect(g.time).toBeCloseTo(8.8);
    expect(g.request.headersSize).toBe(
      'GET /items?page=2&q=a%20b HTTP/1.1\r\n'.length +
        'Host: api.example.test\r\n'.length +
        'Cookie: sid=1; theme=dark\r\n'.length +
        2,
    );

    const f = byId.form!;
    expect(f.request.postData).toEqual({
      mimeType: 'application/x-www-form-urlencoded',
      text: 'name=Ada+Lovelace&lang=en&lang=fr',
      params: [
        { name: 'name', value: 'Ada Lovelace' },
        { name: 'lang', value: 'en' },
        { name: 'lang', value: 'fr' },
      ],
    });
    expect(f.response.content).toMatchObject({
      encoding: 'base64',
      text: binary.toString('base64'),
      size: 4,
    });

    expect(byId.cut!.response.content.size).toBe(5000);
    expect(byId.cut!._truncated).toEqual({ response: true });
    expect(byId.cut!.response.content.comment).toContain('first 1000 of 5000 bytes');

    expect(byId.failed!.response.status).toBe(0);
    expect(byId.failed!._error).toEqual({
      code: 'connection_refused',
      message: 'api.example.test refused the connection.',
    });
    expect(byId.failed!.timings).toMatchObject({
      dns: 1,
      connect: -1,
      send: 0,
      wait: 0,
      receive: 0,
    });
    expect(byId.refused!.request.url).toBe('about:blank');

    expect(byId.tunnel!.request).toMatchObject({
      method: 'CONNECT',
      url: 'https://secure.example.test:443/',
    });
    expect(byId.tunnel!._tunnel).toMatchObject({ protocol: 'tls', bytesUp: 517, bytesDown: 4096 });
    expect(byId.v6!.serverIPAddress).toBe('::1');
  });

  it('leaves an existing file untouched and no litter when writing fails', async () => {
    const path = join(dir, 'out.har');
    writeFileSync(path, 'previous export');
    const poisoned = makeFlow({
      response: {
        ...makeFlow().response!,
        body: { size: 1, captured: 1, truncated: false, bodyId: 'x' },
      },
    });
    const broken = { read: () => Promise.reject(new Error('disk gone')) } as unknown as BodyStore;
    await expect(writeHarFile(path, [poisoned], broken, { creatorVersion: '1' })).rejects.toThrow(
      'disk gone',
    );
    expect(readFileSync(path, 'utf8')).toBe('previous export');
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});
