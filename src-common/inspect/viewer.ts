/**
 * Which body viewer fits a message: from its Content-Type first, then from a look at its first
 * bytes when the type is missing or says nothing (`application/octet-stream` that is plainly
 * JSON). Pure, so the inspector and its tests agree.
 */

export const BODY_VIEWERS = ['json', 'text', 'html', 'image', 'form', 'hex', 'raw'] as const;
export type BodyViewer = (typeof BODY_VIEWERS)[number];

export interface ContentType {
  /** Media type, lower-case, without parameters; empty when absent. */
  type: string;
  /** Parameters by lower-case name, unquoted (`charset`, `boundary`). */
  params: Record<string, string>;
}

/** Splits a Content-Type value into its media type and parameters. */
export function parseContentType(value: string | undefined): ContentType {
  const out: ContentType = { type: '', params: {} };
  if (!value) return out;
  const semi = value.indexOf(';');
  out.type = (semi < 0 ? value : value.slice(0, semi)).trim().toLowerCase();
  if (semi < 0) return out;
  // name=token or name="quoted; with \\"escapes\\"", separated by semicolons.
  const param = /;\s*([^=;\s]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;]*))/g;
  for (let m = param.exec(value.slice(semi)); m; m = param.exec(value.slice(semi))) {
    const name = m[1]!.toLowerCase();
    const v = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3]!.trim();
    if (!Object.hasOwn(out.params, name)) out.params[name] = v;
  }
  return out;
}

export function isJsonType(type: string): boolean {
  return type === 'application/json' || type === 'text/json' || type.endsWith('+json');
}

/** Image types a browser shows in an `<img>`. */
const IMAGE_TYPES = new Set([
  'image/png',
  'image/jpeg',
  'image/jpg',
  'image/pjpeg',
  'image/gif',
  'image/webp',
  'image/avif',
  'image/bmp',
  'image/x-icon',
  'image/vnd.microsoft.icon',
  'image/svg+xml',
]);

const TEXT_APPLICATION = [
  'javascript',
  'ecmascript',
  'x-javascript',
  'graphql',
  'yaml',
  'x-yaml',
  'toml',
  'csv',
  'x-ndjson',
  'jsonl',
  'x-sh',
  'sql',
  'x-www-form-urlencoded',
];

/** True when the bytes read as UTF-8 text: no NUL and no invalid sequence (a cut at the end is fine). */
export function looksLikeText(bytes: Uint8Array): boolean {
  const sample = bytes.subarray(0, 4096);
  for (const b of sample) if (b === 0) return false;
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(sample, { stream: true });
    return true;
  } catch {
    return false;
  }
}

function firstNonSpace(bytes: Uint8Array): number | undefined {
  // A UTF-8 byte order mark is not content.
  const start = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  for (let i = start; i < Math.min(bytes.length, 512); i++) {
    const b = bytes[i]!;
    if (b !== 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d) return b;
  }
  return undefined;
}

/**
 * The viewer to open a body in: `contentType` is the header's value, `head` the body's first
 * bytes (any length; a few KB is plenty).
 */
export function viewerFor(contentType: string | undefined, head: Uint8Array): BodyViewer {
  const { type } = parseContentType(contentType);
  if (isJsonType(type)) return 'json';
  if (type === 'application/x-www-form-urlencoded' || type === 'multipart/form-data') {
    return 'form';
  }
  if (IMAGE_TYPES.has(type)) return 'image';
  if (
    type === 'text/html' ||
    type === 'application/xhtml+xml' ||
    type.endsWith('/xml') ||
    type.endsWith('+xml')
  ) {
    return 'html';
  }
  const sub = type.startsWith('application/') ? type.slice(12) : '';
  if (type.startsWith('text/') || TEXT_APPLICATION.includes(sub)) {
    return looksLikeText(head) ? 'text' : 'hex';
  }
  if (type.startsWith('image/') || type.startsWith('audio/') || type.startsWith('video/')) {
    return 'hex';
  }
  if (type.startsWith('font/') || type === 'application/pdf' || type === 'application/zip') {
    return 'hex';
  }
  // No type, octet-stream or one we do not know: look at the bytes.
  if (head.length === 0) return 'text';
  if (!looksLikeText(head)) return 'hex';
  const first = firstNonSpace(head);
  if (first === 0x7b || first === 0x5b) return 'json';
  if (first === 0x3c) return 'html';
  return 'text';
}
