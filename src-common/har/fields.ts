/**
 * The small conversions a HAR entry is made of: text or base64 for bytes, query and form
 * parameters, cookies, head sizes, addresses. Pure and web-standard only (no Node, no DOM).
 */
import { headerValues, type HeaderPair } from '../flow';
import type { HarCookie, HarNameValue } from './types';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The text of a body when it is valid UTF-8, else undefined (the body is then base64). */
export function utf8Text(bytes: Uint8Array): string | undefined {
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}

/**
 * Base64 without Buffer. `btoa` takes a binary string; building it with one
 * `String.fromCharCode(...bytes)` would overflow the call stack on a large body, so it goes in
 * slices whose length is a multiple of 3 (no padding in between).
 */
export function toBase64(bytes: Uint8Array): string {
  const step = 0x6000;
  const parts: string[] = [];
  for (let i = 0; i < bytes.length; i += step) {
    parts.push(btoa(String.fromCharCode(...bytes.subarray(i, i + step))));
  }
  return parts.join('');
}

/** Whether `bytes` are valid UTF-8, read `slice` bytes at a time (no string of the whole). */
export function isUtf8(bytes: Uint8Array, slice: number): boolean {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  try {
    for (let i = 0; i < bytes.length; i += slice) {
      decoder.decode(bytes.subarray(i, i + slice), { stream: true });
    }
    decoder.decode();
    return true;
  } catch {
    return false;
  }
}

/** The text of UTF-8 `bytes` (see isUtf8), `slice` bytes at a time; no code point is split. */
export function* utf8Pieces(bytes: Uint8Array, slice: number): Generator<string> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  for (let i = 0; i < bytes.length; i += slice) {
    const text = decoder.decode(bytes.subarray(i, i + slice), { stream: true });
    if (text) yield text;
  }
  const rest = decoder.decode();
  if (rest) yield rest;
}

/** The base64 of `bytes`, about `slice` bytes at a time (a multiple of 3: no padding inside). */
export function* base64Pieces(bytes: Uint8Array, slice: number): Generator<string> {
  const step = Math.max(3, slice - (slice % 3));
  for (let i = 0; i < bytes.length; i += step) yield toBase64(bytes.subarray(i, i + step));
}

/** Headers as HAR name/value objects, case and order as recorded. */
export function harHeaders(headers: readonly HeaderPair[]): HarNameValue[] {
  return headers.map(([name, value]) => ({ name, value }));
}

/** Percent-decoding with `+` as space (form and query semantics); malformed input stays raw. */
function unescape(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
}

/** `a=1&b=two+words` as ordered pairs, duplicates kept, as the query and form body carry them. */
export function urlencodedParams(text: string): HarNameValue[] {
  const out: HarNameValue[] = [];
  for (const part of text.split('&')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    out.push(
      eq < 0
        ? { name: unescape(part), value: '' }
        : { name: unescape(part.slice(0, eq)), value: unescape(part.slice(eq + 1)) },
    );
  }
  return out;
}

/** The query of a URL (between `?` and `#`), or ''. */
export function queryOf(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return '';
  const hash = url.indexOf('#', q);
  return url.slice(q + 1, hash < 0 ? undefined : hash);
}

/** Characters RFC 3986 allows in a URI; anything else (spaces, raw UTF-8) needs escaping. */
const URI = /^[a-z][a-z0-9+.-]*:[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=%]*$/i;

/**
 * The URL as HAR carries it: as received where it is a valid URI (keeping its exact form), else
 * the WHATWG-normalised one; undefined when it is not an absolute URL at all.
 */
export function harUrl(url: string): string | undefined {
  if (URI.test(url)) return url;
  try {
    return new URL(url).href;
  } catch {
    return undefined;
  }
}

/** The request target of an absolute URL as it appears in an origin-form request line. */
export function requestTarget(url: string): string {
  const rest = url.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i, '');
  const hash = rest.indexOf('#');
  const target = hash < 0 ? rest : rest.slice(0, hash);
  return target.startsWith('/') ? target : `/${target}`;
}

/**
 * Bytes of an HTTP/1.x head: start line, one `name: value` line per header, and the blank line.
 * Node reads header bytes as latin1, so one character is one byte. HTTP/2 heads are compressed
 * frames with no such size: -1.
 */
export function headSize(
  startLine: string,
  headers: readonly HeaderPair[],
  httpVersion: string,
): number {
  if (!/^HTTP\/1\.[01]$/.test(httpVersion)) return -1;
  let n = startLine.length + 2;
  for (const [name, value] of headers) n += name.length + 2 + value.length + 2;
  return n + 2;
}

/** Cookies of `Cookie` request headers, in order. */
export function requestCookies(headers: readonly HeaderPair[]): HarCookie[] {
  const out: HarCookie[] = [];
  for (const header of headerValues(headers, 'cookie')) {
    for (const raw of header.split(';')) {
      const c = raw.trim();
      if (!c) continue;
      const eq = c.indexOf('=');
      out.push(eq < 0 ? { name: '', value: c } : { name: c.slice(0, eq), value: c.slice(eq + 1) });
    }
  }
  return out;
}

/** Cookies of `Set-Cookie` response headers; `receivedAt` anchors `Max-Age`. */
export function responseCookies(headers: readonly HeaderPair[], receivedAt: number): HarCookie[] {
  return headerValues(headers, 'set-cookie').map((line) => {
    const [first = '', ...attrs] = line.split(';');
    const eq = first.indexOf('=');
    const cookie: HarCookie = {
      name: eq < 0 ? '' : first.slice(0, eq).trim(),
      value: (eq < 0 ? first : first.slice(eq + 1)).trim(),
    };
    let maxAge: number | undefined;
    for (const attr of attrs) {
      const at = attr.indexOf('=');
      const key = (at < 0 ? attr : attr.slice(0, at)).trim().toLowerCase();
      const value = at < 0 ? '' : attr.slice(at + 1).trim();
      if (key === 'path') cookie.path = value;
      else if (key === 'domain') cookie.domain = value;
      else if (key === 'httponly') cookie.httpOnly = true;
      else if (key === 'secure') cookie.secure = true;
      else if (key === 'max-age' && /^-?\d+$/.test(value)) maxAge = Number(value);
      else if (key === 'expires') {
        const date = new Date(value);
        if (!Number.isNaN(date.getTime())) cookie.expires = date.toISOString();
      }
    }
    // RFC 6265: Max-Age wins over Expires; zero or less means already expired.
    if (maxAge !== undefined) {
      cookie.expires = new Date(maxAge <= 0 ? 0 : receivedAt + maxAge * 1000).toISOString();
    }
    return cookie;
  });
}

/**
 * An address as HAR's `serverIPAddress` wants it: a plain IPv4 or IPv6 literal, without
 * brackets or a zone, an IPv4-mapped IPv6 address as the IPv4 one; undefined for anything else.
 */
export function ipAddress(address: string | undefined): string | undefined {
  if (!address) return undefined;
  const plain = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(plain);
  if (mapped) return mapped[1];
  if (/^\d+\.\d+\.\d+\.\d+$/.test(plain) || /^[0-9a-f:.]*:[0-9a-f:.]*$/i.test(plain)) return plain;
  return undefined;
}

/** Milliseconds rounded to microseconds, keeping a file free of float noise like 8.7999999. */
export function roundMs(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
