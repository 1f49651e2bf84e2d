/**
 * Where a text stops being JSON, in words a user can act on. `JSON.parse` says where only in
 * some of its messages, and differently between V8 versions (Node 20 gives an offset for some
 * errors and a quoted snippet for others), so a failed parse is scanned again here to find the
 * line and column. Only ever called after `JSON.parse` has failed.
 */

export interface JsonSyntaxError {
  /** 1-based. */
  line: number;
  /** 1-based, in UTF-16 code units (what editors show for the text the file holds). */
  column: number;
  problem: string;
}

class Stop {
  constructor(
    readonly at: number,
    readonly problem: string,
  ) {}
}

/** The first syntax error of `text`, or undefined if it is valid JSON (or nests too deep to scan). */
export function jsonSyntaxError(text: string): JsonSyntaxError | undefined {
  let i = 0;
  const n = text.length;
  const stop = (problem: string): never => {
    throw new Stop(i, problem);
  };
  const space = (): void => {
    while (i < n && ' \t\n\r'.includes(text[i]!)) i++;
  };
  const shown = (): string => {
    if (i >= n) return 'the end of the text';
    const ch = text[i]!;
    return /[\x20-\x7e]/.test(ch)
      ? `'${ch}'`
      : `character U+${ch.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
  };
  const string = (): void => {
    i++; // the opening quote
    for (;;) {
      if (i >= n) stop('a string is not closed');
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return;
      }
      if (c < 0x20) stop('a string holds a raw control character (a line break?)');
      if (c === 0x5c) {
        const e = text[i + 1];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6)))
            stop('a \\u escape needs 4 hex digits');
          i += 6;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) i += 2;
        else stop('a string has an invalid escape');
      } else i++;
    }
  };
  const literal = (): void => {
    const number = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (number && number[0].length > 0) {
      i += number[0].length;
      return;
    }
    for (const word of ['true', 'false', 'null']) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return;
      }
    }
    stop(`unexpected ${shown()} where a value should be`);
  };
  const value = (): void => {
    space();
    if (i >= n) stop('the text ends where a value should be');
    const c = text[i];
    if (c === '"') return string();
    if (c === '{') {
      i++;
      space();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        space();
        if (text[i] !== '"') stop(`expected a property name in double quotes, found ${shown()}`);
        string();
        space();
        if (text[i] !== ':') stop(`expected ':' after a property name, found ${shown()}`);
        i++;
        value();
        space();
        if (text[i] === ',') i++;
        else if (text[i] === '}') {
          i++;
          return;
        } else stop(`expected ',' or '}' after a property value, found ${shown()}`);
      }
    }
    if (c === '[') {
      i++;
      space();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (;;) {
        value();
        space();
        if (text[i] === ',') i++;
        else if (text[i] === ']') {
          i++;
          return;
        } else stop(`expected ',' or ']' after a list item, found ${shown()}`);
      }
    }
    literal();
  };
  try {
    value();
    space();
    if (i < n) stop(`unexpected ${shown()} after the end of the JSON value`);
    return undefined;
  } catch (e) {
    if (!(e instanceof Stop)) return undefined; // nested too deep for the stack: no position
    const before = text.slice(0, e.at);
    const lineStart = before.lastIndexOf('\n') + 1;
    return {
      line: before.split('\n').length,
      column: e.at - lineStart + 1,
      problem: e.problem,
    };
  }
}
