import { createHash } from 'node:crypto';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { gzipBomb } from '../test-support/payloads';
import { decodeBody } from './decode';

const text = Buffer.from('Loupe decodes this body. '.repeat(200));

describe('decodeBody', () => {
  it.each([
    ['gzip', zlib.gzipSync(text)],
    ['x-gzip', zlib.gzipSync(text)],
    ['deflate', zlib.deflateSync(text)],
    ['deflate', zlib.deflateRawSync(text)],
    ['br', zlib.brotliCompressSync(text)],
    ['identity', text],
    ['', text],
    ['gzip, br', zlib.brotliCompressSync(zlib.gzipSync(text))],
    ['GZIP', zlib.gzipSync(text)],
  ])('decodes %j', async (encoding, bytes) => {
    const result = await decodeBody(bytes, encoding, { maxOutput: 1 << 20 });
    expect(result).toEqual({ ok: true, body: text, truncated: false });
  });

  it('stops a decompression bomb at the cap instead of inflating it', async () => {
    // ~1 GiB of zeros gzips to ~1 MiB; decoding must stop at 8 MiB.
    const bomb = await gzipBomb(1024);
    expect(bomb.length).toBeLessThan(2 << 20);
    const before = process.memoryUsage().rss;
    const result = await decodeBody(bomb, 'gzip', { maxOutput: 8 << 20 });
    expect(result.ok && result.truncated).toBe(true);
    expect(result.ok && result.body.length).toBe(8 << 20);
    expect(process.memoryUsage().rss - before).toBeLessThan(200 << 20);
  });

  it('answers corrupt input with words, not a throw', async () => {
    const result = await decodeBody(Buffer.from('not gzip at all'), 'gzip', { maxOutput: 1024 });
    expect(result.ok).toBe(false);
    expect(!result.ok && result.error).toMatch(/could not be decoded/);
  });

  it('names an encoding it does not know', async () => {
    const result = await decodeBody(text, 'compress', { maxOutput: 1024 });
    expect(result).toEqual({
      ok: false,
      error: "the content encoding 'compress' is not one Loupe can decode",
    });
  });

  it('decodes zstd where the runtime can, and says so where it cannot', async () => {
    const z = zlib as typeof zlib & { zstdCompressSync?: (b: Buffer) => Buffer };
    if (z.zstdCompressSync) {
      const result = await decodeBody(z.zstdCompressSync(text), 'zstd', { maxOutput: 1 << 20 });
      expect(result.ok && createHash('sha256').update(result.body).digest('hex')).toBe(
        createHash('sha256').update(text).digest('hex'),
      );
    } else {
      const result = await decodeBody(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), 'zstd', {
        maxOutput: 1024,
      });
      expect(result).toEqual({
        ok: false,
        error: 'zstd decoding needs a newer runtime (Node 22.15 or later)',
      });
    }
  });
});
