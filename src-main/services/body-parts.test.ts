import { randomBytes } from 'node:crypto';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { HeaderPair } from '../../src-common/flow';
import { ApiFailure } from './api-failure';
import { createBodyParts } from './body-parts';
import type { FoundBody } from './har-service';

const text = Buffer.from('{"loupe":"reads this body in parts"}\n'.repeat(3000));

/** A body as the API finds it, counting how often its bytes are read. */
function found(
  bytes: Buffer,
  encoding?: string,
  extra: { truncated?: boolean; alreadyDecoded?: boolean } = {},
): FoundBody & { reads: number } {
  const headers: HeaderPair[] = [['Content-Type', 'application/json']];
  if (encoding) headers.push(['Content-Encoding', encoding]);
  const body = {
    info: {
      size: bytes.length,
      captured: bytes.length,
      truncated: extra.truncated ?? false,
      bodyId: 'f1:res',
    },
    headers,
    alreadyDecoded: extra.alreadyDecoded ?? false,
    reads: 0,
    read: async () => {
      body.reads += 1;
      return bytes;
    },
  };
  return body;
}

const bytesOf = (base64: string): Buffer => Buffer.from(base64, 'base64');

describe('body parts', () => {
  it.each([
    ['gzip', zlib.gzipSync(text)],
    ['br', zlib.brotliCompressSync(text)],
    ['deflate', zlib.deflateSync(text)],
    ['deflate', zlib.deflateRawSync(text)],
    ['gzip, br', zlib.brotliCompressSync(zlib.gzipSync(text))],
  ])('serves ranges of a %s body decoded, reading and decoding it once', async (enc, wire) => {
    const parts = createBodyParts();
    const body = found(wire, enc);
    const first = await parts.read('f1:res', body, { offset: 0, length: 1000, decoded: true });
    expect(first).toMatchObject({ offset: 0, total: text.length, truncated: false });
    expect(first.decodedFrom).toBe(enc);
    expect(bytesOf(first.base64)).toEqual(text.subarray(0, 1000));
    const middle = await parts.read('f1:res', body, { offset: 5000, length: 7, decoded: true });
    expect(bytesOf(middle.base64)).toEqual(text.subarray(5000, 5007));
    const end = await parts.read('f1:res', body, {
      offset: text.length - 10,
      length: 100,
      decoded: true,
    });
    expect(bytesOf(end.base64)).toEqual(text.subarray(text.length - 10));
    expect(body.reads).toBe(1);
  });

  it('serves the wire bytes when decoded is false', async () => {
    const wire = zlib.gzipSync(text);
    const part = await createBodyParts().read('f1:res', found(wire, 'gzip'), {
      offset: 0,
      length: 4 << 20,
      decoded: false,
    });
    expect(bytesOf(part.base64)).toEqual(wire);
    expect(part.total).toBe(wire.length);
    expect(part.decodedFrom).toBeUndefined();
  });

  it('serves an unencoded body as it is, with no decodedFrom', async () => {
    const part = await createBodyParts().read('f1:res', found(text), {
      offset: 10,
      length: 20,
      decoded: true,
    });
    expect(bytesOf(part.base64)).toEqual(text.subarray(10, 30));
    expect(part.decodedFrom).toBeUndefined();
  });

  it('serves an imported body that is already decoded as stored, whatever its header says', async () => {
    const part = await createBodyParts().read(
      'har1.3:res',
      found(text, 'gzip', { alreadyDecoded: true }),
      { offset: 0, length: 50, decoded: true },
    );
    expect(bytesOf(part.base64)).toEqual(text.subarray(0, 50));
    expect(part.decodeError).toBeUndefined();
  });

  it('stops decoding at its cap and says the view is truncated', async () => {
    const parts = createBodyParts({ maxDecoded: 4096 });
    const part = await parts.read('f1:res', found(zlib.gzipSync(text), 'gzip'), {
      offset: 0,
      length: 100_000,
      decoded: true,
    });
    expect(part.total).toBe(4096);
    expect(part.truncated).toBe(true);
    expect(bytesOf(part.base64)).toEqual(text.subarray(0, 4096));
  });

  it('decodes what there is of a body cut at the capture cap', async () => {
    const noisy = Buffer.from(randomBytes(64 << 10).toString('base64'));
    const wire = zlib.gzipSync(noisy);
    const half = wire.subarray(0, wire.length >> 1);
    const part = await createBodyParts().read('f1:res', found(half, 'gzip', { truncated: true }), {
      offset: 0,
      length: 1 << 20,
      decoded: true,
    });
    expect(part.truncated).toBe(true);
    expect(part.total).toBeGreaterThan(0);
    expect(bytesOf(part.base64)).toEqual(noisy.subarray(0, part.total));
  });

  it('serves the wire bytes with the reason in words when decoding fails', async () => {
    const wire = Buffer.from('this is not gzip at all');
    const part = await createBodyParts().read('f1:res', found(wire, 'gzip'), {
      offset: 0,
      length: 100,
      decoded: true,
    });
    expect(bytesOf(part.base64)).toEqual(wire);
    expect(part.decodeError).toMatch(/not valid gzip data.*bytes as sent/);
    expect(part.decodedFrom).toBeUndefined();
  });

  it('names an encoding it cannot undo', async () => {
    const part = await createBodyParts().read('f1:res', found(text, 'compress'), {
      offset: 0,
      length: 10,
      decoded: true,
    });
    expect(part.decodeError).toMatch(/'compress' is not one Loupe can decode/);
  });

  it('refuses an offset past the end, and answers an empty part at the very end', async () => {
    const parts = createBodyParts();
    const body = found(text);
    const atEnd = await parts.read('f1:res', body, {
      offset: text.length,
      length: 10,
      decoded: true,
    });
    expect(atEnd.base64).toBe('');
    const past = parts.read('f1:res', body, { offset: text.length + 1, length: 10, decoded: true });
    await expect(past).rejects.toBeInstanceOf(ApiFailure);
    await expect(past).rejects.toMatchObject({ code: 'invalid_argument' });
    await expect(past).rejects.toThrow(/past the end of the body/);
  });

  it('shares one decode between parallel parts and decodes again after clear()', async () => {
    const parts = createBodyParts();
    const body = found(zlib.gzipSync(text), 'gzip');
    const request = { offset: 0, length: 10, decoded: true };
    await Promise.all([1, 2, 3].map(() => parts.read('f1:res', body, request)));
    expect(body.reads).toBe(1);
    parts.clear();
    await parts.read('f1:res', body, request);
    expect(body.reads).toBe(2);
  });

  it('keeps cached views within its byte budget, dropping the least recently used', async () => {
    const parts = createBodyParts({ cacheBytes: text.length * 2 });
    const a = found(zlib.gzipSync(text), 'gzip');
    const b = found(zlib.gzipSync(text), 'gzip');
    const c = found(zlib.gzipSync(text), 'gzip');
    const request = { offset: 0, length: 10, decoded: true };
    await parts.read('a', a, request);
    await parts.read('b', b, request);
    await parts.read('a', a, request); // a is now the most recently used
    await parts.read('c', c, request); // b goes
    await parts.read('a', a, request);
    await parts.read('b', b, request);
    expect([a.reads, b.reads, c.reads]).toEqual([1, 2, 1]);
  });

  it('decodes again when a body still arriving has grown', async () => {
    const parts = createBodyParts();
    const body = found(text);
    const request = { offset: 0, length: 10, decoded: true };
    await parts.read('f1:res', body, request);
    body.info.captured += 1;
    await parts.read('f1:res', body, request);
    expect(body.reads).toBe(2);
  });
});

describe('body parts of an unencoded body', () => {
  it('keeps one view for decoded and wire reads', async () => {
    const parts = createBodyParts();
    const body = found(text);
    await parts.read('f1:res', body, { offset: 0, length: 10, decoded: true });
    await parts.read('f1:res', body, { offset: 0, length: 10, decoded: false });
    expect(body.reads).toBe(1);
  });
});
