/**
 * Writes flows as a HAR 1.2 file, entry by entry (the whole JSON is never held in memory), to a
 * temporary file that is renamed over the target only once complete: an existing file is never
 * left half-overwritten, and a failed write leaves no litter.
 */
import type { Flow } from '../../src-common/flow';
import { headerValue } from '../../src-common/flow';
import { toHarEntry, type HarBodies } from '../../src-common/har/export';
import { writeAtomically } from '../data/atomic-write';
import type { BodyStore } from './body-store';
import { decodeBody } from './decode';

/** Decoded bodies larger than this are cut in the HAR (the wire size is still reported). */
export const HAR_DECODED_CAP = 64 * 1024 * 1024;

async function bodiesFor(flow: Flow, store: BodyStore): Promise<HarBodies> {
  if (flow.kind !== 'http') return {};
  const out: HarBodies = {};
  if (flow.request.body.bodyId) out.request = await store.read(flow.request.body.bodyId);
  const res = flow.response;
  if (res?.body.bodyId) {
    const wire = await store.read(res.body.bodyId);
    const encoding = headerValue(res.headers, 'content-encoding');
    if (!encoding || res.body.truncated) {
      // A truncated compressed body cannot be decoded to its end; keep the wire bytes.
      out.response = wire;
      if (encoding)
        out.responseNote = `The body is ${encoding}-encoded and was truncated, so it is stored as captured.`;
    } else {
      const decoded = await decodeBody(wire, encoding, { maxOutput: HAR_DECODED_CAP });
      if (decoded.ok) {
        out.response = decoded.body;
        out.decoded = !decoded.truncated;
        if (decoded.truncated)
          out.responseNote = `Decoding stopped at ${HAR_DECODED_CAP} bytes (the body expands further; a decompression bomb is possible).`;
      } else {
        out.response = wire;
        out.responseNote = `Stored as captured: ${decoded.error}.`;
      }
    }
  }
  return out;
}

export interface HarWriteOptions {
  creatorVersion: string;
  /** Called after each entry with (written, total). */
  onProgress?: (written: number, total: number) => void;
}

export async function writeHarFile(
  path: string,
  flows: readonly Flow[],
  store: BodyStore,
  opts: HarWriteOptions,
): Promise<void> {
  await writeAtomically(path, 0o644, async (file) => {
    const creator = JSON.stringify({ name: 'Loupe', version: opts.creatorVersion });
    await file.write(`{"log":{"version":"1.2","creator":${creator},"entries":[`);
    for (let i = 0; i < flows.length; i++) {
      const flow = flows[i]!;
      const entry = toHarEntry(flow, await bodiesFor(flow, store));
      await file.write(`${i ? ',' : ''}\n${JSON.stringify(entry)}`);
      opts.onProgress?.(i + 1, flows.length);
    }
    await file.write('\n]}}\n');
  });
}
