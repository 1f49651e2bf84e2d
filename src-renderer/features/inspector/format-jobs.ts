/**
 * The formatting a body view needs before it can show anything: bytes to text, and JSON to
 * foldable pretty lines. The same steps run in the Web Worker (format-worker.ts) or, where no
 * worker can start, on the page in slices (format-client.ts). Results are the text plus typed
 * arrays of line positions: cheap to pass between threads, and only visible lines become DOM.
 */
import { prettyJsonSteps } from '../../../src-common/inspect/json';
import { decodeText, lineBoundsSteps } from '../../../src-common/inspect/text';

export interface FormatJob {
  id: number;
  kind: 'text' | 'json';
  bytes: Uint8Array;
  charset?: string;
  /** Only the start of the body is loaded: the last character may be cut. */
  cut: boolean;
}

/**
 * Formatted text: a string, or its UTF-16 code units. The worker sends code units, since a typed
 * array is handed over where a string of many megabytes is copied on the page (~45 ms for 12 MB).
 */
export type Doc = string | Uint16Array;

/** Characters `start` to `end` of a formatted text (a line: at most a few thousand). */
export function docSlice(doc: Doc, start: number, end: number): string {
  if (typeof doc === 'string') return doc.slice(start, end);
  let out = '';
  for (let i = start; i < end; i += 0x2000) {
    const part = doc.subarray(i, Math.min(end, i + 0x2000));
    out += String.fromCharCode.apply(null, part as unknown as number[]);
  }
  return out;
}

/** A string as UTF-16 code units (in the worker, before the text crosses to the page). */
export function toCodeUnits(text: string): Uint16Array {
  const out = new Uint16Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

/**
 * A piece of a job's bytes sent ahead of the job (large bodies cross in pieces); the job itself
 * then carries the last piece.
 */
export interface PieceMessage {
  id: number;
  piece: Uint8Array;
}

export interface TextResult {
  kind: 'text';
  text: Doc;
  /** `[start, end]` character offsets of each display line in `text`. */
  bounds: Uint32Array;
  encoding: string;
  /** The bytes were not valid UTF-8 (or their charset) and a fallback decoded them. */
  fallback: boolean;
  /** Why a JSON view fell back to text, in words. */
  note?: string;
}

export interface JsonResult {
  kind: 'json';
  /** The pretty-printed document. */
  text: Doc;
  bounds: Uint32Array;
  /** Per line: the index of the line closing the container it opens, else -1. */
  end: Int32Array;
  /** Per opening line: members or items of its container. */
  count: Uint32Array;
}

export type FormatResult = TextResult | JsonResult;

/** Steps of one job; `validate` runs the runtime's JSON parser (one long call: worker only). */
export function* formatSteps(job: FormatJob, validate: boolean): Generator<void, FormatResult> {
  const decoded = decodeText(job.bytes, job.charset, job.cut);
  yield;
  let note: string | undefined;
  if (job.kind === 'json') {
    if (job.cut) note = 'Only part of the body is loaded: load all of it to see it as JSON.';
    else {
      const layout = yield* prettyJsonSteps(decoded.text, validate);
      if (layout.ok) {
        const { chars, bounds, end, count } = layout;
        return { kind: 'json', text: chars, bounds, end, count };
      }
      note = `${layout.error[0]!.toUpperCase()}${layout.error.slice(1)}; shown as text.`;
    }
  }
  const bounds = yield* lineBoundsSteps(decoded.text);
  const result: TextResult = {
    kind: 'text',
    text: decoded.text,
    bounds,
    encoding: decoded.encoding,
    fallback: decoded.fallback,
  };
  if (note) result.note = note;
  return result;
}

/** Runs a job to its end at once (in the worker). */
export function formatNow(job: FormatJob): FormatResult {
  const steps = formatSteps(job, true);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}
