/**
 * Raw header handling. Node gives headers as a flat `[name, value, name, value…]` array in
 * arrival order with their original case; we keep them that way and drop only what is
 * hop-by-hop (RFC 9110 §7.6.1), including every header named in `Connection`.
 */
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { HeaderPair } from '../../src-common/flow';
import type { Exchange } from './hooks';

/** Headers that describe one connection, never the message. */
const HOP_BY_HOP = new Set([
  'connection',
  'proxy-connection',
  'keep-alive',
  'te',
  'upgrade',
  'proxy-authorization',
  'proxy-authenticate',
]);

export function toPairs(raw: readonly string[]): HeaderPair[] {
  const out: HeaderPair[] = new Array(raw.length >> 1);
  for (let i = 0, j = 0; i < raw.length; i += 2, j++) out[j] = [raw[i]!, raw[i + 1]!];
  return out;
}

export function toFlat(pairs: readonly HeaderPair[]): string[] {
  const out: string[] = new Array(pairs.length * 2);
  for (let i = 0; i < pairs.length; i++) {
    out[2 * i] = pairs[i]![0];
    out[2 * i + 1] = pairs[i]![1];
  }
  return out;
}

export interface ForwardOptions {
  /** Keep `Upgrade` and a `Connection: upgrade` (for protocol upgrades such as WebSocket). */
  keepUpgrade?: boolean;
  /** Drop `Transfer-Encoding` (the next hop is HTTP/1.0, which has no chunked framing). */
  dropTransferEncoding?: boolean;
}

/**
 * The headers to forward: everything except hop-by-hop headers and those the `Connection`
 * header names. Order and case are kept.
 */
export function forwardHeaders(
  pairs: readonly HeaderPair[],
  opts: ForwardOptions = {},
): HeaderPair[] {
  let named: Set<string> | undefined;
  for (const [name, value] of pairs) {
    if (name.length === 10 && name.toLowerCase() === 'connection') {
      for (const token of value.split(',')) {
        const t = token.trim().toLowerCase();
        if (t) (named ??= new Set()).add(t);
      }
    }
  }
  const out: HeaderPair[] = [];
  let hasConnectionUpgrade = false;
  for (const pair of pairs) {
    const lower = pair[0].toLowerCase();
    if (opts.keepUpgrade && lower === 'upgrade') {
      out.push(pair);
      continue;
    }
    if (opts.keepUpgrade && lower === 'connection' && /\bupgrade\b/i.test(pair[1])) {
      if (!hasConnectionUpgrade) out.push([pair[0], 'Upgrade']);
      hasConnectionUpgrade = true;
      continue;
    }
    if (HOP_BY_HOP.has(lower)) continue;
    // HTTP/2 pseudo-headers (`:authority`…) describe the stream; the next hop gets its own.
    if (lower.charCodeAt(0) === 58) continue;
    if (named?.has(lower) && !(opts.keepUpgrade && lower === 'upgrade')) continue;
    if (opts.dropTransferEncoding && lower === 'transfer-encoding') continue;
    out.push(pair);
  }
  return out;
}

export function hasHeader(pairs: readonly HeaderPair[], name: string): boolean {
  for (const [n] of pairs) if (n.toLowerCase() === name) return true;
  return false;
}

/** An HTTP/1.1 response head as bytes, for sockets no longer owned by Node's HTTP server. */
export function rawHead(status: number, statusText: string, rawHeaders: readonly string[]): string {
  let head = `HTTP/1.1 ${status} ${statusText}\r\n`;
  for (let i = 0; i < rawHeaders.length; i += 2)
    head += `${rawHeaders[i]}: ${rawHeaders[i + 1]}\r\n`;
  return `${head}\r\n`;
}

/** A complete plain-text response that closes the connection, for raw sockets. */
export function rawTextResponse(
  status: number,
  text: string,
  extra: readonly string[] = [],
): string {
  const headers = [
    'Content-Type',
    'text/plain; charset=utf-8',
    'Content-Length',
    String(Buffer.byteLength(text)),
    ...extra,
    'Connection',
    'close',
  ];
  return rawHead(status, STATUS_CODES[status] ?? '', headers) + text;
}

/** The recorded head of a response as Node parsed it. */
export function responseRecord(msg: IncomingMessage): NonNullable<Exchange['response']> {
  return {
    status: msg.statusCode ?? 0,
    statusText: msg.statusMessage ?? '',
    httpVersion: `HTTP/${msg.httpVersion}`,
    headers: toPairs(msg.rawHeaders),
    trailers: [],
    bodySize: 0,
  };
}

/**
 * Makes `Host` name the target's authority (RFC 9112 §3.2.2: a proxy replaces it for an
 * absolute-form request), keeping its position and the case of its name; adds it first when
 * the client sent none (HTTP/1.0). Extra Host headers are dropped.
 */
export function withHost(pairs: readonly HeaderPair[], authority: string): HeaderPair[] {
  const out: HeaderPair[] = [];
  let seen = false;
  for (const pair of pairs) {
    if (pair[0].length === 4 && pair[0].toLowerCase() === 'host') {
      if (!seen) out.push([pair[0], authority]);
      seen = true;
    } else {
      out.push(pair);
    }
  }
  if (!seen) out.unshift(['Host', authority]);
  return out;
}

/** Splits a header value at commas outside quoted strings. */
function splitList(value: string): string[] {
  const out: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (c === '"' && value[i - 1] !== '\\') quoted = !quoted;
    if (c === ',' && !quoted) {
      out.push(current);
      current = '';
    } else {
      current += c;
    }
  }
  out.push(current);
  return out.map((part) => part.trim()).filter(Boolean);
}

/**
 * Removes HTTP/3 (QUIC) alternatives from `Alt-Svc`: a client told about them leaves the TCP
 * proxy for UDP, out of Loupe's sight. Returns the same array when nothing changed; drops the
 * header when no alternative remains.
 */
export function stripAltSvcH3(headers: HeaderPair[]): HeaderPair[] {
  if (!headers.some(([n]) => n.toLowerCase() === 'alt-svc')) return headers;
  let changed = false;
  const out: HeaderPair[] = [];
  for (const [name, value] of headers) {
    if (name.toLowerCase() !== 'alt-svc') {
      out.push([name, value]);
      continue;
    }
    const kept = splitList(value).filter((entry) => {
      const protocol = entry.split('=', 1)[0]!.trim().toLowerCase();
      const h3 = protocol === 'h3' || protocol.startsWith('h3-') || protocol === 'quic';
      if (h3) changed = true;
      return !h3;
    });
    if (kept.length) out.push([name, kept.join(', ')]);
  }
  return changed ? out : headers;
}
