import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import zlib from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BodyInfo, HeaderPair } from '../../src-common/flow';
import type { HarEntry, HarLog } from '../../src-common/har/types';
import {
  makeBody,
  makeFlow,
  makeRequest,
  makeResponse,
  makeTunnel,
} from '../test-support/factories';
import { injectWriteFault } from '../data/atomic-write';
import { diskFull } from '../test-support/disk';
import { validateHar } from '../test-support/har-schema';
import { deadline } from '../test-support/wait';
import { BodyStore } from './body-store';
import { writeHarFile, type BodyReader } from './har-file';

let dir: string;
let bodies: BodyStore;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'loupe-har-'));
  // A small budget, so some bodies are read back from their spill files.
  bodies = new BodyStore({ dir: join(dir, 'bodies'), memoryBudget: 4096 });
});
afterEach(async () => {
  await bodies.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Puts `data` in the body store as captured (the first `keep` bytes of a `data`-sized body). */
function stored(id: string, data: Buffer, keep = data.length): BodyInfo {
  bodies.append(id, data.subarray(0, keep));
  bodies.finish(id);
  return makeBody({ size: data.length, captured: keep, truncated: keep < data.length, bodyId: id });
}

const response = (headers: HeaderPair[], body: BodyInfo) => makeResponse({ headers, body });

function read(path: string): { doc: HarLog; byId: Record<string, HarEntry> } {
  const doc = JSON.parse(readFileSync(path, 'utf8')) as HarLog;
  return { doc, byId: Object.fromEntries(doc.log.entries.map((e) => [e._loupeId, e])) };
}

describe('writeHarFile', () => {
  it('writes every kind of flow as valid HAR 1.2, with bodies decoded from the store', async () => {
    const json = Buffer.from(JSON.stringify({ items: Array.from({ length: 300 }, (_, i) => i) }));
    const gz = zlib.gzipSync(json);
    const stacked = zlib.brotliCompressSync(zlib.gzipSync(json));
    const prose = Buffer.from('Loupe keeps the first part of long bodies. '.repeat(2000));
    const proseGz = zlib.gzipSync(prose);
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0xff, 0x10, 0x80]);
    const form = Buffer.from('name=Ada+Lovelace&lang=en&lang=fr');
    const typeJson: HeaderPair = ['Content-Type', 'application/json'];
    const page = Buffer.from('<p>Spilled to disk before the export.</p>\n'.repeat(200));
    const flows = [
      makeFlow({
        id: 'spilled',
        response: response([['Content-Type', 'text/html']], stored('page:res', page)),
      }),
      makeFlow({
        id: 'gz',
        request: makeRequest({
          headers: [
            ['Host', 'h'],
            ['Cookie', 'sid=1; theme=dark'],
          ],
        }),
        response: response(
          [typeJson, ['Content-Encoding', 'gzip'], ['Set-Cookie', 'sid=2; Path=/; HttpOnly']],
          stored('gz:res', gz),
        ),
      }),
      makeFlow({
        id: 'stacked',
        response: response([typeJson, ['Content-Encoding', 'gzip, br']], stored('st:res', stacked)),
      }),
      makeFlow({
        id: 'form',
        request: makeRequest({
          method: 'POST',
          headers: [['Content-Type', 'application/x-www-form-urlencoded']],
          body: stored('form:req', form),
        }),
        response: response([['Content-Type', 'image/png']], stored('form:res', png)),
      }),
      makeFlow({
        id: 'cut',
        response: response(
          [
            ['Content-Type', 'text/plain'],
            ['Content-Encoding', 'gzip'],
          ],
          stored('cut:res', proseGz, Math.floor(proseGz.length / 2)),
        ),
      }),
      makeFlow({
        id: 'corrupt',
        response: response(
          [['Content-Encoding', 'gzip']],
          stored('bad:res', Buffer.from([0x1f, 0x8b, 1, 2, 3])),
        ),
      }),
      makeFlow({
        id: 'failed',
        state: 'error',
        response: undefined,
        error: {
          code: 'connection_refused',
          message: 'h refused the connection.',
          phase: 'connect',
        },
        timings: { blocked: -1, dns: 1, connect: -1, ssl: -1, send: -1, wait: -1, receive: -1 },
      }),
      makeTunnel({ id: 'tunnel' }),
      makeFlow({ id: 'v6', server: { host: '::1', port: 80, address: '[::1]' } }),
    ];
    await deadline(bodies.settled(), 'the bodies past the budget to be spilled');
    expect(bodies.stats().diskBytes).toBeGreaterThanOrEqual(page.length);
    const path = join(dir, 'out.har');
    const progress: [number, number][] = [];
    await writeHarFile(path, flows, bodies, {
      creatorVersion: '9.9.9',
      onProgress: (n, total) => progress.push([n, total]),
    });
    expect(progress).toEqual(flows.map((_, i) => [i + 1, flows.length]));

    const { doc, byId } = read(path);
    expect(validateHar(doc)).toEqual([]);
    expect(doc.log.creator).toEqual({ name: 'Loupe', version: '9.9.9' });
    expect(doc.log.entries.map((e) => e._loupeId)).toEqual(flows.map((f) => f.id));

    expect(byId.spilled!.response.content.text).toBe(page.toString());
    expect(byId.gz!.response.content).toEqual({
      size: json.length,
      compression: json.length - gz.length,
      mimeType: 'application/json',
      text: json.toString(),
    });
    expect(byId.gz!.response.bodySize).toBe(gz.length);
    expect(byId.gz!.request.cookies).toEqual([
      { name: 'sid', value: '1' },
      { name: 'theme', value: 'dark' },
    ]);
    expect(byId.gz!.response.cookies).toEqual([
      { name: 'sid', value: '2', path: '/', httpOnly: true },
    ]);
    expect(byId.stacked!.response.content.text).toBe(json.toString());

    expect(byId.form!.request.postData?.params).toEqual([
      { name: 'name', value: 'Ada Lovelace' },
      { name: 'lang', value: 'en' },
      { name: 'lang', value: 'fr' },
    ]);
    expect(byId.form!.response.content).toEqual({
      size: png.length,
      mimeType: 'image/png',
      text: png.toString('base64'),
      encoding: 'base64',
    });

    // Capture kept half of the gzip: the text is what that half decodes to.
    const cut = byId.cut!.response.content;
    expect(cut).toMatchObject({ size: proseGz.length, _truncated: true });
    expect(cut.text!.length).toBeGreaterThan(0);
    expect(prose.toString().startsWith(cut.text!)).toBe(true);
    expect(cut.comment).toMatch(/first \d+ of \d+ bytes.*what the bytes captured decode to/);

    const corrupt = byId.corrupt!.response.content;
    expect(corrupt).toMatchObject({ encoding: 'base64', text: 'H4sBAgM=' });
    expect(corrupt.comment).toMatch(
      /^It is written as sent \(gzip\) because the body is not valid gzip data/,
    );

    expect(byId.failed!).toMatchObject({
      response: { status: 0 },
      _error: { code: 'connection_refused', message: 'h refused the connection.' },
    });
    expect(byId.tunnel!).toMatchObject({
      _loupeKind: 'tunnel',
      request: { method: 'CONNECT', url: 'https://secure.example.test:443/' },
      _tunnel: { protocol: 'tls', bytesUp: 517, bytesDown: 4096 },
    });
    expect(byId.v6!.serverIPAddress).toBe('::1');
  });

  it('streams entries to the temporary file one by one', async () => {
    const big = Buffer.alloc(256 << 10, 'x');
    const flows = Array.from({ length: 5 }, (_, i) =>
      makeFlow({ response: response([], stored(`b${i}`, big)) }),
    );
    const path = join(dir, 'stream.har');
    const sizes: number[] = [];
    await writeHarFile(path, flows, bodies, {
      creatorVersion: '1',
      onProgress: () => {
        const temp = readdirSync(dir).find((f) => f.endsWith('.tmp'));
        sizes.push(temp ? statSync(join(dir, temp)).size : -1);
      },
    });
    // Each entry is on disk before the next is made; the target appears only at the end.
    expect(sizes.every((size, i) => size > (i + 1) * big.length)).toBe(true);
    expect(validateHar(read(path).doc)).toEqual([]);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('leaves an existing file untouched and no temporary file when the disk fails', async () => {
    const path = join(dir, 'out.har');
    writeFileSync(path, 'previous export');
    const undo = injectWriteFault((target) => (target === path ? diskFull() : undefined));
    try {
      await expect(
        writeHarFile(path, [makeFlow()], bodies, { creatorVersion: '1' }),
      ).rejects.toMatchObject({ code: 'ENOSPC' });
    } finally {
      undo();
    }
    expect(readFileSync(path, 'utf8')).toBe('previous export');
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('writes bodies stored already decoded (an imported HAR) as they are, from any reader', async () => {
    const text = Buffer.from('{"decoded":"already"}');
    const imported = new Map([['h.1:res', text]]);
    const reader: BodyReader = { read: (id) => Promise.resolve(imported.get(id)!) };
    const flow = makeFlow({
      id: 'h.1',
      response: response(
        [
          ['Content-Type', 'application/json'],
          ['Content-Encoding', 'gzip'],
        ],
        makeBody({ size: 9, captured: text.length, bodyId: 'h.1:res', contentDecoded: true }),
      ),
    });
    const path = join(dir, 'imported.har');
    await writeHarFile(path, [flow], reader, { creatorVersion: '1' });
    const { doc, byId } = read(path);
    expect(validateHar(doc)).toEqual([]);
    // Not gunzipped again (which would fail and write it "as sent"): the text, decoded sizes.
    expect(byId['h.1']!.response.content).toEqual({
      size: text.length,
      compression: text.length - 9,
      mimeType: 'application/json',
      text: text.toString(),
    });
    expect(byId['h.1']!.response.bodySize).toBe(9);
  });

  it.skipIf(process.platform === 'win32')(
    'writes the file readable by its owner only, replacing one that others could read',
    async () => {
      const path = join(dir, 'private.har');
      writeFileSync(path, 'previous export', { mode: 0o644 });
      await writeHarFile(path, [makeFlow()], bodies, { creatorVersion: '1' });
      expect(statSync(path).mode & 0o777).toBe(0o600);
    },
  );

  it('writes an empty session as a valid log', async () => {
    const path = join(dir, 'empty.har');
    await writeHarFile(path, [], bodies, { creatorVersion: '1' });
    const { doc } = read(path);
    expect(validateHar(doc)).toEqual([]);
    expect(doc.log.entries).toEqual([]);
  });
});
