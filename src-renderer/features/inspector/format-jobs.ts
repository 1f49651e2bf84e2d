/**
 * The formatting a body view needs before it can show anything: bytes to text, and JSON to
 * foldable pretty lines. The same steps run in the Web Worker (format-worker.ts) or, where no
 * worker can start, on the page in slices (format-client.ts). Results are one string plus typed
 * arrays of line positions: cheap to pass between threads, and only visible lines become DOM.
 */
import { jsonLineText, layoutJsonSteps } from '../../../src-common/inspect/json';
import { decodeText, lineBoundsSteps } from '../../../src-common/inspect/text';

export interface FormatJob {
  id: number;
  kind: 'text' | 'json';
  bytes: Uint8Array;
  charset?: string;
  /** Only the start of the body is loaded: the last character may be cut. */
  cut: boolean;
}

export interface TextResult {
  kind: 'text';
  text: string;
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
  text: string;
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
      const layout = yield* layoutJsonSteps(decoded.text, validate);
      if (layout.ok) {
        const { lines } = layout;
        const parts: string[] = new Array(lines.length);
        const bounds = new Uint32Array(lines.length * 2);
        const end = new Int32Array(lines.length).fill(-1);
        const count = new Uint32Array(lines.length);
        let at = 0;
        for (let i = 0; i < lines.length; i++) {
          if (i % 20_000 === 19_999) yield;
          const line = lines[i]!;
          const text = jsonLineText(line);
          parts[i] = text;
          bounds[2 * i] = at;
          bounds[2 * i + 1] = at + text.length;
          at += text.length + 1;
          if (line.end !== undefined) {
            end[i] = line.end;
            count[i] = line.count ?? 0;
          }
        }
        return { kind: 'json', text: parts.join('\n'), bounds, end, count };
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
