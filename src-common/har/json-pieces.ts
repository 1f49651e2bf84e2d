/**
 * JSON written in pieces. A HAR entry is small but for a few parts (a body's text, a WebSocket's
 * messages) that can each be longer than the longest string V8 holds (~512 MiB). Those parts are
 * values here whose content comes while it is written, so no string ever holds a whole part, a
 * whole entry or a whole file. Pure (no Node): the writer decides where the pieces go.
 */

/** A string value whose text comes in pieces, each escaped on its own. */
export class TextPieces {
  constructor(readonly pieces: () => Iterable<string>) {}
}

/** An array whose items come one by one. */
export class ItemPieces<T> {
  constructor(readonly items: () => Iterable<T>) {}
}

/**
 * A value known only once the writer reaches it, after everything before it is written: the
 * words on what a part before it had to leave out. `undefined` leaves its key out.
 */
export class Later<T> {
  constructor(readonly value: () => T | undefined) {}
}

/**
 * A value with its parts in pieces, as `jsonPieces` takes it: any string inside it may come as
 * TextPieces, any array as ItemPieces, any value inside it as Later.
 */
export type Pieced<T> = T extends string
  ? T | TextPieces
  : T extends readonly (infer U)[]
    ? readonly InPieces<U>[] | ItemPieces<InPieces<U>>
    : T extends object
      ? { [K in keyof T]: InPieces<T[K]> }
      : T;

/** A value inside a Pieced one: pieced itself, or decided later. */
export type InPieces<T> = Later<T> | Pieced<T>;

/** Called when a part's source fails: the part is closed where it stopped, the JSON stays valid. */
export type OnPartError = (err: unknown) => void;

const escaped = (text: string): string => JSON.stringify(text).slice(1, -1);

/** The next item of a part's source, or `done` when it ends or fails (reported to `onError`). */
function next<T>(source: Iterator<T>, onError: OnPartError): IteratorResult<T> {
  try {
    return source.next();
  } catch (err) {
    onError(err);
    return { done: true, value: undefined };
  }
}

/**
 * The JSON text of `value`, as JSON.stringify would write it, in pieces: plain values whole,
 * TextPieces and ItemPieces as their sources give them, Later values when reached. A source that
 * throws ends its part there, closed, and is reported to `onError`; nothing else is caught.
 */
export function* jsonPieces(value: unknown, onError: OnPartError): Generator<string> {
  if (value instanceof Later) value = value.value();
  if (value instanceof TextPieces) {
    yield '"';
    const source = value.pieces()[Symbol.iterator]();
    for (let r = next(source, onError); !r.done; r = next(source, onError)) yield escaped(r.value);
    yield '"';
  } else if (value instanceof ItemPieces || Array.isArray(value)) {
    yield '[';
    const source = (value instanceof ItemPieces ? value.items() : value)[Symbol.iterator]();
    let first = true;
    for (let r = next(source, onError); !r.done; r = next(source, onError)) {
      if (!first) yield ',';
      first = false;
      // As JSON.stringify does, an item with no JSON value is written null.
      yield* r.value === undefined ? ['null'] : jsonPieces(r.value, onError);
    }
    yield ']';
  } else if (value !== null && typeof value === 'object') {
    yield '{';
    let first = true;
    for (const [key, raw] of Object.entries(value)) {
      const item: unknown = raw instanceof Later ? raw.value() : raw;
      if (item === undefined) continue;
      yield `${first ? '' : ','}${JSON.stringify(key)}:`;
      first = false;
      yield* jsonPieces(item, onError);
    }
    yield '}';
  } else {
    yield JSON.stringify(value);
  }
}

/** Slices of a long string for TextPieces, never splitting a surrogate pair. */
export function* stringSlices(text: string, size: number): Generator<string> {
  for (let at = 0; at < text.length;) {
    let end = Math.min(at + size, text.length);
    const last = text.charCodeAt(end - 1);
    if (end < text.length && end - at > 1 && last >= 0xd800 && last <= 0xdbff) end--;
    yield text.slice(at, end);
    at = end;
  }
}
