/**
 * JSON for the inspector: validated by the runtime's parser, then laid out as lines straight from
 * the source text, so numbers (`1.0`, 2^64), key order and duplicate keys show as sent, and a
 * container's opening line knows where it ends and how many members it has, which is all
 * folding needs.
 */

const WS = new Set([0x20, 0x09, 0x0a, 0x0d]);

/** The end (exclusive) of the string literal starting at `i` (a quote). */
function stringEnd(text: string, i: number): number {
  let j = i + 1;
  for (;;) {
    const q = text.indexOf('"', j);
    if (q < 0) return text.length;
    let slashes = 0;
    for (let k = q - 1; text.charCodeAt(k) === 0x5c; k--) slashes++;
    if (slashes % 2 === 0) return q + 1;
    j = q + 1;
  }
}

/** Tokens laid out between two yields of `prettyJsonSteps`. */
const TOKENS_PER_STEP = 20_000;

/**
 * The pretty text of a document as UTF-16 code units, with where each line is: what a large body's
 * view needs, built without an object or a string per line. A million small objects are what made
 * the garbage collector stop the page for 100 ms at a time, and one typed array crosses from a
 * worker as a transfer where a 12 MB string is copied on the page.
 */
export interface PrettyJson {
  ok: true;
  /** The pretty-printed document (two spaces, lines joined by `\n`). */
  chars: Uint16Array;
  /** `[start, end]` offsets in `chars` of each line, without its `\n`. */
  bounds: Uint32Array;
  /** Per line: the index of the line closing the container it opens, else -1. */
  end: Int32Array;
  /** Per opening line: members or items of its container. */
  count: Uint32Array;
}

export type PrettyJsonResult = PrettyJson | { ok: false; error: string };

/**
 * Valid JSON as pretty text (two spaces, as `JSON.stringify(v, null, 2)`), laid out from the
 * source so numbers, key order and duplicate keys stay as written; invalid JSON comes back as the
 * parser's words. It yields every few thousand tokens so a caller without a worker can give the
 * event loop a turn. `validate: false` skips the runtime's parser (one uninterruptible call) and
 * trusts the layout's own checks: brackets must balance and pair up.
 */
export function* prettyJsonSteps(text: string, validate = true): Generator<void, PrettyJsonResult> {
  if (validate) {
    try {
      JSON.parse(text);
    } catch (err) {
      return { ok: false, error: `not valid JSON: ${(err as Error).message}` };
    }
  }
  const n = text.length;
  let chars = new Uint16Array(Math.max(1024, Math.ceil(n * 1.5)));
  let used = 0;
  let bounds = new Uint32Array(2048);
  let end = new Int32Array(1024).fill(-1);
  let count = new Uint32Array(1024);
  let lines = 0;
  const room = (more: number): void => {
    if (used + more <= chars.length) return;
    const grown = new Uint16Array(Math.max(chars.length * 2, used + more));
    grown.set(chars.subarray(0, used));
    chars = grown;
  };
  /** Starts a line: its `\n`, indent and key (a `[start, end)` range of `text`, or none). */
  const begin = (depth: number, keyStart: number, keyEnd: number): void => {
    if (lines === end.length) {
      const b = new Uint32Array(bounds.length * 2);
      b.set(bounds);
      bounds = b;
      const e = new Int32Array(end.length * 2).fill(-1);
      e.set(end);
      end = e;
      const c = new Uint32Array(count.length * 2);
      c.set(count);
      count = c;
    }
    room(1 + depth * 2 + (keyEnd - keyStart) + 2);
    if (lines > 0) chars[used++] = 0x0a;
    bounds[2 * lines] = used;
    for (let k = 0; k < depth * 2; k++) chars[used++] = 0x20;
    if (keyEnd > keyStart) {
      for (let k = keyStart; k < keyEnd; k++) chars[used++] = text.charCodeAt(k);
      chars[used++] = 0x3a;
      chars[used++] = 0x20;
    }
    lines++;
  };
  /** Ends the line begun last with characters `from..to` of `text`. */
  const finish = (from: number, to: number): void => {
    room(to - from);
    for (let k = from; k < to; k++) chars[used++] = text.charCodeAt(k);
    bounds[2 * lines - 1] = used;
  };
  let tokens = 0;
  /** Open containers: their opening line's index, and their bracket. */
  const open: number[] = [];
  const openKind: number[] = [];
  let keyStart = 0;
  let keyEnd = 0;
  let i = 0;
  while (i < n) {
    if (++tokens % TOKENS_PER_STEP === 0) yield;
    const c = text.charCodeAt(i);
    if (WS.has(c) || c === 0xfeff) {
      i++;
      continue;
    }
    if (c === 0x2c /* , */) {
      // Only white space lies between a line's value and its comma: the line is still the last.
      room(1);
      chars[used++] = 0x2c;
      if (lines > 0) bounds[2 * lines - 1] = used;
      i++;
      continue;
    }
    if (c === 0x3a /* : */) {
      i++;
      continue;
    }
    const depth = open.length;
    if (c === 0x7b || c === 0x5b /* { [ */) {
      const close = c === 0x7b ? 0x7d : 0x5d;
      let j = i + 1;
      while (j < n && WS.has(text.charCodeAt(j))) j++;
      if (depth > 0) count[open[depth - 1]!]! += 1;
      begin(depth, keyStart, keyEnd);
      keyStart = keyEnd = 0;
      if (text.charCodeAt(j) === close) {
        room(2);
        chars[used++] = c;
        chars[used++] = close;
        bounds[2 * lines - 1] = used;
        i = j + 1;
        continue;
      }
      open.push(lines - 1);
      openKind.push(c);
      finish(i, i + 1);
      i++;
      continue;
    }
    if (c === 0x7d || c === 0x5d /* } ] */) {
      const start = open.pop();
      const kind = openKind.pop();
      if (start === undefined || kind !== (c === 0x7d ? 0x7b : 0x5b)) {
        return { ok: false, error: `not valid JSON: unexpected '${text[i]}' at position ${i}` };
      }
      end[start] = lines;
      begin(depth - 1, 0, 0);
      finish(i, i + 1);
      i++;
      continue;
    }
    // A scalar, or a key when inside an object and a colon follows.
    let stop: number;
    if (c === 0x22) stop = stringEnd(text, i);
    else {
      stop = i + 1;
      while (stop < n) {
        const d = text.charCodeAt(stop);
        if (WS.has(d) || d === 0x2c || d === 0x7d || d === 0x5d) break;
        stop++;
      }
    }
    if (c === 0x22 && keyEnd === 0 && depth > 0 && openKind[depth - 1] === 0x7b) {
      let j = stop;
      while (j < n && WS.has(text.charCodeAt(j))) j++;
      if (text.charCodeAt(j) === 0x3a) {
        keyStart = i;
        keyEnd = stop;
        i = stop;
        continue;
      }
    }
    if (depth > 0) count[open[depth - 1]!]! += 1;
    begin(depth, keyStart, keyEnd);
    keyStart = keyEnd = 0;
    finish(i, stop);
    i = stop;
  }
  if (open.length > 0 || lines === 0) {
    return { ok: false, error: 'not valid JSON: it ends before its brackets close' };
  }
  return {
    ok: true,
    chars: chars.subarray(0, used),
    bounds: bounds.subarray(0, 2 * lines),
    end: end.subarray(0, lines),
    count: count.subarray(0, lines),
  };
}

/** `prettyJsonSteps` run to the end at once (small documents: a WebSocket message). */
export function prettyJson(text: string): PrettyJsonResult {
  const steps = prettyJsonSteps(text);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}
