/**
 * What the session table and the filter read from a flow: host, path, status, content type,
 * sizes, duration, protocol and the row's look, plus the human units they are shown in. Pure, so
 * the table, the filter and their tests agree on every derived value.
 */
import type { FlowLike } from './api/contract';
import { headerValue, totalTime } from './flow';

/** The content families of the quick toggles (Proxyman's, plus font and media). */
export const FLOW_CATEGORIES = [
  'json',
  'xml',
  'form',
  'js',
  'css',
  'image',
  'font',
  'doc',
  'media',
  'websocket',
  'other',
] as const;
export type FlowCategory = (typeof FLOW_CATEGORIES)[number];

/** How a row looks: the only meanings colour carries in the table. */
export type FlowLook = 'pending' | 'complete' | 'error' | 'bypassed' | 'failed-handshake';

const DEFAULT_PORT: Record<string, number> = { 'http:': 80, 'https:': 443, 'ws:': 80, 'wss:': 443 };

/** URL parsing is the costly part of a row; a flow's URL never changes, so parse it once. */
const urls = new Map<string, URL | null>();
function parsedUrl(url: string): URL | null {
  let parsed = urls.get(url);
  if (parsed === undefined) {
    try {
      parsed = new URL(url);
    } catch {
      parsed = null;
    }
    if (urls.size > 5000) urls.clear();
    urls.set(url, parsed);
  }
  return parsed;
}

/** The full URL (`https://host/path?q`); for a tunnel, `host:port`. */
export function flowUrl(f: FlowLike): string {
  return f.kind === 'tunnel' ? `${f.target.host}:${f.target.port}` : f.request.url;
}

/** Host name without port or IPv6 brackets, lower-case. */
export function flowHost(f: FlowLike): string {
  if (f.kind === 'tunnel') return f.target.host.toLowerCase();
  const url = parsedUrl(f.request.url);
  return url ? url.hostname.replace(/^\[|\]$/g, '').toLowerCase() : '';
}

/** `host` or `host:port` when the port is not the scheme's default. */
export function flowAuthority(f: FlowLike): string {
  if (f.kind === 'tunnel') {
    const host = f.target.host.includes(':') ? `[${f.target.host}]` : f.target.host;
    return f.target.port === 443 ? host : `${host}:${f.target.port}`;
  }
  const url = parsedUrl(f.request.url);
  if (!url) return '';
  const port = url.port ? Number(url.port) : undefined;
  return port === undefined || port === DEFAULT_PORT[url.protocol]
    ? url.hostname
    : `${url.hostname}:${port}`;
}

/** Path and query (`/api/items?page=2`); empty for a tunnel. */
export function flowPath(f: FlowLike): string {
  if (f.kind === 'tunnel') return '';
  const url = parsedUrl(f.request.url);
  return url ? `${url.pathname}${url.search}` : f.request.url;
}

export function flowMethod(f: FlowLike): string {
  return f.kind === 'tunnel' ? 'CONNECT' : f.request.method;
}

/** The response status, when a response arrived. */
export function flowStatus(f: FlowLike): number | undefined {
  return f.kind === 'http' ? f.response?.status : undefined;
}

/** The response's media type, lower-case, without parameters. */
export function flowContentType(f: FlowLike): string | undefined {
  if (f.kind !== 'http' || !f.response) return undefined;
  const value = headerValue(f.response.headers, 'content-type');
  const type = value?.split(';')[0]?.trim().toLowerCase();
  return type || undefined;
}

/** The content family of a flow, for the quick toggles and `is:` terms. */
export function flowCategory(f: FlowLike): FlowCategory {
  if (f.kind === 'http' && (f.websocket || f.response?.status === 101)) return 'websocket';
  const type = flowContentType(f);
  if (!type) return 'other';
  if (type === 'application/json' || type.endsWith('+json') || type === 'text/json') return 'json';
  if (type === 'application/x-www-form-urlencoded' || type === 'multipart/form-data') return 'form';
  if (type === 'text/html' || type === 'application/xhtml+xml') return 'doc';
  if (type.endsWith('/xml') || type.endsWith('+xml'))
    return type === 'image/svg+xml' ? 'image' : 'xml';
  if (/(java|ecma)script/.test(type)) return 'js';
  if (type === 'text/css') return 'css';
  if (type.startsWith('image/')) return 'image';
  if (type.startsWith('font/') || type.includes('font-')) return 'font';
  if (type.startsWith('audio/') || type.startsWith('video/')) return 'media';
  return 'other';
}

/** Bytes the client sent: the request body, or a tunnel's upstream bytes. */
export function flowRequestSize(f: FlowLike): number {
  return f.kind === 'tunnel' ? f.bytesUp : f.request.body.size;
}

/** Bytes the server sent: the response body, or a tunnel's downstream bytes. */
export function flowResponseSize(f: FlowLike): number {
  return f.kind === 'tunnel' ? f.bytesDown : (f.response?.body.size ?? 0);
}

/** Milliseconds from start to end; undefined while the flow is in flight. */
export function flowDuration(f: FlowLike): number | undefined {
  if (f.state === 'pending') return undefined;
  return f.kind === 'tunnel' ? f.durationMs : totalTime(f.timings);
}

const TLS_SHORT: Record<string, string> = {
  TLSv1: 'TLS 1.0',
  'TLSv1.1': 'TLS 1.1',
  'TLSv1.2': 'TLS 1.2',
  'TLSv1.3': 'TLS 1.3',
};

/**
 * The client's leg, as the client spoke it: `HTTP/1.1`, `h2 · TLS 1.3`, `TLS tunnel`,
 * `TCP tunnel`… (the upstream leg may differ; the inspector shows both).
 */
export function flowProtocol(f: FlowLike): string {
  if (f.kind === 'tunnel') return f.protocol === 'tls' ? 'TLS tunnel' : 'TCP tunnel';
  const version = f.request.httpVersion.replace(/^HTTP\//i, '');
  const http = version === '2.0' || version === '2' ? 'h2' : `HTTP/${version}`;
  const tls = f.tls?.client?.version;
  return tls ? `${http} · ${TLS_SHORT[tls] ?? tls}` : http;
}

export function isFailedHandshake(f: FlowLike): boolean {
  return f.error?.code === 'tls_handshake_failed';
}

export function isBypassed(f: FlowLike): boolean {
  return f.kind === 'tunnel' && !f.error && f.tags.includes('bypassed');
}

/** The row's look; a failed handshake outranks a plain error, and both outrank pending. */
export function flowLook(f: FlowLike): FlowLook {
  if (isFailedHandshake(f)) return 'failed-handshake';
  if (f.state === 'error' || f.error) return 'error';
  if (f.state === 'pending') return 'pending';
  if (isBypassed(f)) return 'bypassed';
  return 'complete';
}

const UNITS = ['B', 'KB', 'MB', 'GB', 'TB'];

/** `0 B`, `512 B`, `1.2 KB`, `34 MB` (1024-based, as DevTools shows). */
export function formatBytes(n: number): string {
  if (!(n > 0)) return '0 B';
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  if (unit === 0) return `${value} B`;
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${UNITS[unit]}`;
}

/** `0 ms`, `340 ms`, `1.24 s`, `12.5 s`, `2 min 5 s`. */
export function formatDuration(ms: number): string {
  if (!(ms >= 0)) return '';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 10_000) return `${(ms / 1000).toFixed(2)} s`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes} min ${Math.round((ms % 60_000) / 1000)} s`;
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** Local wall-clock time with milliseconds: `14:03:22.118`. */
export function formatClock(epochMs: number): string {
  const d = new Date(epochMs);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}
