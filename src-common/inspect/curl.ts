/**
 * Copy as cURL: a POSIX shell command that repeats a request. Every word is single-quoted (inside
 * single quotes a shell expands nothing: no `$()`, backticks, `$VAR` or globs), a single quote
 * is written `'\''`, and a body that is not plain text goes through `printf` with octal escapes,
 * so NUL and any other byte survive. Tested by running the output with real curl.
 */
import type { HeaderPair } from '../flow';

export interface CurlRequest {
  method: string;
  url: string;
  headers: readonly HeaderPair[];
  /** The body bytes as sent (Content-Encoding not undone); absent or empty for none. */
  body?: Uint8Array;
}

/** Quotes one word for a POSIX shell. */
export function shellQuote(word: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Headers curl works out itself or that describe the old connection, not the request. */
const SKIPPED = new Set([
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'te',
  'upgrade',
]);

/** Plain text safe as a shell argument: UTF-8, no NUL, and short enough for one argv entry. */
function asArgument(body: Uint8Array): string | undefined {
  if (body.length > 64 * 1024 || body.includes(0)) return undefined;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    return undefined;
  }
}

/** `printf` format text that writes `body` byte for byte (octal for anything not plain). */
function printfFormat(body: Uint8Array): string {
  let out = '';
  body.forEach((b, i) => {
    // `%` and `\\` are printf's own; a leading `-` would read as an option.
    const plain = b >= 0x20 && b < 0x7f && b !== 0x25 && b !== 0x5c && !(i === 0 && b === 0x2d);
    out += plain ? String.fromCharCode(b) : `\\${b.toString(8).padStart(3, '0')}`;
  });
  return out;
}

/**
 * The command, one option per line joined with ` \` line continuations. curl's own User-Agent
 * and Accept are switched off when the request had none, so the server sees what it saw before.
 */
export function toCurl(req: CurlRequest): string {
  const args: string[] = ['curl'];
  const method = req.method.toUpperCase();
  const body = req.body && req.body.length > 0 ? req.body : undefined;
  const text = body && asArgument(body);
  if (method === 'HEAD') args.push('--head');
  else if (!(method === 'GET' && !body) && !(method === 'POST' && body)) {
    args.push('-X', shellQuote(req.method));
  }
  // Send the path as written (no dot-segment cleanup) and take [] {} literally.
  args.push('--path-as-is', '--globoff');
  const names = new Set<string>();
  for (const [name, value] of req.headers) {
    const lower = name.toLowerCase();
    names.add(lower);
    if (lower.startsWith(':') || SKIPPED.has(lower)) continue;
    // A line break cannot have been in a header on the wire (an imported file may claim one);
    // passed on, curl would send it as a second header.
    const clean = value.replace(/[\r\n]+/g, ' ');
    // `Name:` would tell curl to remove the header; `Name;` sends it empty.
    args.push('-H', shellQuote(clean === '' ? `${name};` : `${name}: ${clean}`));
  }
  if (!names.has('user-agent')) args.push('-H', shellQuote('User-Agent:'));
  if (!names.has('accept')) args.push('-H', shellQuote('Accept:'));
  // With a body curl would add a form Content-Type of its own.
  if (body && !names.has('content-type')) args.push('-H', shellQuote('Content-Type:'));
  if (body && text !== undefined) args.push('--data-raw', shellQuote(text));
  else if (body) args.push('--data-binary', '@-');
  args.push(shellQuote(req.url));
  const command = args.join(' ');
  return body && text === undefined
    ? `printf ${shellQuote(printfFormat(body))} | ${command}`
    : command;
}
