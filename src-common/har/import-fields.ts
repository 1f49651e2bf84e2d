/**
 * Reading the parts of a HAR entry as other tools write them: each reader takes whatever JSON
 * value the file holds, returns what Loupe's flow model needs, and notes in `Repairs` whatever it
 * had to repair. None of them throws on a value of the wrong type.
 */
import {
  FLOW_ERROR_CODES,
  type CertSummary,
  type ClientHelloSummary,
  type FlowError,
  type FlowErrorCode,
  type FlowTimings,
  type HeaderPair,
  type TlsInfo,
  type TlsLeg,
} from '../flow';
import { ipAddress, roundMs } from './fields';
import type { Repairs } from './import-repairs';

export type Json = Record<string, unknown>;

export function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Headers as ordered pairs, case and order as in the file (HTTP/2 pseudo-headers included). */
export function readHeaders(value: unknown, repairs: Repairs): HeaderPair[] {
  if (!Array.isArray(value)) {
    repairs.note('noHeaders');
    return [];
  }
  const out: HeaderPair[] = [];
  for (const h of value) {
    if (!isObject(h) || typeof h.name !== 'string' || h.name === '') {
      repairs.note('badHeader');
      continue;
    }
    if (typeof h.value === 'string') out.push([h.name, h.value]);
    else if (typeof h.value === 'number' || typeof h.value === 'boolean') {
      repairs.note('headerNotText');
      out.push([h.name, String(h.value)]);
    } else {
      repairs.note('badHeader');
    }
  }
  return out;
}

/**
 * HTTP versions in Loupe's spelling (`HTTP/1.1`, `HTTP/2`). Browsers write the same versions
 * other ways (Chrome `http/2.0` and `h3`): those are read silently. Empty means not known (a
 * request that never went out); anything else is kept as written, and noted.
 */
export function readVersion(value: unknown, repairs: Repairs): string {
  if (value === '') return '';
  if (typeof value !== 'string') {
    repairs.note('noVersion');
    return '';
  }
  const v = value.trim();
  const h1 = /^HTTP\/1\.([01])$/i.exec(v);
  if (h1) return `HTTP/1.${h1[1]}`;
  if (/^(HTTP\/2(\.0)?|h2c?)$/i.test(v)) return 'HTTP/2';
  if (/^(HTTP\/3(\.0)?|h3(-\d+)?)$/i.test(v)) return 'HTTP/3';
  if (/^HTTP\/0\.9$/i.test(v)) return 'HTTP/0.9';
  repairs.note('version', value);
  return value;
}

/** A size as a number, or undefined when missing or not a number (noted). -1 means unknown. */
export function readSize(value: unknown, repairs: Repairs): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return Math.round(value);
  repairs.note('sizes');
  if (typeof value === 'string' && /^-?\d+$/.test(value.trim())) return Number(value);
  return undefined;
}

/** Bytes of base64 text (whitespace allowed, as `atob` allows it), or undefined if it is not. */
export function fromBase64(text: string): Uint8Array | undefined {
  let binary: string;
  try {
    binary = atob(text);
  } catch {
    return undefined;
  }
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

const utf8 = new TextEncoder();

/** The bytes of a postData or content: its text, base64 undone where the file says so. */
export function readBodyText(holder: Json, repairs: Repairs): Uint8Array {
  const text = holder.text;
  if (text === undefined || text === null) return new Uint8Array();
  if (typeof text !== 'string') {
    repairs.note('bodyText');
    return new Uint8Array();
  }
  if (holder.encoding === 'base64') {
    const bytes = fromBase64(text);
    if (bytes) return bytes;
    repairs.note('base64');
  }
  return utf8.encode(text);
}

/** A form body from postData `params` alone (some tools write no text for a form). */
export function paramsText(params: unknown): string {
  if (!Array.isArray(params)) return '';
  const escape = (s: unknown): string =>
    encodeURIComponent(typeof s === 'string' ? s : '').replace(/%20/g, '+');
  return params
    .filter(isObject)
    .map((p) => `${escape(p.name)}=${escape(p.value)}`)
    .join('&');
}

/** Wall-clock ms of an ISO 8601 date, or undefined. */
export function readDate(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

/**
 * Timings as the flow keeps them. HAR's `connect` already includes `ssl`, as the flow's does, so
 * both are copied. `blocked`, `dns`, `connect` and `ssl` may be absent (-1: did not happen);
 * `send`, `wait` and `receive` are required and non-negative (HAR 1.2; the schema also allows
 * -1), so a missing or negative one reads as 0, which Loupe's export writes for them too. Values are rounded to microseconds as Loupe's export writes them, so a file read, written
 * and read again gives the same flow.
 */
export function readTimings(value: unknown, repairs: Repairs): FlowTimings {
  const t = isObject(value) ? value : {};
  const number = (v: unknown): number | undefined => {
    if (typeof v === 'number' && Number.isFinite(v)) return v;
    if (v === undefined) return undefined;
    repairs.note('timingsType');
    return typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))
      ? Number(v)
      : undefined;
  };
  const optional = (v: unknown): number => {
    const ms = number(v);
    return ms === undefined || ms < 0 ? -1 : roundMs(ms);
  };
  const required = (v: unknown): number => {
    if (v === undefined) {
      repairs.note('timingsRequired');
      return 0;
    }
    const ms = number(v);
    // -1 (did not happen) is what the HAR schema allows and some tools write: no repair.
    if (ms !== undefined && ms < -1) repairs.note('timingsRequired');
    return ms === undefined || ms < 0 ? 0 : roundMs(ms);
  };
  return {
    blocked: optional(t.blocked),
    dns: optional(t.dns),
    connect: optional(t.connect),
    ssl: optional(t.ssl),
    send: required(t.send),
    wait: required(t.wait),
    receive: required(t.receive),
  };
}

/** `serverIPAddress` as a plain IP literal (brackets and port of `[::1]:443` dropped). */
export function readServerAddress(value: unknown, repairs: Repairs): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') {
    repairs.note('ipOther', String(value));
    return undefined;
  }
  if (value === '') {
    repairs.note('ipEmpty');
    return undefined;
  }
  const bracketed = /^\[([^\]]*)\](?::\d+)?$/.exec(value);
  if (bracketed) repairs.note('ipBrackets');
  const address = ipAddress(bracketed ? bracketed[1] : value);
  if (address === undefined) repairs.note('ipOther', value);
  return address;
}

/** True when `cache` is what HAR 1.2 describes (Firefox types `afterRequest` otherwise). */
export function cacheIsValid(value: unknown): boolean {
  if (!isObject(value)) return false;
  for (const key of ['beforeRequest', 'afterRequest']) {
    const c = value[key];
    if (c === undefined || c === null) continue;
    if (!isObject(c)) return false;
    if (typeof c.lastAccess !== 'string' || typeof c.eTag !== 'string') return false;
    if (!Number.isInteger(c.hitCount)) return false;
    if (c.expires !== undefined && (typeof c.expires !== 'string' || !readDate(c.expires))) {
      return false;
    }
  }
  return true;
}

const isCode = (code: unknown): code is FlowErrorCode =>
  typeof code === 'string' && (FLOW_ERROR_CODES as readonly string[]).includes(code);

/** Loupe's own `_error` (`{ code, message }`), or 'bad' when present but unreadable. */
export function readLoupeError(
  value: unknown,
  phase: FlowError['phase'],
): FlowError | undefined | 'bad' {
  if (value === undefined) return undefined;
  if (!isObject(value) || !isCode(value.code) || typeof value.message !== 'string') return 'bad';
  return { code: value.code, message: value.message, phase };
}

/** Chrome's `net::ERR_…` names for failures, as Loupe's codes. */
const CHROME_ERRORS: [RegExp, FlowErrorCode][] = [
  [/NAME_NOT_RESOLVED|NAME_RESOLUTION_FAILED/, 'dns_failed'],
  [/CONNECTION_REFUSED/, 'connection_refused'],
  [/TIMED_OUT/, 'upstream_timeout'],
  [/CONNECTION_RESET|CONNECTION_CLOSED|EMPTY_RESPONSE/, 'upstream_reset'],
  [/ERR_CERT_/, 'upstream_certificate_invalid'],
  [/ERR_SSL_/, 'tls_handshake_failed'],
  [/ERR_ABORTED/, 'client_aborted'],
  [/ERR_INVALID_HTTP_RESPONSE|ERR_INVALID_RESPONSE/, 'malformed_response'],
];

/** A browser's `response._error` text (Chrome: `net::ERR_INTERNET_DISCONNECTED`) as an error. */
export function readBrowserError(value: unknown, phase: FlowError['phase']): FlowError | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  const code = CHROME_ERRORS.find(([re]) => re.test(value))?.[1] ?? 'connection_failed';
  return { code, message: `The browser that wrote this file reported ${value}.`, phase };
}

const isStrings = (v: unknown): v is string[] =>
  Array.isArray(v) && v.every((s) => typeof s === 'string');

const CERT_TEXT = ['subject', 'issuer', 'validFrom', 'validTo', 'fingerprint256'];

/** One certificate of `_tls.upstream.chain`, keys in the file's order (so it writes back the same). */
function readCert(value: unknown): CertSummary | undefined {
  if (!isObject(value)) return undefined;
  const out: Json = {};
  for (const key of Object.keys(value)) {
    const v = value[key];
    if (CERT_TEXT.includes(key)) {
      if (typeof v !== 'string') return undefined;
      out[key] = v;
    } else if (key === 'san') {
      if (!isStrings(v)) return undefined;
      out[key] = v.slice();
    }
  }
  const complete = 'san' in out && CERT_TEXT.every((k) => k in out);
  return complete ? (out as unknown as CertSummary) : undefined;
}

function readLeg(value: unknown, upstream: boolean): Json | undefined {
  if (!isObject(value)) return undefined;
  const out: Json = {};
  for (const key of Object.keys(value)) {
    const v = value[key];
    if (['version', 'cipher', 'alpn', 'sni'].includes(key)) {
      if (typeof v !== 'string') return undefined;
      out[key] = v;
    } else if (upstream && key === 'verified') {
      if (typeof v !== 'boolean') return undefined;
      out[key] = v;
    } else if (upstream && key === 'chain') {
      if (!Array.isArray(v)) return undefined;
      const chain = v.map(readCert);
      if (chain.some((c) => c === undefined)) return undefined;
      out[key] = chain;
    }
  }
  return out;
}

/** Loupe's `_tls`, or 'bad' when present but unreadable. */
export function readTls(value: unknown): TlsInfo | undefined | 'bad' {
  if (value === undefined) return undefined;
  if (!isObject(value)) return 'bad';
  const out: TlsInfo = {};
  for (const key of Object.keys(value)) {
    if (key !== 'client' && key !== 'upstream') continue;
    const leg = readLeg(value[key], key === 'upstream');
    if (!leg) return 'bad';
    if (key === 'client') out.client = leg as TlsLeg;
    else out.upstream = leg as TlsInfo['upstream'];
  }
  return out;
}

/** Loupe's `_clientHello`, or 'bad' when present but unreadable. */
export function readClientHello(value: unknown): ClientHelloSummary | undefined | 'bad' {
  if (value === undefined) return undefined;
  if (!isObject(value) || !isStrings(value.alpn) || !isStrings(value.versions)) return 'bad';
  if (value.sni !== undefined && typeof value.sni !== 'string') return 'bad';
  const out: Json = {};
  for (const key of Object.keys(value)) {
    if (key === 'sni') out.sni = value.sni;
    else if (key === 'alpn' || key === 'versions') out[key] = (value[key] as string[]).slice();
  }
  return out as unknown as ClientHelloSummary;
}

/** Loupe's `_tags`, or 'bad' when present but not a list of text. */
export function readTags(value: unknown): string[] | 'bad' {
  if (value === undefined) return [];
  return isStrings(value) ? value.slice() : 'bad';
}
