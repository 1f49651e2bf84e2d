/**
 * The structured parts of a message: query strings and urlencoded forms (ordered pairs, repeats
 * kept), multipart bodies (parts with their own headers), Cookie and Set-Cookie. Malformed input
 * is shown as it is, never dropped.
 */
import type { HeaderPair } from '../flow';

export type Pair = [name: string, value: string];

/** Percent-decodes, with `+` as a space; a broken escape leaves the text as it was. */
function formDecode(s: string): string {
  const spaced = s.replace(/\+/g, ' ');
  try {
    return decodeURIComponent(spaced);
  } catch {
    return spaced;
  }
}

/** `a=1&b=&c&a=2` as ordered pairs; a name without `=` has an empty value. */
export function parseUrlEncoded(text: string): Pair[] {
  if (text === '') return [];
  return text
    .split('&')
    .filter((part) => part !== '')
    .map((part) => {
      const eq = part.indexOf('=');
      return eq < 0
        ? [formDecode(part), '']
        : [formDecode(part.slice(0, eq)), formDecode(part.slice(eq + 1))];
    });
}

/** The query of a URL as ordered pairs (fragment ignored). */
export function parseQuery(url: string): Pair[] {
  const q = url.indexOf('?');
  if (q < 0) return [];
  const hash = url.indexOf('#', q);
  return parseUrlEncoded(url.slice(q + 1, hash < 0 ? undefined : hash));
}

export interface MultipartPart {
  headers: HeaderPair[];
  /** From Content-Disposition. */
  name?: string;
  filename?: string;
  contentType?: string;
  /** Where the part's body is in the whole body, and its length. */
  offset: number;
  length: number;
}

export type MultipartResult =
  { ok: true; parts: MultipartPart[]; complete: boolean } | { ok: false; error: string };

const CRLF_CRLF = [13, 10, 13, 10];

function indexOf(hay: Uint8Array, needle: readonly number[], from: number): number {
  const first = needle[0]!;
  outer: for (let i = hay.indexOf(first, from); i >= 0; i = hay.indexOf(first, i + 1)) {
    if (i + needle.length > hay.length) return -1;
    for (let k = 1; k < needle.length; k++) if (hay[i + k] !== needle[k]) continue outer;
    return i;
  }
  return -1;
}

function latin1(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return s;
}

/** A Content-Disposition parameter (`name="x"`), unquoted. */
function dispositionParam(value: string, param: string): string | undefined {
  const m = new RegExp(`(?:^|;)\\s*${param}\\s*=\\s*("((?:[^"\\\\]|\\\\.)*)"|[^;]*)`, 'i').exec(
    value,
  );
  if (!m) return undefined;
  return m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[1]!.trim();
}

/**
 * Splits a multipart body (RFC 2046) at `boundary`. Parts are located, not copied; `complete`
 * is false when the closing delimiter is missing (a truncated body), and the last part then runs
 * to the end of the bytes.
 */
export function parseMultipart(body: Uint8Array, boundary: string): MultipartResult {
  if (!boundary) return { ok: false, error: 'the Content-Type names no multipart boundary' };
  const delim = [...`--${boundary}`].map((c) => c.charCodeAt(0) & 0xff);
  let at = indexOf(body, delim, 0);
  if (at < 0) return { ok: false, error: `the boundary "${boundary}" does not occur in the body` };
  const parts: MultipartPart[] = [];
  for (;;) {
    let p = at + delim.length;
    if (body[p] === 0x2d && body[p + 1] === 0x2d) return { ok: true, parts, complete: true };
    while (body[p] === 0x20 || body[p] === 0x09) p++;
    if (body[p] === 13 && body[p + 1] === 10) p += 2;
    else if (body[p] === 10) p += 1;
    const headEnd = indexOf(body, CRLF_CRLF, p);
    const headers: HeaderPair[] = [];
    const bodyStart = headEnd < 0 ? body.length : headEnd + 4;
    for (const line of latin1(body.subarray(p, headEnd < 0 ? body.length : headEnd)).split(
      '\r\n',
    )) {
      const colon = line.indexOf(':');
      if (colon > 0) headers.push([line.slice(0, colon).trim(), line.slice(colon + 1).trim()]);
    }
    const next = indexOf(body, [13, 10, ...delim], bodyStart);
    const bodyEnd = next < 0 ? body.length : next;
    const disposition = headers.find(([n]) => n.toLowerCase() === 'content-disposition')?.[1];
    const part: MultipartPart = { headers, offset: bodyStart, length: bodyEnd - bodyStart };
    const name = disposition && dispositionParam(disposition, 'name');
    const filename = disposition && dispositionParam(disposition, 'filename');
    const type = headers.find(([n]) => n.toLowerCase() === 'content-type')?.[1];
    if (name !== undefined && name !== '') part.name = name;
    if (filename !== undefined && filename !== '') part.filename = filename;
    if (type) part.contentType = type;
    parts.push(part);
    if (next < 0) return { ok: true, parts, complete: false };
    at = next + 2;
  }
}

/** A `Cookie` request header as ordered name/value pairs. */
export function parseCookieHeader(value: string): Pair[] {
  return value
    .split(';')
    .map((c) => c.trim())
    .filter((c) => c !== '')
    .map((c) => {
      const eq = c.indexOf('=');
      return eq < 0 ? ['', c] : [c.slice(0, eq).trim(), c.slice(eq + 1).trim()];
    });
}

export interface SetCookie {
  name: string;
  value: string;
  /** Attributes in order as sent (`Path`, `HttpOnly`…); a flag has an empty value. */
  attributes: Pair[];
}

/** One `Set-Cookie` response header (RFC 6265 §5.2). */
export function parseSetCookie(value: string): SetCookie {
  const [pair = '', ...attrs] = value.split(';');
  const eq = pair.indexOf('=');
  const name = eq < 0 ? '' : pair.slice(0, eq).trim();
  const cookieValue = (eq < 0 ? pair : pair.slice(eq + 1)).trim();
  const attributes: Pair[] = [];
  for (const attr of attrs) {
    const a = attr.trim();
    if (a === '') continue;
    const i = a.indexOf('=');
    attributes.push(i < 0 ? [a, ''] : [a.slice(0, i).trim(), a.slice(i + 1).trim()]);
  }
  return { name, value: cookieValue, attributes };
}
