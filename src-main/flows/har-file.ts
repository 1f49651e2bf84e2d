/**
 * Writes flows as a HAR 1.2 file, the one writer of every HAR Loupe makes. Entries are written one
 * at a time, and an entry's big parts (long bodies, WebSocket messages) in pieces: no string ever
 * holds the file, an entry or one of those parts. A flow that cannot be written whole (a part past
 * its limit, a body that cannot be read) is written cut, saying so in `_truncated`; one that
 * cannot be written at all is left out, saying so in the log's comment. Either way the others are
 * written. The file goes to a temporary file that is synced and renamed over the target only once
 * complete: an existing file is never left half-overwritten, and a failed write (the disk's)
 * leaves no temporary file behind.
 */
import { headerValue, type BodyInfo, type Flow, type HeaderPair } from '../../src-common/flow';
import {
  HAR_LIMITS,
  harEntryParts,
  partFailed,
  toHarLog,
  WRITTEN_AS_SENT,
  type HarBodies,
  type HarBody,
  type HarEntryParts,
  type HarLimits,
} from '../../src-common/har/export';
import { jsonPieces } from '../../src-common/har/json-pieces';
import { writeAtomically } from '../data/atomic-write';
import { PRIVATE_FILE_MODE } from '../data/private-folder';
import { codingsToUndo, decodeBody } from './decode';
import { withMessageData } from './ws-messages';

/** Where the bytes of a body come from: the body store, or an imported session's bodies. */
export interface BodyReader {
  read(bodyId: string): Promise<Buffer>;
}

export interface HarWriteOptions {
  /** Loupe's version, for the log's `creator`. */
  creatorVersion: string;
  /** Called after each entry with (entries written, entries in all). */
  onProgress?: (written: number, total: number) => void;
  /** Lower limits than HAR_LIMITS, for tests. */
  limits?: Partial<HarLimits>;
}

/** What went into the file. */
export interface HarWriteResult {
  /** Entries in the file. */
  written: number;
  /** Of those, entries written cut (with `_truncated`). */
  cut: number;
  /** Flows left out (named in the log's comment). */
  skipped: number;
}

/** What a write put in the file, in words: "3 flows", and those cut or left out if any. */
export function harWriteWords({ written, cut, skipped }: HarWriteResult): string {
  const notes = [
    cut ? `${cut} written cut, as ${cut === 1 ? 'its' : 'their'} _truncated says` : '',
    skipped ? `${skipped} left out, as the log's comment says` : '',
  ].filter(Boolean);
  const flows = `${written} flow${written === 1 ? '' : 's'}`;
  return notes.length ? `${flows} (${notes.join('; ')})` : flows;
}

/** Text is handed to the file in writes of about this many characters. */
const WRITE_CHARS = 1024 * 1024;

/** Flows named one by one in the log's comment, at most. */
const NAMED_SKIPS = 10;

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/**
 * Limits for tests of the real command, which cannot capture gigabytes: every limit of an entry
 * at `LOUPE_TEST_HAR_ENTRY_LIMIT` bytes when that is set.
 */
export function testHarLimits(env: NodeJS.ProcessEnv): Partial<HarLimits> {
  const n = Number(env.LOUPE_TEST_HAR_ENTRY_LIMIT);
  return Number.isInteger(n) && n > 0 ? { bodyBytes: n, webSocketText: n } : {};
}

/**
 * One body for the HAR: decoded per its Content-Encoding where possible, cut at `cap`.
 * `partial`: the stored bytes are only the start of the body (capture cap, or still arriving).
 * Bytes stored already decoded (`contentDecoded`, from an imported HAR) are written as they are.
 */
async function harBody(
  store: BodyReader,
  info: BodyInfo,
  headers: readonly HeaderPair[],
  partial: boolean,
  cap: number,
): Promise<HarBody | undefined> {
  if (!info.bodyId) return undefined;
  let wire: Buffer;
  try {
    wire = await store.read(info.bodyId);
  } catch (err) {
    const words = `Loupe could not read this body from its store (${message(err)}), so its text is left out.`;
    return { bytes: new Uint8Array(), cut: true, note: words, exportCut: words };
  }
  if (wire.length === 0) return undefined;
  const capNote = `Loupe wrote the first ${cap} bytes of it (the export's cap).`;
  const capped = (bytes: Buffer, rest: Omit<HarBody, 'bytes'>): HarBody => {
    const cut = bytes.length < wire.length;
    return cut ? { ...rest, bytes, cut, note: capNote, exportCut: capNote } : { ...rest, bytes };
  };
  if (info.contentDecoded) return capped(wire.subarray(0, cap), { decoded: true });
  const encoding = headerValue(headers, 'content-encoding');
  if (codingsToUndo(encoding).length > 0) {
    const decoded = await decodeBody(wire, encoding, {
      maxOutput: cap,
      // A body that is only a start decodes as far as its bytes go.
      partialInput: partial,
    });
    if (decoded.ok) {
      const atCap = decoded.body.length === cap && decoded.truncated;
      const notes = [
        partial ? 'The text is what the bytes captured decode to.' : undefined,
        atCap ? capNote : undefined,
      ].filter((n) => n !== undefined);
      return {
        bytes: decoded.body,
        decoded: true,
        cut: decoded.truncated,
        ...(notes.length ? { note: notes.join(' ') } : {}),
        ...(atCap ? { exportCut: capNote } : {}),
      };
    }
    const asSent = `${WRITTEN_AS_SENT} (${encoding}) because ${decoded.error}.`;
    const body = capped(wire.subarray(0, cap), {});
    return { ...body, note: body.cut ? `${asSent} ${capNote}` : asSent };
  }
  return capped(wire.subarray(0, cap), {});
}

async function bodiesFor(flow: Flow, store: BodyReader, cap: number): Promise<HarBodies> {
  if (flow.kind !== 'http') return {};
  const pending = flow.state === 'pending';
  const req = flow.request;
  const request = await harBody(store, req.body, req.headers, pending || req.body.truncated, cap);
  const res = flow.response;
  const response = res
    ? await harBody(store, res.body, res.headers, pending || res.body.truncated, cap)
    : undefined;
  return { ...(request ? { request } : {}), ...(response ? { response } : {}) };
}

/** The log's comment on the flows left out, or undefined when none was. */
function skippedComment(skipped: readonly string[], total: number): string | undefined {
  if (skipped.length === 0) return undefined;
  const named = skipped.slice(0, NAMED_SKIPS).join(', ');
  const more = skipped.length > NAMED_SKIPS ? ` and ${skipped.length - NAMED_SKIPS} more` : '';
  return `Loupe could not write ${skipped.length} of ${total} flow${total === 1 ? '' : 's'}: ${named}${more}.`;
}

/**
 * Writes `flows` (in the order given) to `path` as HAR 1.2, with bodies from `store` (the
 * BodyStore, or anything that reads a body by id), readable by its owner only. Resolves once
 * the file is in place, saying what went in; rejects only when the file itself cannot be written
 * (the disk), then removes the temporary file and leaves any existing file at `path` as it was.
 */
export async function writeHarFile(
  path: string,
  flows: readonly Flow[],
  store: BodyReader,
  opts: HarWriteOptions,
): Promise<HarWriteResult> {
  const limits: HarLimits = { ...HAR_LIMITS, ...opts.limits };
  // The log around the entries comes from toHarLog itself; `entries` is its last field, so its
  // JSON ends in `[]}}` and the entries go between the brackets.
  const shell = JSON.stringify(toHarLog([], { name: 'Loupe', version: opts.creatorVersion }));
  const empty = '[]}}';
  if (!shell.endsWith(empty)) throw new Error('toHarLog no longer ends with its entries');
  const result: HarWriteResult = { written: 0, cut: 0, skipped: 0 };
  const skipped: string[] = [];
  await writeAtomically(path, PRIVATE_FILE_MODE, async (file) => {
    // A capture holds secrets: 0600 exactly, whatever the umask took from the mode asked for.
    await file.chmod(PRIVATE_FILE_MODE);
    let pending: string[] = [];
    let chars = 0;
    const flush = async (): Promise<void> => {
      const out = pending.join('');
      [pending, chars] = [[], 0];
      await file.write(out);
    };
    const put = async (text: string): Promise<void> => {
      pending.push(text);
      chars += text.length;
      if (chars >= WRITE_CHARS) await flush();
    };
    await put(`${shell.slice(0, -empty.length)}[`);
    for (const [i, flow] of flows.entries()) {
      let parts: HarEntryParts;
      try {
        // WebSocket payloads live in the body store (ws-messages.ts): read in for this entry only.
        const full = await withMessageData(flow, store, { maxChars: limits.webSocketText });
        parts = harEntryParts(full, await bodiesFor(full, store, limits.bodyBytes), limits);
      } catch (err) {
        // Nothing of it is written yet: it is left out, and the file stays valid.
        skipped.push(`${flow.id} (${message(err)})`);
        opts.onProgress?.(i + 1, flows.length);
        continue;
      }
      await put(result.written ? ',\n' : '\n');
      const onPartError = (err: unknown): void => void parts.cuts.push(partFailed(err));
      for (const piece of jsonPieces(parts.entry, onPartError)) await put(piece);
      // Each entry is on disk before the next is made.
      await flush();
      result.written++;
      if (parts.cuts.length) result.cut++;
      opts.onProgress?.(i + 1, flows.length);
    }
    const comment = skippedComment(skipped, flows.length);
    await put(`\n]${comment ? `,"comment":${JSON.stringify(comment)}` : ''}}}\n`);
    await flush();
  });
  result.skipped = skipped.length;
  return result;
}
