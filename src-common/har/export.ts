/**
 * Flow → HAR 1.2 entry. Pure: bodies come in as bytes (the response already decoded per its
 * Content-Encoding by the caller), so the same code serves main's streaming writer and, later,
 * the UI's previews.
 */
import {
  headerValue,
  headerValues,
  totalTime,
  type Flow,
  type HeaderPair,
  type HttpFlow,
  type TunnelFlow,
} from '../flow';
import type { HarCookie, HarEntry, HarNameValue, HarPostData, HarTimings } from './types';

export interface HarBodies {
  /** Captured request body bytes. */
  request?: Uint8Array;
  /** Captured response body, decoded for Content-Encoding when `decoded` is true. */
  response?: Uint8Array;
  decoded?: boolean;
  /** Why the response body is not decoded, or that decoding stopped at a cap. */
  responseNote?: string;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The text of a body when it is valid UTF-8, else undefined. */
function asText(bytes: Uint8Array): string | undefined {
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}

/** Base64 of bytes without Buffer, in slices so large bodies do not overflow the call stack. */
export function toBase64(bytes: Uint8Array): string {
  let out = '';
  const step = 0x6000; // a multiple of 3, so slices encode without padding in between
  for (let i = 0; i < bytes.length; i += step) {
    out += btoa(String.fromCharCode(...bytes.subarray(i, i + step)));
  }
  return out;
}

const pairs = (headers: readonly HeaderPair[]): HarNameValue[] =>
  headers.map(([name, value]) => ({ name, value }));

/** HTTP/1.x head size: start line, `name: value` lines, and the blank line. */
function headSize(startLine: string, headers: readonly HeaderPair[], httpVersion: string): number {
  if (!httpVersion.startsWith('HTTP/1')) return -1;
  let n = startLine.length + 2 + 2;
  for (const [name, value] of headers) n += name.length + 2 + value.length + 2;
  return n;
}

function decodeComponent(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
}

/** Query or form parameters in order, duplicates kept. */
function params(query: string): HarNameValue[] {
  if (!query) return [];
  return query
    .split('&')
    .filter(Boolean)
    .map((part) => {
      const eq = part.indexOf('=');
      return eq < 0
        ? { name: decodeComponent(part), value: '' }
        : { name: decodeComponent(part.slice(0, eq)), value: decodeComponent(part.slice(eq + 1)) };
    });
}

function requestCookies(headers: readonly HeaderPair[]): HarCookie[] {
  return headerValues(headers, 'cookie').flatMap((v) =>
    v
      .split(';')
      .map((c) => c.trim())
      .filter(Boolean)
      .map((c) => {
        const eq = c.indexOf('=');
        return eq < 0 ? { name: c, value: '' } : { name: c.slice(0, eq), value: c.slice(eq + 1) };
      }),
  );
}

function responseCookies(headers: readonly HeaderPair[]): HarCookie[] {
  return headerValues(headers, 'set-cookie').map((line) => {
    const [first = '', ...attrs] = line.split(';');
    const eq = first.indexOf('=');
    const cookie: HarCookie = {
      name: first.slice(0, eq < 0 ? undefined : eq).trim(),
      value: eq < 0 ? '' : first.slice(eq + 1).trim(),
    };
    for (const attr of attrs) {
      const [k = '', ...rest] = attr.split('=');
      const key = k.trim().toLowerCase();
      const value = rest.join('=').trim();
      if (key === 'path') cookie.path = value;
      else if (key === 'domain') cookie.domain = value;
      else if (key === 'httponly') cookie.httpOnly = true;
      else if (key === 'secure') cookie.secure = true;
      else if (key === 'expires') {
        const date = new Date(value);
        if (!Number.isNaN(date.getTime())) cookie.expires = date.toISOString();
      }
    }
    return cookie;
  });
}

function harTimings(flow: HttpFlow): HarTimings {
  const t = flow.timings;
  // HAR requires send, wait and receive to be non-negative; the rest use -1 for "did not happen".
  return {
    blocked: t.blocked,
    dns: t.dns,
    connect: t.connect >= 0 && t.ssl >= 0 ? t.connect + t.ssl : t.connect,
    ssl: t.ssl,
    send: Math.max(0, t.send),
    wait: Math.max(0, t.wait),
    receive: Math.max(0, t.receive),
  };
}

function isAbsoluteUri(url: string): boolean {
  return /^[a-z][a-z0-9+.-]*:/i.test(url);
}

function postData(flow: HttpFlow, bytes: Uint8Array | undefined): HarPostData | undefined {
  if (!bytes || bytes.length === 0) return undefined;
  const mimeType = headerValue(flow.request.headers, 'content-type') ?? '';
  const text = asText(bytes);
  if (text === undefined) return { mimeType, text: toBase64(bytes), encoding: 'base64' };
  const form = mimeType.toLowerCase().startsWith('application/x-www-form-urlencoded');
  return { mimeType, text, ...(form ? { params: params(text) } : {}) };
}

function httpEntry(flow: HttpFlow, bodies: HarBodies): HarEntry {
  const req = flow.request;
  const res = flow.response;
  const query = isAbsoluteUri(req.url) ? (req.url.split('#')[0]!.split('?')[1] ?? '') : '';
  let target = req.url;
  try {
    const u = new URL(req.url);
    target = u.pathname + u.search;
  } catch {
    // Not a URL (a refused request); the head size below uses it as written.
  }
  const responseBytes = bodies.response;
  const mimeType = (res && headerValue(res.headers, 'content-type')) ?? '';
  const content: HarEntry['response']['content'] = {
    // The full size even when capture was truncated: what the body was, not what was kept.
    size:
      bodies.decoded && responseBytes && !res?.body.truncated
        ? responseBytes.length
        : (res?.body.size ?? 0),
    mimeType,
  };
  if (responseBytes && responseBytes.length) {
    const text = asText(responseBytes);
    if (text !== undefined) content.text = text;
    else {
      content.text = toBase64(responseBytes);
      content.encoding = 'base64';
    }
    if (bodies.decoded && res && content.size > res.body.size)
      content.compression = content.size - res.body.size;
  }
  const notes = [
    bodies.responseNote,
    res?.body.truncated
      ? `Loupe kept the first ${res.body.captured} of ${res.body.size} bytes of this body.`
      : undefined,
  ].filter(Boolean);
  if (notes.length) content.comment = notes.join(' ');
  const timings = harTimings(flow);
  const truncated = {
    ...(req.body.truncated ? { request: true as const } : {}),
    ...(res?.body.truncated ? { response: true as const } : {}),
  };
  const pd = postData(flow, bodies.request);
  return {
    startedDateTime: new Date(flow.startedAt).toISOString(),
    time: totalTime(flow.timings),
    request: {
      method: req.method,
      url: isAbsoluteUri(req.url) ? req.url : 'about:blank',
      httpVersion: req.httpVersion,
      cookies: requestCookies(req.headers),
      headers: pairs(req.headers),
      queryString: params(query),
      ...(pd ? { postData: pd } : {}),
      headersSize: headSize(
        `${req.method} ${target} ${req.httpVersion}`,
        req.headers,
        req.httpVersion,
      ),
      bodySize: req.body.size,
    },
    response: {
      status: res?.status ?? 0,
      statusText: res?.statusText ?? '',
      httpVersion: res?.httpVersion ?? '',
      cookies: res ? responseCookies(res.headers) : [],
      headers: res ? pairs(res.headers) : [],
      content,
      redirectURL: (res && headerValue(res.headers, 'location')) ?? '',
      headersSize: res
        ? headSize(
            `${res.httpVersion} ${res.status} ${res.statusText}`,
            res.headers,
            res.httpVersion,
          )
        : -1,
      bodySize: res ? res.body.size : -1,
    },
    cache: {},
    timings,
    ...(flow.server?.address
      ? { serverIPAddress: flow.server.address.replace(/^\[|\]$/g, '') }
      : {}),
    ...(flow.connection.upstreamConnectionId
      ? { connection: flow.connection.upstreamConnectionId }
      : {}),
    ...(flow.error
      ? {
          comment: flow.error.message,
          _error: { code: flow.error.code, message: flow.error.message },
        }
      : {}),
    _loupeId: flow.id,
    ...(Object.keys(truncated).length ? { _truncated: truncated } : {}),
    ...(flow.tags.length ? { _tags: flow.tags.slice() } : {}),
  };
}

/**
 * A tunnel has no HTTP exchange inside that Loupe could read. It is written as the CONNECT that
 * opened it (status 200 when it was established, 0 when it failed), with the relayed byte counts
 * in `_tunnel`, so a HAR reader sees that the traffic happened instead of losing it.
 */
function tunnelEntry(flow: TunnelFlow): HarEntry {
  const authority = flow.target.host.includes(':')
    ? `[${flow.target.host}]:${flow.target.port}`
    : `${flow.target.host}:${flow.target.port}`;
  return {
    startedDateTime: new Date(flow.startedAt).toISOString(),
    time: flow.durationMs,
    request: {
      method: 'CONNECT',
      url: `${flow.protocol === 'tls' ? 'https' : 'tcp'}://${authority}/`,
      httpVersion: 'HTTP/1.1',
      cookies: [],
      headers: [],
      queryString: [],
      headersSize: -1,
      bodySize: flow.bytesUp,
    },
    response: {
      status: flow.error ? 0 : 200,
      statusText: flow.error ? '' : 'Connection Established',
      httpVersion: 'HTTP/1.1',
      cookies: [],
      headers: [],
      content: {
        size: flow.bytesDown,
        mimeType: 'application/octet-stream',
        ...(flow.reason ? { comment: flow.reason } : {}),
      },
      redirectURL: '',
      headersSize: -1,
      bodySize: flow.bytesDown,
    },
    cache: {},
    timings: {
      blocked: -1,
      dns: -1,
      connect: -1,
      ssl: -1,
      send: 0,
      wait: 0,
      receive: flow.durationMs,
    },
    ...(flow.target.address ? { serverIPAddress: flow.target.address } : {}),
    ...(flow.error
      ? {
          comment: flow.error.message,
          _error: { code: flow.error.code, message: flow.error.message },
        }
      : {}),
    _loupeId: flow.id,
    _tunnel: {
      protocol: flow.protocol,
      bytesUp: flow.bytesUp,
      bytesDown: flow.bytesDown,
      ...(flow.reason ? { reason: flow.reason } : {}),
    },
    ...(flow.tags.length ? { _tags: flow.tags.slice() } : {}),
  };
}

export function toHarEntry(flow: Flow, bodies: HarBodies = {}): HarEntry {
  return flow.kind === 'http' ? httpEntry(flow, bodies) : tunnelEntry(flow);
}
