/** Payloads tests send: large streams written with backpressure, decompression bombs. */
import type { Writable } from 'node:stream';
import zlib from 'node:zlib';

/** Writes `chunk` repeatedly until `total` bytes have gone, honouring backpressure, then ends. */
export function pump(out: Writable, chunk: Buffer, total: number): void {
  let sent = 0;
  const more = (): void => {
    while (sent < total) {
      sent += chunk.length;
      if (!out.write(chunk)) return void out.once('drain', more);
    }
    out.end();
  };
  more();
}

/**
 * Writes `chunk` until a write has been refused and no 'drain' followed for `quietMs` (the peer
 * stopped reading and every buffer on the way is full); resolves with the bytes accepted. Stops
 * at `limit` bytes, so a path that buffers without bound shows up as reaching it.
 */
export function fillUntilStuck(
  out: Writable,
  chunk: Buffer,
  limit: number,
  quietMs = 300,
): Promise<number> {
  return new Promise((resolve) => {
    let written = 0;
    let timer: NodeJS.Timeout | undefined;
    const more = (): void => {
      clearTimeout(timer);
      let accepted = true;
      while (accepted && written < limit) {
        accepted = out.write(chunk);
        written += chunk.length;
      }
      if (written >= limit) return resolve(written);
      timer = setTimeout(() => resolve(written), quietMs);
      out.once('drain', more);
    };
    more();
  });
}

/**
 * `gib` GiB of zeros as gzip, a decompression bomb: one member made by streaming 64 MiB of zeros
 * through gzip, repeated (a multi-member gzip stream is one valid body, RFC 1952), so 10 GiB
 * costs ~10 MB and a fraction of a second to build.
 */
export async function gzipBomb(gib: number): Promise<Buffer> {
  const gzip = zlib.createGzip({ level: 9 });
  const parts: Buffer[] = [];
  gzip.on('data', (c: Buffer) => parts.push(c));
  const zeros = Buffer.alloc(1 << 20);
  for (let i = 0; i < 64; i++) gzip.write(zeros);
  await new Promise((resolve) => gzip.end(resolve));
  const member = Buffer.concat(parts);
  return Buffer.concat(Array.from({ length: gib * 16 }, () => member));
}
