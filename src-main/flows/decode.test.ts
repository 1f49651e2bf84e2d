import { randomBytes } from 'node:crypto';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decodeBody, decodedLength, ZSTD_UNSUPPORTED } from './decode';

const text = Buffer.from('Loupe decodes this body. '.repeat(200));
/** Text that compresses poorly, so half of its compressed form already decodes to something. */
const noisy = Buffer.from(randomBytes(48 << 10).toString('base64'));
const fastBrotli = { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 1 } };

/**
 * `gib` GiB of zeros as gzip: one member made by streaming 64 MiB of zeros through gzip, repeated
 * (a multi-member gzip stream is one valid body, RFC 1952), so 10 GiB costs ~10 MB and a second
 * to build.
 */
async function gzipBomb(gib: number): Promise<Buffer> {
  const gzip = zlib.createGzip({ level: 9 });
  const parts: Buffer[] = [];
  gzip.on('data', (c: Buffer) => parts.push(c));
  const zeros = Buffer.alloc(1 << 20);
  for (let i = 0; i < 64; i++) gzip.write(zeros);
  await new Promise((resolve) => gzip.end(resolve));
  const member = Buffer.concat(parts);
  return Buffer.concat(Array.from({ length: gib * 16 }, () => member));
}

describe('decodeBody', () => {
  it.each([
    ['gzip', zlib.gzipSync(text)],
    ['x-gzip', zlib.gzipSync(text)],
    ['deflate', zlib.deflateSync(text)],
    ['deflate', zlib.deflateRawSync(text)],
    ['br', zlib.brotliCompressSync(text)],
    ['identity', text],
    ['', text],
    ['GZIP', zlib.gzipSync(text)],
    ['gzip, br', zlib.brotliCompressSync(zlib.gzipSync(text))],
    ['deflate, identity, gzip', zlib.gzipSync(zlib.deflateRawSync(text))],
    ['br,deflate', zlib.deflateSync(zlib.brotliCompressSync(text))],
  ])('decodes %j', async (encoding, bytes) => {
    const result = await decodeBody(bytes, encoding, { maxOutput: 1 << 20 });
    expect(result).toEqual({ ok: true, body: text, truncated: false });
  });

  it('decodes an empty body with a coding to an empty body (HEAD, 304)', async () => {
    expect(await decodeBody(Buffer.alloc(0), 'gzip', { maxOutput: 10 })).toEqual({
      ok: true,
      body: Buffer.alloc(0),
      truncated: false,
    });
  });

  it('is not truncated when the body is exactly the cap, and is one byte over it', async () => {
    const gz = zlib.gzipSync(text);
    expect(await decodeBody(gz, 'gzip', { maxOutput: text.length })).toMatchObject({
      ok: true,
      truncated: false,
    });
    expect(await decodeBody(gz, 'gzip', { maxOutput: text.length - 1 })).toEqual({
      ok: true,
      body: text.subarray(0, text.length - 1),
      truncated: true,
    });
  });

  it('stops a 10 GiB gzip bomb at the cap with memory bounded by the cap', async () => {
    const bomb = await gzipBomb(10);
    expect(bomb.length).toBeLessThan(16 << 20);
    const cap = 16 << 20;
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
    const started = Date.now();
    const result = await decodeBody(bomb, 'gzip', { maxOutput: cap });
    clearInterval(sampler);
    peak = Math.max(peak, process.memoryUsage().rss);
    expect(result.ok && result.truncated).toBe(true);
    expect(result.ok && result.body.length).toBe(cap);
    expect(result.ok && result.body.equals(Buffer.alloc(cap))).toBe(true);
    expect(peak - before).toBeLessThan(cap + (64 << 20));
    // Inflating 10 GiB takes tens of seconds; stopping at the cap takes a blink.
    expect(Date.now() - started).toBeLessThan(2000);
  });

  const zeros = Buffer.alloc(64 << 20);
  it.each([
    ['deflate', () => zlib.deflateSync(zeros)],
    ['deflate', () => zlib.deflateRawSync(zeros)],
    ['br', () => zlib.brotliCompressSync(zeros, fastBrotli)],
  ])('stops a %s bomb at the cap too', async (encoding, make) => {
    const result = await decodeBody(make(), encoding, { maxOutput: 1 << 20 });
    expect(result.ok && result.truncated).toBe(true);
    expect(result.ok && result.body.length).toBe(1 << 20);
  });

  it('bounds the inner layers of stacked codings too, returning decoded bytes', async () => {
    // The br layer alone yields ~2.7 MB of gzip; capping the chain at 1 MiB must still give
    // the first MiB of the text, not the first MiB of the gzip in between.
    const inner = Buffer.from(randomBytes(2 << 20).toString('base64'));
    const bytes = zlib.brotliCompressSync(zlib.gzipSync(inner, { level: 1 }), fastBrotli);
    const result = await decodeBody(bytes, 'gzip, br', { maxOutput: 1 << 20 });
    expect(result.ok && result.truncated).toBe(true);
    // Buffer.equals: a deep equality over a MiB of bytes would take seconds.
    expect(result.ok && result.body.equals(inner.subarray(0, 1 << 20))).toBe(true);
  });

  it.each([
    ['gzip', zlib.gzipSync(noisy)],
    ['deflate', zlib.deflateSync(noisy)],
    ['deflate', zlib.deflateRawSync(noisy)],
    ['br', zlib.brotliCompressSync(noisy, fastBrotli)],
  ])('decodes the captured start of a truncated %s body as far as it goes', async (enc, bytes) => {
    const start = bytes.subarray(0, Math.floor(bytes.length / 2));
    const result = await decodeBody(start, enc, { maxOutput: 1 << 20, partialInput: true });
    expect(result.ok && result.truncated).toBe(true);
    const body = result.ok ? result.body : Buffer.alloc(0);
    expect(body.length).toBeGreaterThan(0);
    expect(noisy.subarray(0, body.length)).toEqual(body);

    const strict = await decodeBody(start, enc, { maxOutput: 1 << 20 });
    expect(strict.ok).toBe(false);
  });

  it('answers corrupt input with words, not a throw', async () => {
    for (const enc of ['gzip', 'deflate', 'br', 'gzip, gzip']) {
      const result = await decodeBody(Buffer.from('not compressed at all'), enc, {
        maxOutput: 1024,
      });
      expect(result.ok).toBe(false);
      expect(!result.ok && result.error).toMatch(/^the body is not valid (gzip|deflate|br) data/);
    }
  });

  it('names an encoding it does not know, without decoding any of the others', async () => {
    const result = await decodeBody(zlib.gzipSync(text), 'compress, gzip', { maxOutput: 1024 });
    expect(result).toEqual({
      ok: false,
      error: "the content encoding 'compress' is not one Loupe can decode",
    });
  });

  it('decodes zstd where the runtime can, and says so where it cannot', async () => {
    const z = zlib as typeof zlib & { zstdCompressSync?: (b: Buffer) => Buffer };
    if (z.zstdCompressSync) {
      const result = await decodeBody(z.zstdCompressSync(text), 'zstd', { maxOutput: 1 << 20 });
      expect(result).toEqual({ ok: true, body: text, truncated: false });
    } else {
      const magic = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);
      expect(await decodeBody(magic, 'zstd', { maxOutput: 1024 })).toEqual({
        ok: false,
        error: ZSTD_UNSUPPORTED,
      });
      expect(ZSTD_UNSUPPORTED).toMatch(/^zstd decoding needs a newer runtime/);
    }
  });
});

describe('decodedLength', () => {
  it('counts decoded bytes without keeping them, with the same cap', async () => {
    expect(await decodedLength(zlib.gzipSync(text), 'gzip', { maxOutput: 1 << 20 })).toEqual({
      ok: true,
      size: text.length,
      truncated: false,
    });
    expect(await decodedLength(zlib.gzipSync(text), 'gzip', { maxOutput: 100 })).toEqual({
      ok: true,
      size: 100,
      truncated: true,
    });
    expect(await decodedLength(text, 'br', { maxOutput: 100 })).toMatchObject({ ok: false });
  });
});
