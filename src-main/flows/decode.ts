/**
 * Content-Encoding decoding for display and export. The captured wire bytes stay as they are;
 * decoding streams them through a chain of zlib decoders and counts the output, stopping the
 * whole chain at a cap. A decompression bomb (a few MB that inflate to GBs) therefore costs at
 * most the cap in memory and is reported as truncated, never inflated whole.
 */
import { Transform, type TransformCallback } from 'node:stream';
import zlib from 'node:zlib';

export type DecodeResult =
  { ok: true; body: Buffer; truncated: boolean } | { ok: false; error: string };

export type DecodedLengthResult =
  { ok: true; size: number; truncated: boolean } | { ok: false; error: string };

export interface DecodeOptions {
  /** Decoded bytes to produce at most; past it decoding stops and the result is `truncated`. */
  maxOutput: number;
  /**
   * The input is only the start of the body (capture stopped at its cap): decode as far as the
   * bytes go instead of failing where they end. The result is then always `truncated`.
   */
  partialInput?: boolean;
}

/** What Node 22.15+ adds to zlib; absent from Node 20's types and runtime. */
type ZstdZlib = typeof zlib & { createZstdDecompress?: () => Transform };

export const ZSTD_UNSUPPORTED = 'zstd decoding needs a newer runtime (Node 22.15 or later)';

/** The codings of a Content-Encoding value in the order to undo them (last applied first). */
export function codingsToUndo(contentEncoding: string | undefined): string[] {
  return (contentEncoding ?? '')
    .split(',')
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== '' && c !== 'identity')
    .reverse();
}

/**
 * True when two bytes open a zlib stream (RFC 1950): compression method 8, a window of at most
 * 32 KiB, and a header checksum that is a multiple of 31. Raw deflate almost never passes.
 */
function isZlibHeader(b0: number, b1: number): boolean {
  return (b0 & 0x0f) === 8 && b0 >> 4 <= 7 && ((b0 << 8) | b1) % 31 === 0;
}

/**
 * `deflate` as browsers read it. The name means zlib-wrapped deflate, but many servers send raw
 * deflate; the first two bytes tell which. The choice is made lazily so this also works as an
 * inner layer of stacked codings, where those bytes are not known until they are decoded.
 */
class AnyInflate extends Transform {
  private inner: zlib.Inflate | zlib.InflateRaw | undefined;
  private head = Buffer.alloc(0);

  constructor(private readonly opts: zlib.ZlibOptions) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    if (this.inner) return void this.inner.write(chunk, () => done());
    this.head = Buffer.concat([this.head, chunk]);
    if (this.head.length < 2) return done();
    const head = this.head;
    this.head = Buffer.alloc(0);
    this.start(head).write(head, () => done());
  }

  override _flush(done: TransformCallback): void {
    let inner = this.inner;
    if (!inner) {
      // The whole body was shorter than a zlib header: let the raw decoder judge it.
      inner = this.start(this.head);
      inner.write(this.head);
    }
    inner.once('end', () => done());
    inner.end();
  }

  override _read(size: number): void {
    this.inner?.resume();
    super._read(size);
  }

  override _destroy(err: Error | null, done: (error: Error | null) => void): void {
    this.inner?.destroy();
    done(err);
  }

  private start(head: Buffer): zlib.Inflate | zlib.InflateRaw {
    const [b0 = 0, b1 = 0] = head;
    const inner = isZlibHeader(b0, b1)
      ? zlib.createInflate(this.opts)
      : zlib.createInflateRaw(this.opts);
    // Pass the inner decoder's output on with backpressure, so a bomb pauses here too.
    inner.on('data', (out: Buffer) => {
      if (!this.push(out)) inner.pause();
    });
    inner.on('error', (err) => this.destroy(err));
    this.inner = inner;
    return inner;
  }
}

/** A decoder for one coding, or words saying why there is none. */
function decoderFor(coding: string, partial: boolean): Transform | string {
  // With a partial input, a sync flush at the end decodes what is there instead of reporting
  // "unexpected end of file".
  const opts: zlib.ZlibOptions = partial ? { finishFlush: zlib.constants.Z_SYNC_FLUSH } : {};
  switch (coding) {
    case 'gzip':
    case 'x-gzip':
      return zlib.createGunzip(opts);
    case 'deflate':
      return new AnyInflate(opts);
    case 'br':
      return zlib.createBrotliDecompress(
        partial ? { finishFlush: zlib.constants.BROTLI_OPERATION_FLUSH } : {},
      );
    case 'zstd': {
      const create = (zlib as ZstdZlib).createZstdDecompress;
      return typeof create === 'function' ? create() : ZSTD_UNSUPPORTED;
    }
    default:
      return `the content encoding '${coding}' is not one Loupe can decode`;
  }
}

type Sink = (chunk: Buffer) => void;

/**
 * Streams `input` through the decoders for `codings`, handing at most `maxOutput` bytes to
 * `sink`. Every stage is piped with backpressure and the whole chain is destroyed at the cap,
 * so intermediate layers of stacked codings are bounded as well.
 */
function run(
  input: Buffer,
  codings: string[],
  opts: DecodeOptions,
  sink: Sink,
): Promise<{ ok: true; truncated: boolean } | { ok: false; error: string }> {
  const partial = opts.partialInput === true;
  const stages: Transform[] = [];
  for (const coding of codings) {
    const decoder = decoderFor(coding, partial);
    if (typeof decoder === 'string') {
      for (const stage of stages) stage.destroy();
      return Promise.resolve({ ok: false, error: decoder });
    }
    stages.push(decoder);
  }
  const codingOf = new Map(stages.map((s, i) => [s, codings[i]!]));
  return new Promise((resolve) => {
    let produced = 0;
    let settled = false;
    const stop = (result: { ok: true; truncated: boolean } | { ok: false; error: string }) => {
      if (settled) return;
      settled = true;
      for (const stage of stages) stage.destroy();
      resolve(result);
    };
    for (const stage of stages) {
      stage.on('error', (err: Error) =>
        stop({
          ok: false,
          error: `the body is not valid ${codingOf.get(stage)} data (${err.message})`,
        }),
      );
    }
    for (let i = 0; i + 1 < stages.length; i++) stages[i]!.pipe(stages[i + 1]!);
    const last = stages[stages.length - 1]!;
    last.on('data', (chunk: Buffer) => {
      if (settled) return;
      const room = opts.maxOutput - produced;
      if (chunk.length > room) {
        if (room > 0) sink(chunk.subarray(0, room));
        produced += room;
        stop({ ok: true, truncated: true });
        return;
      }
      produced += chunk.length;
      sink(chunk);
    });
    last.on('end', () => stop({ ok: true, truncated: partial }));
    stages[0]!.end(input);
  });
}

/**
 * Decodes `bytes` per a Content-Encoding header value: gzip, x-gzip, deflate (zlib-wrapped or
 * raw), br, identity, zstd where the runtime has it, and stacked codings (`gzip, br` is undone
 * br first). Never throws: an unknown coding or broken data comes back as words.
 */
export async function decodeBody(
  bytes: Buffer,
  contentEncoding: string | undefined,
  opts: DecodeOptions,
): Promise<DecodeResult> {
  const codings = codingsToUndo(contentEncoding);
  // No coding, or nothing to decode (a HEAD or 304 answer carries the header with no body).
  if (codings.length === 0 || bytes.length === 0) {
    const truncated = bytes.length > opts.maxOutput || opts.partialInput === true;
    return { ok: true, body: bytes.subarray(0, opts.maxOutput), truncated };
  }
  const chunks: Buffer[] = [];
  let size = 0;
  const result = await run(bytes, codings, opts, (chunk) => {
    chunks.push(chunk);
    size += chunk.length;
  });
  if (!result.ok) return result;
  return { ok: true, body: Buffer.concat(chunks, size), truncated: result.truncated };
}

/**
 * The decoded size of a body without keeping the decoded bytes: what a flow summary shows for a
 * compressed body. Same rules and cap as `decodeBody`.
 */
export async function decodedLength(
  bytes: Buffer,
  contentEncoding: string | undefined,
  opts: DecodeOptions,
): Promise<DecodedLengthResult> {
  const codings = codingsToUndo(contentEncoding);
  if (codings.length === 0 || bytes.length === 0) {
    const truncated = bytes.length > opts.maxOutput || opts.partialInput === true;
    return { ok: true, size: Math.min(bytes.length, opts.maxOutput), truncated };
  }
  let size = 0;
  const result = await run(bytes, codings, opts, (chunk) => (size += chunk.length));
  return result.ok ? { ok: true, size, truncated: result.truncated } : result;
}
