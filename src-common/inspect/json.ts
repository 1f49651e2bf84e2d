/**
 * JSON for the inspector: validated by the runtime's parser, then laid out as lines straight from
 * the source text, so numbers (`1.0`, 2^64), key order and duplicate keys show as sent, and a
 * container's lines know where it ends, which is all folding needs.
 */

export interface JsonLine {
  depth: number;
  /** The key as written in the source, quotes and escapes included. */
  key?: string;
  /** A scalar as written, or `{` / `[` opening a container, `}` / `]` closing one, `{}` / `[]`. */
  value: string;
  /** A comma follows. */
  comma: boolean;
  /** On an opening line: the index of the closing line. */
  end?: number;
  /** On an opening line: how many members or items the container has. */
  count?: number;
}

export type JsonLayout = { ok: true; lines: JsonLine[] } | { ok: false; error: string };

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

/** Lays valid JSON out as lines; invalid JSON comes back as the parser's words. */
export function layoutJson(text: string): JsonLayout {
  const steps = layoutJsonSteps(text);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/** Tokens laid out between two yields of `layoutJsonSteps`. */
const TOKENS_PER_STEP = 20_000;

/**
 * `layoutJson` in steps: it yields every few thousand tokens so a caller without a worker can
 * give the event loop a turn. `validate: false` skips the runtime's parser (one uninterruptible
 * call) and trusts the layout's own checks: brackets must balance and pair up.
 */
export function* layoutJsonSteps(text: string, validate = true): Generator<void, JsonLayout> {
  if (validate) {
    try {
      JSON.parse(text);
    } catch (err) {
      return { ok: false, error: `not valid JSON: ${(err as Error).message}` };
    }
  }
  let tokens = 0;
  const lines: JsonLine[] = [];
  /** Open containers: their opening line's index. */
  const open: number[] = [];
  let key: string | undefined;
  let i = 0;
  const n = text.length;
  while (i < n) {
    if (++tokens % TOKENS_PER_STEP === 0) yield;
    const c = text.charCodeAt(i);
    if (WS.has(c) || c === 0xfeff) {
      i++;
      continue;
    }
    if (c === 0x2c /* , */) {
      lines[lines.length - 1]!.comma = true;
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
      if (depth > 0) lines[open[depth - 1]!]!.count! += 1;
      if (text.charCodeAt(j) === close) {
        lines.push({ depth, key, value: c === 0x7b ? '{}' : '[]', comma: false });
        key = undefined;
        i = j + 1;
        continue;
      }
      open.push(lines.length);
      lines.push({ depth, key, value: text[i]!, comma: false, count: 0 });
      key = undefined;
      i++;
      continue;
    }
    if (c === 0x7d || c === 0x5d /* } ] */) {
      const start = open.pop();
      if (start === undefined || lines[start]!.value !== (c === 0x7d ? '{' : '[')) {
        return { ok: false, error: `not valid JSON: unexpected '${text[i]}' at position ${i}` };
      }
      lines[start]!.end = lines.length;
      lines.push({ depth: depth - 1, value: text[i]!, comma: false });
      i++;
      continue;
    }
    // A scalar, or a key when inside an object and a colon follows.
    let end: number;
    if (c === 0x22) end = stringEnd(text, i);
    else {
      end = i + 1;
      while (end < n) {
        const d = text.charCodeAt(end);
        if (WS.has(d) || d === 0x2c || d === 0x7d || d === 0x5d) break;
        end++;
      }
    }
    const token = text.slice(i, end);
    i = end;
    if (c === 0x22 && key === undefined && depth > 0 && lines[open[depth - 1]!]!.value === '{') {
      let j = i;
      while (j < n && WS.has(text.charCodeAt(j))) j++;
      if (text.charCodeAt(j) === 0x3a) {
        key = token;
        continue;
      }
    }
    if (depth > 0) lines[open[depth - 1]!]!.count! += 1;
    lines.push({ depth, key, value: token, comma: false });
    key = undefined;
  }
  if (open.length > 0 || lines.length === 0) {
    return { ok: false, error: 'not valid JSON: it ends before its brackets close' };
  }
  return { ok: true, lines };
}

const INDENT = '  ';

/** One line as pretty text. */
export function jsonLineText(line: JsonLine): string {
  const key = line.key === undefined ? '' : `${line.key}: `;
  return `${INDENT.repeat(line.depth)}${key}${line.value}${line.comma ? ',' : ''}`;
}

/** The whole layout as pretty-printed text (two spaces, as `JSON.stringify(v, null, 2)`). */
export function prettyJson(lines: readonly JsonLine[]): string {
  return lines.map(jsonLineText).join('\n');
}

/** What a folded container shows in place of its lines: `{…} 3 keys`, `[…] 1 item`. */
export function foldedSummary(line: JsonLine): string {
  const n = line.count ?? 0;
  if (line.value === '{') return `{…} ${n} ${n === 1 ? 'key' : 'keys'}`;
  return `[…] ${n} ${n === 1 ? 'item' : 'items'}`;
}

/**
 * The lines shown when the containers opening at the `folded` indices are folded: a folded
 * container's opening line stays, its contents and closing line go.
 */
export function visibleJsonLines(
  lines: readonly JsonLine[],
  folded: ReadonlySet<number>,
): number[] {
  const out: number[] = [];
  for (let i = 0; i < lines.length; i++) {
    out.push(i);
    const end = lines[i]!.end;
    if (end !== undefined && folded.has(i)) i = end;
  }
  return out;
}
