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

/** `mib` MiB of zeros, gzip-compressed (~1 KB per MiB): a decompression bomb, built streaming. */
export async function gzipBomb(mib: number): Promise<Buffer> {
  const gzip = zlib.createGzip({ level: 9 });
  const parts: Buffer[] = [];
  gzip.on('data', (c: Buffer) => parts.push(c));
  const zeros = Buffer.alloc(1 << 20);
  for (let i = 0; i < mib; i++) gzip.write(zeros);
  await new Promise((resolve) => gzip.end(resolve));
  return Buffer.concat(parts);
}
