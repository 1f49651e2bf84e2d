/**
 * Content-Encoding decoding for display and export. The wire bytes stay as captured; decoding
 * streams through zlib with an output cap, so a decompression bomb stops at the cap and is
 * marked, never inflated whole.
 */
import zlib from 'node:zlib';
import type { Transform } from 'node:stream';

export type DecodeResult =
  { ok: true; body: Buffer; truncated: boolean } | { ok: false; error: string };

type ZlibWithZstd = typeof zlib & { createZstdDecompress?: () => Transform };

function decoderFor(coding: string, first: number | undefined): Transform | string {
  switch (coding) {
    case 'gzip':
    case 'x-gzip':
      return zlib.createGunzip();
    case 'deflate':
      // Servers send both zlib-wrapped and raw deflate; browsers accept either. A zlib stream
      // starts with a CMF byte whose low nibble is 8.
      return first !== undefined && (first & 0x0f) === 8
        ? zlib.createInflate()
        : zlib.createInflateRaw();
    case 'br':
      return zlib.createBrotliDecompress();
    case 'zstd': {
      const create = (zlib as ZlibWithZstd).createZstdDecompress;
      return create ? create() : 'zstd decoding needs a newer runtime (Node 22.15 or later)';
    }
    default:
      return `the content encoding '${coding}' is not one Loupe can decode`;
  }
}

function run(input: Buffer, decoder: Transform, maxOutput: number): Promise<DecodeResult> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (result: DecodeResult): void => {
      if (done) return;
      done = true;
      resolve(result);
    };
    decoder.on('data', (chunk: Buffer) => {
      const room = maxOutput - size;
      if (chunk.length >= room) {
        chunks.push(chunk.subarray(0, room));
        size += room;
        decoder.destroy();
        finish({ ok: true, body: Buffer.concat(chunks, size), truncated: true });
        return;
      }
      chunks.push(chunk);
      size += chunk.length;
    });
    decoder.on('end', () =>
      finish({ ok: true, body: Buffer.concat(chunks, size), truncated: false }),
    );
    decoder.on('error', (err: Error) =>
      finish({ ok: false, error: `the body could not be decoded: ${err.message}` }),
    );
    decoder.end(input);
  });
}

/**
 * Decodes `bytes` per a Content-Encoding header value (stacked codings decoded last-applied
 * first). Never throws; unknown or broken encodings come back as words.
 */
export async function decodeBody(
  bytes: Buffer,
  contentEncoding: string | undefined,
  opts: { maxOutput: number },
): Promise<DecodeResult> {
  const codings = (contentEncoding ?? '')
    .split(',')
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c && c !== 'identity')
    .reverse();
  let body = bytes;
  let truncated = false;
  for (const coding of codings) {
    const decoder = decoderFor(coding, body[0]);
    if (typeof decoder === 'string') return { ok: false, error: decoder };
    const result = await run(body, decoder, opts.maxOutput);
    if (!result.ok) return result;
    body = result.body;
    truncated ||= result.truncated;
    if (truncated) break;
  }
  return { ok: true, body, truncated };
}
