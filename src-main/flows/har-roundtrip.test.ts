/**
 * Export → import → export: a Loupe HAR read back and written again is the same file, byte for
 * byte; and any HAR (the fixtures from other tools) read, written and read again gives the same
 * flows. Real files on disk, the real body store, the HAR 1.2 schema.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import zlib from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BodyInfo, Flow, HeaderPair, HttpFlow } from '../../src-common/flow';
import { importHar, type HarImport } from '../../src-common/har/import';
import type { HarLog } from '../../src-common/har/types';
import {
  makeBody,
  makeFlow,
  makeRequest,
  makeResponse,
  makeTunnel,
} from '../test-support/factories';
import { HAR_FIXTURES, harFixture } from '../test-support/har-fixtures';
import { validateHar } from '../test-support/har-schema';
import { BodyStore } from './body-store';
import { writeHarFile, type BodyReader } from './har-file';

let dir: string;
let store: BodyStore;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'loupe-roundtrip-'));
  store = new BodyStore({ dir: join(dir, 'bodies'), memoryBudget: 1 << 20 });
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** An imported session's bodies, read the way the HAR service reads them. */
const reader = (bodies: Map<string, Uint8Array>): BodyReader => ({
  read: (id) => {
    const bytes = bodies.get(id);
    return bytes ? Promise.resolve(Buffer.from(bytes)) : Promise.reject(new Error(`no body ${id}`));
  },
});

async function write(name: string, flows: readonly Flow[], bodies: BodyReader): Promise<string> {
  const path = join(dir, name);
  await writeHarFile(path, flows, bodies, { creatorVersion: '1.2.3' });
  return readFileSync(path, 'utf8');
}

function read(text: string, idPrefix: string): HarImport {
  const result = importHar(text, { idPrefix });
  if (!result.ok) throw new Error(result.error);
  return result.value;
}

/** Puts `data` in the store as captured: the first `keep` bytes of it. */
function stored(id: string, data: Buffer, keep = data.length, extra: Partial<BodyInfo> = {}) {
  store.append(id, data.subarray(0, keep));
  store.finish(id);
  return makeBody({
    size: data.length,
    captured: keep,
    truncated: keep < data.length,
    bodyId: id,
    ...extra,
  });
}

/**
 * One of each kind of flow Loupe records. Ids are the ones an import with prefix `rt.` gives
 * (`rt.1`…, in order), because the export writes each flow's id (`_loupeId`): with the same ids
 * the two files can be equal to the byte.
 */
function session(): Flow[] {
  const json = Buffer.from(JSON.stringify({ items: [1, 2, 3], name: 'Ada ✓' }));
  const gzJson = zlib.gzipSync(
    Buffer.from(JSON.stringify({ list: Array.from({ length: 200 }, (_, i) => i) })),
  );
  const decodedLength = zlib.gunzipSync(gzJson).length;
  const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0xff, 0xfe, 0x80]);
  const prose = Buffer.from('Loupe keeps the first part of long bodies. '.repeat(120));
  const form = Buffer.from('name=Ada+Lovelace&lang=en&lang=fr&note=50%25');
  const odd: HeaderPair[] = [
    ['Host', 'api.example.test'],
    ['X-Dup', 'one'],
    ['x-dup', 'two'],
    ['ACCEPT', 'application/json'],
    ['Cookie', 'sid=1; theme=dark'],
    ['x-Mixed-CASE', ' spaced  value '],
  ];
  const flows: Flow[] = [
    makeFlow({
      id: 'rt.1',
      request: makeRequest({ url: 'https://api.example.test/items?page=2&q=a%20b', headers: odd }),
      response: makeResponse({
        headers: [
          ['Content-Type', 'application/json; charset=utf-8'],
          ['Set-Cookie', 'sid=2; Path=/; HttpOnly'],
          ['set-cookie', 'lang=en; Max-Age=60'],
          ['X-DUP', 'a'],
          ['x-dup', 'b'],
        ],
        body: stored('rt.1:res', json),
      }),
      server: { host: 'api.example.test', port: 443, address: '2001:db8::1' },
      tls: {
        client: {
          version: 'TLSv1.3',
          cipher: 'TLS_AES_128_GCM_SHA256',
          alpn: 'http/1.1',
          sni: 'api.example.test',
        },
        upstream: {
          version: 'TLSv1.3',
          alpn: 'http/1.1',
          verified: true,
          chain: [
            {
              subject: 'CN=api.example.test',
              issuer: 'CN=Test CA',
              validFrom: '2026-01-01T00:00:00.000Z',
              validTo: '2027-01-01T00:00:00.000Z',
              san: ['api.example.test'],
              fingerprint256: 'AA:BB:CC',
            },
          ],
        },
      },
      timings: {
        blocked: 0.25,
        dns: 1.5,
        connect: 30.125,
        ssl: 20.5,
        send: 0.2,
        wait: 12.75,
        receive: 0.5,
      },
      tags: ['decrypted'],
    }),
    makeFlow({
      id: 'rt.2',
      request: makeRequest({
        method: 'POST',
        headers: [
          ['Host', 'api.example.test'],
          ['Content-Type', 'application/json'],
        ],
        body: stored('rt.2:req', json),
      }),
      response: makeResponse({
        headers: [
          ['Content-Type', 'application/json'],
          ['Content-Encoding', 'gzip'],
          ['Location', '/items/7'],
        ],
        // Stored as on the wire: gzip. The export decodes it.
        body: stored('rt.2:res', gzJson, gzJson.length, { decodedSize: decodedLength }),
        status: 201,
        statusText: 'Created',
      }),
      connection: { clientConnectionId: 'c1', upstreamConnectionId: 'u1', reused: true },
    }),
    makeFlow({
      id: 'rt.3',
      request: makeRequest({
        method: 'POST',
        headers: [['Content-Type', 'application/x-www-form-urlencoded']],
        body: stored('rt.3:req', form),
      }),
      response: makeResponse({
        headers: [['Content-Type', 'image/png']],
        body: stored('rt.3:res', png),
      }),
    }),
    makeFlow({
      id: 'rt.4',
      response: makeResponse({
        headers: [['Content-Type', 'text/plain']],
        body: stored('rt.4:res', prose, 1000),
      }),
    }),
    makeFlow({
      id: 'rt.5',
      request: makeRequest({
        url: 'http://ws.example.test/chat',
        headers: [
          ['Host', 'ws.example.test'],
          ['Upgrade', 'websocket'],
          ['Connection', 'Upgrade'],
          ['Sec-WebSocket-Key', 'dGhlIHNhbXBsZSBub25jZQ=='],
          ['Sec-WebSocket-Version', '13'],
        ],
      }),
      response: makeResponse({
        status: 101,
        statusText: 'Switching Protocols',
        headers: [
          ['Upgrade', 'websocket'],
          ['Connection', 'Upgrade'],
          ['Sec-WebSocket-Accept', 's3pPLMBiTxaQ9kYGzzhZRbK+xOo='],
        ],
        body: makeBody(),
      }),
      websocket: {
        messages: [
          {
            direction: 'send',
            time: Date.UTC(2026, 10, 24, 12, 0, 1, 7),
            opcode: 1,
            size: 5,
            wireSize: 5,
            compressed: false,
            data: 'hello',
          },
          {
            direction: 'receive',
            time: Date.UTC(2026, 10, 24, 12, 0, 1, 9),
            opcode: 2,
            size: 4,
            wireSize: 4,
            compressed: false,
            data: 'AP/+gA==',
            encoding: 'base64',
          },
          {
            direction: 'receive',
            time: Date.UTC(2026, 10, 24, 12, 0, 2, 500),
            opcode: 1,
            size: 9,
            wireSize: 9,
            compressed: false,
            data: 'héllo ✓',
          },
          {
            direction: 'send',
            time: Date.UTC(2026, 10, 24, 12, 0, 3),
            opcode: 8,
            size: 6,
            wireSize: 6,
            compressed: false,
            data: 'done',
          },
        ],
        closeCode: 1000,
        closeReason: 'done',
        closedBy: 'client',
        messagesDropped: 0,
      },
    }),
    makeTunnel({
      id: 'rt.6',
      hello: {
        sni: 'bank.example.test',
        alpn: ['h2', 'http/1.1'],
        versions: ['TLSv1.3', 'TLSv1.2'],
      },
      tags: ['bypassed'],
    }),
    makeFlow({
      id: 'rt.7',
      state: 'error',
      response: undefined,
      error: {
        code: 'connection_refused',
        message: 'api.example.test refused the connection.',
        phase: 'connect',
      },
      timings: { blocked: -1, dns: 1.5, connect: -1, ssl: -1, send: -1, wait: -1, receive: -1 },
      connection: { clientConnectionId: 'c2', reused: false },
    }),
    makeTunnel({
      id: 'rt.8',
      state: 'error',
      error: { code: 'dns_failed', message: 'No such host.', phase: 'connect' },
      bytesUp: 0,
      bytesDown: 0,
      target: { host: '::1', port: 8443 },
      protocol: 'unknown',
    }),
    makeFlow({ id: 'rt.9', state: 'pending', response: undefined }),
    makeFlow({
      id: 'rt.10',
      request: makeRequest({
        method: '-',
        url: 'not a url',
        headers: [],
      }),
      response: undefined,
      state: 'error',
      error: { code: 'bad_request', message: 'The request line had a bare LF.', phase: 'request' },
    }),
    makeFlow({
      id: 'rt.11',
      response: makeResponse({
        headers: [['Content-Encoding', 'gzip']],
        // Not gzip at all: the export writes it as sent, saying why; so must the second one.
        body: stored('rt.11:res', Buffer.from([0x1f, 0x8b, 1, 2, 3])),
      }),
    }),
  ];
  return flows.map((f, i) => ({ ...f, seq: i + 1 }));
}

describe('HAR round trip', () => {
  it('writes a Loupe HAR, reads it back and writes the same file, byte for byte', async () => {
    const flows = session();
    const a = await write('a.har', flows, store);
    expect(validateHar(JSON.parse(a))).toEqual([]);

    const imported = read(a, 'rt.');
    // Loupe's own file is valid HAR: nothing to repair, nothing skipped.
    expect([imported.repairs, imported.skipped, imported.creator]).toEqual([[], 0, 'Loupe 1.2.3']);
    expect(imported.flows.map((f) => [f.id, f.kind, f.state])).toEqual(
      flows.map((f) => [f.id, f.kind, f.state]),
    );

    const b = await write('b.har', imported.flows, reader(imported.bodies));
    // Entry by entry first, for a readable difference; then the whole text.
    const entries = (text: string): unknown[] =>
      (JSON.parse(text) as { log: { entries: unknown[] } }).log.entries;
    expect(entries(b)).toEqual(entries(a));
    expect(b).toBe(a);
  });

  it('brings back what the file carries: headers in order, bodies, timings, messages', async () => {
    const flows = session();
    const imported = read(await write('a.har', flows, store), 'rt.');
    const byId = new Map(imported.flows.map((f) => [f.id, f]));
    const http = (id: string) => byId.get(id) as HttpFlow;
    const original = (id: string) => flows.find((f) => f.id === id) as HttpFlow;
    const body = (id: string) => Buffer.from(imported.bodies.get(id) ?? []);

    expect(http('rt.1').request.headers).toEqual(original('rt.1').request.headers);
    expect(http('rt.1').response!.headers).toEqual(original('rt.1').response!.headers);
    expect(http('rt.1').timings).toEqual(original('rt.1').timings);
    expect(http('rt.1').tls).toEqual(original('rt.1').tls);
    expect(http('rt.1').server).toEqual({
      host: 'api.example.test',
      port: 443,
      address: '2001:db8::1',
    });
    expect(body('rt.1:res').toString()).toBe(JSON.stringify({ items: [1, 2, 3], name: 'Ada ✓' }));
    // The gzip body comes back decoded, with its wire size and decoded size.
    const gz = http('rt.2').response!.body;
    expect(gz).toMatchObject({ size: original('rt.2').response!.body.size, contentDecoded: true });
    expect(gz.decodedSize).toBe(original('rt.2').response!.body.decodedSize);
    expect(JSON.parse(body('rt.2:res').toString())).toEqual({
      list: Array.from({ length: 200 }, (_, i) => i),
    });
    expect([...body('rt.3:res')]).toEqual([
      0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0xff, 0xfe, 0x80,
    ]);
    expect(http('rt.4').response!.body).toMatchObject({
      size: 5160,
      captured: 1000,
      truncated: true,
    });
    const ws = http('rt.5').websocket!;
    expect(ws.messages.map((m) => [m.direction, m.time, m.opcode, m.data, m.encoding])).toEqual(
      original('rt.5').websocket!.messages.map((m) => [
        m.direction,
        m.time,
        m.opcode,
        m.data,
        m.encoding,
      ]),
    );
    expect(byId.get('rt.6')).toEqual({ ...flows[5], client: { address: '', port: 0 } });
    expect(byId.get('rt.7')!.error).toEqual(original('rt.7').error);
    expect(http('rt.10').request.url).toBe('not a url');
  });

  it('differs in one place only: the note on an encoded body cut at the capture cap', async () => {
    // Loupe stores wire bytes and exports what the captured part decodes to. Read back, the
    // decoded start is all there is, so the second export can no longer say how many wire
    // bytes were kept; it says what it holds instead. Text, sizes and flags stay the same.
    const prose = zlib.gzipSync(
      Buffer.from('Loupe keeps the first part of long bodies. '.repeat(2000)),
    );
    const flow = makeFlow({
      id: 'rt.1',
      seq: 1,
      response: makeResponse({
        headers: [['Content-Encoding', 'gzip']],
        body: stored('rt.1:res', prose, prose.length >> 1),
      }),
    });
    const a = JSON.parse(await write('a.har', [flow], store)) as HarLog;
    const imported = read(JSON.stringify(a), 'rt.');
    const b = JSON.parse(await write('b.har', imported.flows, reader(imported.bodies))) as HarLog;
    const [ca, cb] = [a, b].map((doc) => doc.log.entries[0]!.response.content);
    expect(ca!.comment).toBe(
      `Loupe kept the first ${prose.length >> 1} of ${prose.length} bytes of this body (the capture cap). The text is what the bytes captured decode to.`,
    );
    expect(cb!.comment).toBe(
      `Loupe has only the start of this body (the capture cap): its decoded text here, of ${prose.length} bytes sent.`,
    );
    expect({ ...cb, comment: '' }).toEqual({ ...ca, comment: '' });
    expect(validateHar(b)).toEqual([]);
  });

  it.each(HAR_FIXTURES)(
    '%s.har: read, written and read again gives the same flows and bodies, from valid HAR',
    async (name) => {
      const text = readFileSync(harFixture(name), 'utf8');
      const first = read(text, 'h.');
      const written = await write(`${name}.har`, first.flows, reader(first.bodies));
      // Whatever the file got wrong, what Loupe writes from it is valid HAR 1.2.
      expect(validateHar(JSON.parse(written))).toEqual([]);
      const second = read(written, 'h.');
      expect(second.repairs).toEqual([]);
      expect(second.flows).toEqual(first.flows);
      expect(second.bodies).toEqual(first.bodies);
    },
  );
});
