/**
 * Writes flows as a HAR 1.2 file. Entries are converted and written one at a time (the whole
 * JSON is never held in memory) to a temporary file that is synced and renamed over the target
 * only once complete: an existing file is never left half-overwritten, and a failed write
 * leaves no temporary file behind.
 */
import { headerValue, type BodyInfo, type Flow, type HeaderPair } from '../../src-common/flow';
import {
  toHarEntry,
  toHarLog,
  WRITTEN_AS_SENT,
  type HarBodies,
  type HarBody,
} from '../../src-common/har/export';
import { writeAtomically } from '../data/atomic-write';
import { PRIVATE_FILE_MODE } from '../data/private-folder';
import { codingsToUndo, decodeBody } from './decode';

/** Where the bytes of a body come from: the body store, or an imported session's bodies. */
export interface BodyReader {
  read(bodyId: string): Promise<Buffer>;
}

/**
 * Body bytes written per body at most, after decoding. It bounds the memory of one entry (its
 * base64 text is a third larger still) and keeps each JSON string far below V8's string limit;
 * the sizes in the entry stay the real ones.
 */
export const HAR_BODY_CAP = 64 * 1024 * 1024;

export interface HarWriteOptions {
  /** Loupe's version, for the log's `creator`. */
  creatorVersion: string;
  /** Called after each entry with (entries written, entries in all). */
  onProgress?: (written: number, total: number) => void;
}

/**
 * One body for the HAR: decoded per its Content-Encoding where possible, cut at the cap.
 * `partial`: the stored bytes are only the start of the body (capture cap, or still arriving).
 * Bytes stored already decoded (`contentDecoded`, from an imported HAR) are written as they are.
 */
async function harBody(
  store: BodyReader,
  info: BodyInfo,
  headers: readonly HeaderPair[],
  partial: boolean,
): Promise<HarBody | undefined> {
  if (!info.bodyId) return undefined;
  const wire = await store.read(info.bodyId);
  if (wire.length === 0) return undefined;
  const capNote = `Loupe wrote the first ${HAR_BODY_CAP} bytes of it (the export's cap).`;
  if (info.contentDecoded) {
    const bytes = wire.subarray(0, HAR_BODY_CAP);
    const cut = bytes.length < wire.length;
    return { bytes, decoded: true, ...(cut ? { cut, note: capNote } : {}) };
  }
  const encoding = headerValue(headers, 'content-encoding');
  if (codingsToUndo(encoding).length > 0) {
    const decoded = await decodeBody(wire, encoding, {
      maxOutput: HAR_BODY_CAP,
      // A body that is only a start decodes as far as its bytes go.
      partialInput: partial,
    });
    if (decoded.ok) {
      const notes = [
        partial ? 'The text is what the bytes captured decode to.' : undefined,
        decoded.body.length === HAR_BODY_CAP && decoded.truncated ? capNote : undefined,
      ].filter((n) => n !== undefined);
      return {
        bytes: decoded.body,
        decoded: true,
        cut: decoded.truncated,
        ...(notes.length ? { note: notes.join(' ') } : {}),
      };
    }
    const bytes = wire.subarray(0, HAR_BODY_CAP);
    const cut = bytes.length < wire.length;
    const asSent = `${WRITTEN_AS_SENT} (${encoding}) because ${decoded.error}.`;
    return { bytes, cut, note: cut ? `${asSent} ${capNote}` : asSent };
  }
  const bytes = wire.subarray(0, HAR_BODY_CAP);
  return bytes.length < wire.length ? { bytes, cut: true, note: capNote } : { bytes };
}

async function bodiesFor(flow: Flow, store: BodyReader): Promise<HarBodies> {
  if (flow.kind !== 'http') return {};
  const pending = flow.state === 'pending';
  const req = flow.request;
  const request = await harBody(store, req.body, req.headers, pending || req.body.truncated);
  const res = flow.response;
  const response = res
    ? await harBody(store, res.body, res.headers, pending || res.body.truncated)
    : undefined;
  return { ...(request ? { request } : {}), ...(response ? { response } : {}) };
}

/**
 * Writes `flows` (in the order given) to `path` as HAR 1.2, with bodies from `store` (the
 * BodyStore, or anything that reads a body by id), readable by its owner only. Resolves
 * once the file is in place; on failure rejects, removes the temporary file and leaves any
 * existing file at `path` as it was.
 */
export async function writeHarFile(
  path: string,
  flows: readonly Flow[],
  store: BodyReader,
  opts: HarWriteOptions,
): Promise<void> {
  // The log around the entries comes from toHarLog itself; `entries` is its last field, so its
  // JSON ends in `[]}}` and the entries go between the brackets.
  const shell = JSON.stringify(toHarLog([], { name: 'Loupe', version: opts.creatorVersion }));
  const empty = '[]}}';
  if (!shell.endsWith(empty)) throw new Error('toHarLog no longer ends with its entries');
  const head = `${shell.slice(0, -empty.length)}[`;
  const tail = ']}}';
  await writeAtomically(path, PRIVATE_FILE_MODE, async (file) => {
    // A capture holds secrets: 0600 exactly, whatever the umask took from the mode asked for.
    await file.chmod(PRIVATE_FILE_MODE);
    await file.write(head);
    for (let i = 0; i < flows.length; i++) {
      const flow = flows[i]!;
      const entry = toHarEntry(flow, await bodiesFor(flow, store));
      await file.write(`${i ? ',' : ''}\n${JSON.stringify(entry)}`);
      opts.onProgress?.(i + 1, flows.length);
    }
    await file.write(`\n${tail}\n`);
  });
}
