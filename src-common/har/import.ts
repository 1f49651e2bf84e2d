/**
 * HAR → flows. Pure (no Node): main reads the file and hands the text here.
 *
 * Files from Chrome, Firefox, Safari, Charles and Insomnia deviate from HAR 1.2 in known ways (a
 * null `redirectURL`, an empty or bracketed `serverIPAddress`, Firefox's cache fields and missing
 * timings, a byte-order mark). Each is read anyway and counted in `repairs`, so the user learns
 * what was off without losing the file. Loupe's own `_` fields (`_loupeKind`, `_tunnel`,
 * `_error`, `_tls`, `_clientHello`, `_tags`, `_truncated`, `_url`) and Chrome's WebSocket
 * messages come back as the flow they were written from: a Loupe export read and written again
 * is the same text (see har-roundtrip.test.ts), with one exception: the note on an encoded body
 * cut at the capture cap, whose wire bytes kept the file does not carry. What a HAR has no place
 * for does not come back either: the client address, an error's phase (told from whether a
 * response came), WebSocket wire sizes, compression and close code.
 *
 * An entry that cannot be read at all (not an object, no request, no URL) is skipped and
 * counted. A file whose every entry is skipped is refused with the reasons: an empty session
 * would only hide them. A file with no entries at all is a valid, empty session.
 */
import {
  headerValue,
  type BodyInfo,
  type Flow,
  type FlowError,
  type HeaderPair,
  type HttpFlow,
  type ResponseRecord,
  type TunnelFlow,
} from '../flow';
import type { WebSocketRecord, WsMessage } from '../websocket';
import { isEncoded, STILL_OPEN, WRITTEN_AS_SENT } from './export';
import { harUrl, roundMs } from './fields';
import {
  cacheIsValid,
  fromBase64,
  isObject,
  paramsText,
  readBodyText,
  readBrowserError,
  readClientHello,
  readDate,
  readHeaders,
  readLoupeError,
  readServerAddress,
  readSize,
  readTags,
  readTimings,
  readTls,
  readVersion,
  type Json,
} from './import-fields';
import { Repairs } from './import-repairs';
import { jsonSyntaxError } from './json-error';

export interface HarImport {
  /** Flows in file order; ids `${idPrefix}${n}` (n from 1), seq = n; body ids `${flowId}:req` / `:res`. */
  flows: Flow[];
  /** Body bytes by body id, as the HAR carries them (content text decoded / base64 undone). */
  bodies: Map<string, Uint8Array>;
  /** `log.creator` as "name version", if present. */
  creator?: string;
  /** What was repaired to read the file, one plain sentence each, aggregated. */
  repairs: string[];
  /** Entries that could not be read at all (each reason is also in `repairs`). */
  skipped: number;
}

export type HarImportResult = { ok: true; value: HarImport } | { ok: false; error: string };

/** What every entry of one file shares while it is read. */
interface Reader {
  repairs: Repairs;
  bodies: Map<string, Uint8Array>;
  /** Upstream connections seen so far (server and id), to mark reuse. */
  connections: Set<string>;
  /** The last readable start time, for an entry without one. */
  lastStart: number;
}

/** Thrown inside an entry's reading to skip it; the reason is already noted. */
class Skip {}

/** HAR does not record the client: its address is not known. */
const NO_CLIENT = { address: '', port: 0 };
const utf8 = new TextEncoder();

const encodedIn = (headers: readonly HeaderPair[]): boolean =>
  isEncoded(headerValue(headers, 'content-encoding'));

/** How the file holds a body: its bytes, and what it says of their sizes. */
interface FileBody {
  bytes: Uint8Array;
  /** `bodySize`: bytes on the wire; -1 or undefined when not known. */
  wire: number | undefined;
  /** `content.size`: the decoded size (HAR 1.2), full even when the text is cut. */
  full: number | undefined;
  /** `content.compression` is there: `full` is known to be the decoded size. */
  compression: boolean;
  /** The bytes are still Content-Encoded: Loupe wrote them as sent, unable to decode them. */
  asSent: boolean;
  truncated: boolean;
}

/**
 * A body's info from the file. `size` is the wire size (`bodySize`) where the file knows it,
 * else the full `content.size` of a body cut short, else the bytes it holds. `decodedSize` is
 * set only for a Content-Encoding'd body: the bytes held when they are the whole decoded body,
 * else `content.size` where `compression` says it differs from the wire size. (Without
 * `compression`, `content.size` of a cut body is the wire size: Loupe did not know the other.)
 */
function bodyInfo(body: FileBody, bodyId: string, encoded: boolean, r: Reader): BodyInfo {
  const { bytes, wire, full, truncated } = body;
  const known = (n: number | undefined): n is number => n !== undefined && n >= 0;
  let size: number;
  if (known(wire)) size = wire;
  else if (truncated && known(full) && full >= bytes.length) size = full;
  else if (bytes.length > 0) size = bytes.length;
  else size = known(full) ? full : 0;
  const info: BodyInfo = { size, captured: bytes.length, truncated };
  if (encoded) {
    const whole = bytes.length > 0 && !truncated && !body.asSent;
    const decoded = whole ? bytes.length : body.compression ? full : undefined;
    if (known(decoded)) info.decodedSize = decoded;
  }
  if (bytes.length > 0) {
    info.bodyId = bodyId;
    if (!body.asSent) info.contentDecoded = true;
    r.bodies.set(bodyId, bytes);
  }
  return info;
}

/** The postData or content's own fields that say how its bytes are held. */
function fileBody(
  holder: Json,
  bytes: Uint8Array,
  wire: number | undefined,
  full: number | undefined,
  loupe: boolean,
): FileBody {
  return {
    bytes,
    wire,
    full,
    compression: typeof holder.compression === 'number',
    asSent: loupe && typeof holder.comment === 'string' && holder.comment.includes(WRITTEN_AS_SENT),
    truncated: holder._truncated === true,
  };
}

function requestBody(
  req: Json,
  headers: HeaderPair[],
  id: string,
  loupe: boolean,
  r: Reader,
): BodyInfo {
  const wire = readSize(req.bodySize, r.repairs);
  const raw = req.postData;
  if (raw !== undefined && raw !== null && !isObject(raw)) r.repairs.note('bodyText');
  const pd: Json = isObject(raw) ? raw : {};
  let bytes = readBodyText(pd, r.repairs);
  if (bytes.length === 0 && pd.text === undefined && pd.params !== undefined) {
    bytes = utf8.encode(paramsText(pd.params));
  }
  return bodyInfo(fileBody(pd, bytes, wire, undefined, loupe), `${id}:req`, encodedIn(headers), r);
}

function response(raw: unknown, id: string, loupe: boolean, r: Reader): ResponseRecord | undefined {
  if (!isObject(raw)) {
    r.repairs.note('noResponse');
    return undefined;
  }
  if (raw.redirectURL === null) r.repairs.note('redirectNull');
  else if (typeof raw.redirectURL !== 'string') r.repairs.note('redirectOther');
  let status = 0;
  if (typeof raw.status === 'number' && Number.isInteger(raw.status)) status = raw.status;
  else {
    r.repairs.note('status');
    if (typeof raw.status === 'string' && /^\d+$/.test(raw.status)) status = Number(raw.status);
  }
  const headers = readHeaders(raw.headers, r.repairs);
  const content = isObject(raw.content) ? raw.content : {};
  const bytes = readBodyText(content, r.repairs);
  // HAR's way to say no response came: status 0 and nothing else.
  if (status === 0 && headers.length === 0 && bytes.length === 0) return undefined;
  let statusText = '';
  if (typeof raw.statusText === 'string') statusText = raw.statusText;
  else r.repairs.note('statusText');
  const wire = readSize(raw.bodySize, r.repairs);
  const full = readSize(content.size, r.repairs);
  return {
    status,
    statusText,
    httpVersion: readVersion(raw.httpVersion, r.repairs),
    headers,
    trailers: [],
    body: bodyInfo(fileBody(content, bytes, wire, full, loupe), `${id}:res`, encodedIn(headers), r),
  };
}

/**
 * Chrome's `_webSocketMessages`, which Loupe writes too, as the flow's WebSocket record. Binary
 * payloads are base64; a message's size is the bytes its payload stands for.
 */
function webSocket(
  entry: Json,
  res: ResponseRecord | undefined,
  r: Reader,
): WebSocketRecord | undefined {
  const raw = entry._webSocketMessages;
  if (!Array.isArray(raw)) {
    const isWs = entry._resourceType === 'websocket' && res?.status === 101;
    return isWs ? { messages: [], messagesDropped: 0 } : undefined;
  }
  const messages: WsMessage[] = [];
  const record: WebSocketRecord = { messages, messagesDropped: 0 };
  const extensions = res && headerValue(res.headers, 'sec-websocket-extensions');
  if (extensions) record.extensions = extensions;
  for (const m of raw) {
    const ok =
      isObject(m) &&
      (m.type === 'send' || m.type === 'receive') &&
      typeof m.time === 'number' &&
      Number.isFinite(m.time) &&
      Number.isInteger(m.opcode) &&
      (m.data === undefined || typeof m.data === 'string');
    if (!ok) {
      r.repairs.note('webSocket');
      continue;
    }
    const data = (m.data as string | undefined) ?? '';
    const binary = m.opcode === 2 ? fromBase64(data) : undefined;
    if (m.opcode === 2 && !binary) {
      r.repairs.note('webSocket');
      continue;
    }
    const size = binary ? binary.length : utf8.encode(data).length;
    const message: WsMessage = {
      direction: m.type as WsMessage['direction'],
      // Chrome's (and so Loupe's) time is in seconds since the epoch.
      time: roundMs((m.time as number) * 1000),
      opcode: m.opcode as number,
      size,
      wireSize: size,
      compressed: false,
      data,
      ...(binary ? { encoding: 'base64' as const } : {}),
    };
    messages.push(message);
    if (message.opcode === 8 && record.closedBy === undefined) {
      record.closedBy = message.direction === 'send' ? 'client' : 'server';
      if (data) record.closeReason = data;
    }
  }
  return record;
}

/**
 * Where in the exchange an error happened. Loupe's export does not write the phase; this is the
 * best reading: a response means it failed while answering, a refused request in the request.
 */
function errorPhase(entry: Json, res: ResponseRecord | undefined): FlowError['phase'] {
  if (res) return 'response';
  const code = isObject(entry._error) ? entry._error.code : undefined;
  return code === 'bad_request' || code === 'client_aborted' ? 'request' : 'connect';
}

/** A Loupe-only field that was there but unreadable is dropped and noted. */
function loupeField<T>(value: T | 'bad' | undefined, r: Reader): T | undefined {
  if (value !== 'bad') return value;
  r.repairs.note('loupeFields');
  return undefined;
}

/** The entry was written by Loupe, whose own notes can be read back. */
const isLoupe = (entry: Json): boolean =>
  entry._loupeKind === 'http' || entry._loupeKind === 'tunnel';

/** Where Loupe marks an export taken while the flow was still open. */
function stateOf(entry: Json, error: FlowError | undefined, kind: Flow['kind']): Flow['state'] {
  if (error) return 'error';
  return isLoupe(entry) && entry.comment === STILL_OPEN[kind] ? 'pending' : 'complete';
}

function httpFlow(entry: Json, id: string, seq: number, startedAt: number, r: Reader): HttpFlow {
  const req = entry.request;
  if (!isObject(req)) {
    r.repairs.note('noRequest');
    throw new Skip();
  }
  // A request Loupe refused before it had a URL was written as about:blank, its target in _url.
  const written = typeof req._url === 'string' ? req._url : req.url;
  if (typeof written !== 'string' || written === '') {
    r.repairs.note('noUrl');
    throw new Skip();
  }
  const url = typeof req._url === 'string' ? written : (harUrl(written) ?? written);
  const loupe = isLoupe(entry);
  let method = 'GET';
  if (typeof req.method === 'string' && req.method !== '') method = req.method;
  else r.repairs.note('noMethod');
  const headers = readHeaders(req.headers, r.repairs);
  const request = {
    method,
    url,
    httpVersion: readVersion(req.httpVersion, r.repairs),
    headers,
    trailers: [],
    body: requestBody(req, headers, id, loupe, r),
  };
  const res = response(entry.response, id, loupe, r);
  const phase = errorPhase(entry, res);
  // Loupe writes `{ code, message }` on the entry; Chrome a `net::ERR_…` text on the response.
  const error =
    (typeof entry._error === 'string'
      ? readBrowserError(entry._error, phase)
      : loupeField(readLoupeError(entry._error, phase), r)) ??
    readBrowserError(isObject(entry.response) ? entry.response._error : undefined, phase);
  const address = readServerAddress(entry.serverIPAddress, r.repairs);
  const server = endpoint(url, address);
  const tls = loupeField(readTls(entry._tls), r);
  const conn =
    typeof entry.connection === 'string' || typeof entry.connection === 'number'
      ? String(entry.connection)
      : '';
  // HAR allows a port number as the connection id (Firefox writes 443 for every connection),
  // so reuse is told by the id and the server together.
  const connKey = `${server?.host ?? ''}:${server?.port ?? ''} ${conn}`;
  const reused = conn !== '' && r.connections.has(connKey);
  if (conn) r.connections.add(connKey);
  const ws = webSocket(entry, res, r);
  return {
    kind: 'http',
    id,
    seq,
    startedAt,
    state: stateOf(entry, error, 'http'),
    client: { ...NO_CLIENT },
    ...(error ? { error } : {}),
    tags: loupeField(readTags(entry._tags), r) ?? [],
    request,
    ...(res ? { response: res } : {}),
    ...(server ? { server } : {}),
    ...(tls ? { tls } : {}),
    timings: readTimings(entry.timings, r.repairs),
    connection: {
      // HAR records no client connections: each entry is its own.
      clientConnectionId: id,
      ...(conn ? { upstreamConnectionId: conn } : {}),
      reused,
    },
    ...(ws ? { websocket: ws } : {}),
  };
}

/** The server of a URL (host without brackets, port or the scheme's default) and its address. */
function endpoint(url: string, address: string | undefined): HttpFlow['server'] {
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  const defaults: Record<string, number> = { 'http:': 80, 'ws:': 80, 'https:': 443, 'wss:': 443 };
  if (!parsed?.hostname) return address ? { host: '', port: 0, address } : undefined;
  return {
    host: parsed.hostname.replace(/^\[|\]$/g, ''),
    port: parsed.port ? Number(parsed.port) : (defaults[parsed.protocol] ?? 0),
    ...(address ? { address } : {}),
  };
}

/**
 * A tunnel Loupe wrote as its CONNECT (`_loupeKind: 'tunnel'`), or undefined when its details
 * are unreadable (it is then read as the plain CONNECT exchange it looks like).
 */
function tunnelFlow(
  entry: Json,
  id: string,
  seq: number,
  startedAt: number,
  r: Reader,
): TunnelFlow | undefined {
  const t = entry._tunnel;
  const req = isObject(entry.request) ? entry.request : {};
  const target = /^(https|tcp):\/\/(\[[^\]]*\]|[^:/[\]]*):(\d+)\/$/.exec(String(req.url));
  const count = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n) && n >= 0;
  const valid =
    isObject(t) &&
    (t.protocol === 'tls' || t.protocol === 'unknown') &&
    count(t.bytesUp) &&
    count(t.bytesDown) &&
    (t.reason === undefined || typeof t.reason === 'string') &&
    target !== null;
  if (!valid) {
    r.repairs.note('loupeFields');
    return undefined;
  }
  const established = isObject(entry.response) && entry.response.status === 200;
  const error = loupeField(readLoupeError(entry._error, established ? 'tunnel' : 'connect'), r);
  const address = readServerAddress(entry.serverIPAddress, r.repairs);
  const hello = loupeField(readClientHello(entry._clientHello), r);
  return {
    kind: 'tunnel',
    id,
    seq,
    startedAt,
    state: stateOf(entry, error, 'tunnel'),
    client: { ...NO_CLIENT },
    ...(error ? { error } : {}),
    tags: loupeField(readTags(entry._tags), r) ?? [],
    target: {
      host: target[2]!.replace(/^\[|\]$/g, ''),
      port: Number(target[3]),
      ...(address ? { address } : {}),
    },
    protocol: t.protocol as TunnelFlow['protocol'],
    bytesUp: t.bytesUp as number,
    bytesDown: t.bytesDown as number,
    // Loupe writes a tunnel's whole duration as `receive`.
    durationMs: readTimings(entry.timings, r.repairs).receive,
    ...(typeof t.reason === 'string' ? { reason: t.reason } : {}),
    ...(hello ? { hello } : {}),
  };
}

function readEntry(entry: unknown, id: string, seq: number, r: Reader): Flow {
  if (!isObject(entry)) {
    r.repairs.note('notAnObject');
    throw new Skip();
  }
  let startedAt = readDate(entry.startedDateTime);
  if (startedAt === undefined) {
    r.repairs.note('badDate');
    startedAt = r.lastStart;
  }
  if (!cacheIsValid(entry.cache)) r.repairs.note('cache');
  const tunnel =
    entry._loupeKind === 'tunnel' ? tunnelFlow(entry, id, seq, startedAt, r) : undefined;
  const flow = tunnel ?? httpFlow(entry, id, seq, startedAt, r);
  r.lastStart = startedAt;
  return flow;
}

/**
 * Why a text is not JSON, in words, with the line and column where it stops being JSON. Files
 * that are not text at all get a hint instead, as their "line 1, column 1" would not help.
 */
function notJson(text: string, e: unknown): string {
  const start = text.slice(0, 64);
  if (start.startsWith('\x1f\ufffd')) {
    return 'this file is compressed (gzip); decompress it and open the .har inside';
  }
  if (start.startsWith('PK\x03\x04')) return 'this file is a ZIP archive; extract the .har inside';
  if (start.includes('\0') || start.startsWith('\ufffd\ufffd')) {
    return 'this file is not UTF-8 text (UTF-16?); save it as UTF-8 and open it again';
  }
  const where = jsonSyntaxError(text);
  if (where) {
    return `this file is not JSON (line ${where.line}, column ${where.column}: ${where.problem})`;
  }
  const message = e instanceof Error ? e.message : String(e);
  return `this file is not JSON (${message})`;
}

/**
 * Reads a HAR file's text. Never throws: a text that is not a HAR gives `{ ok: false, error }`
 * with the reason in words (lower case, to follow "Could not open x.har: ").
 */
export function importHar(text: string, opts: { idPrefix: string }): HarImportResult {
  const repairs = new Repairs();
  if (text.charCodeAt(0) === 0xfeff) {
    repairs.file(
      'The file starts with a UTF-8 byte-order mark, which JSON does not allow; read without it.',
    );
    text = text.slice(1);
  }
  if (text.trim() === '') return { ok: false, error: 'this file is empty' };
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    return { ok: false, error: notJson(text, e) };
  }
  const log = isObject(doc) ? doc.log : undefined;
  const entries = isObject(log) ? log.entries : undefined;
  if (!isObject(log) || !Array.isArray(entries)) {
    return { ok: false, error: 'this is not a HAR file: it has no log.entries list' };
  }
  // An entry without a readable start takes the one before it; the first ones, the first known.
  let firstKnown: number | undefined;
  for (const e of entries) {
    firstKnown = isObject(e) ? readDate(e.startedDateTime) : undefined;
    if (firstKnown !== undefined) break;
  }
  const r: Reader = {
    repairs,
    bodies: new Map(),
    connections: new Set(),
    lastStart: firstKnown ?? 0,
  };
  const flows: Flow[] = [];
  let skipped = 0;
  for (const entry of entries) {
    repairs.nextEntry();
    const n = flows.length + 1;
    const id = `${opts.idPrefix}${n}`;
    try {
      flows.push(readEntry(entry, id, n, r));
    } catch (e) {
      if (!(e instanceof Skip))
        repairs.note('unreadable', e instanceof Error ? e.message : String(e));
      for (const suffix of [':req', ':res']) r.bodies.delete(`${id}${suffix}`);
      skipped++;
    }
  }
  if (entries.length > 0 && flows.length === 0) {
    const reasons = repairs.sentences().join(' ');
    return { ok: false, error: `none of its ${entries.length} entries could be read. ${reasons}` };
  }
  const creator = isObject(log.creator) ? log.creator : undefined;
  const name = typeof creator?.name === 'string' ? creator.name.trim() : '';
  const version = typeof creator?.version === 'string' ? creator.version.trim() : '';
  return {
    ok: true,
    value: {
      flows,
      bodies: r.bodies,
      ...(name ? { creator: version ? `${name} ${version}` : name } : {}),
      repairs: repairs.sentences(),
      skipped,
    },
  };
}
