/**
 * Flow → HAR 1.2. Pure: bodies come in as bytes (already decoded per Content-Encoding by the
 * caller, who has zlib), so the same code serves main's streaming file writer and the UI's
 * "copy as HAR". An entry's big parts (long body text, the WebSocket messages) come in pieces
 * (json-pieces.ts), and a part past its limit is cut, the entry saying so in `_truncated`.
 */
import { headerValue, type BodyInfo, type Flow, type HttpFlow, type TunnelFlow } from '../flow';
import {
  base64Pieces,
  harHeaders,
  harUrl,
  headSize,
  ipAddress,
  isUtf8,
  queryOf,
  requestCookies,
  requestTarget,
  responseCookies,
  roundMs,
  toBase64,
  urlencodedParams,
  utf8Pieces,
  utf8Text,
} from './fields';
import {
  ItemPieces,
  jsonPieces,
  Later,
  stringSlices,
  TextPieces,
  type Pieced,
} from './json-pieces';
import type { WebSocketRecord, WsMessage } from '../websocket';
import type {
  HarContent,
  HarCreator,
  HarEntry,
  HarLog,
  HarPostData,
  HarRequest,
  HarResponse,
  HarTimings,
} from './types';

/** One body as the caller read it from the body store. */
export interface HarBody {
  bytes: Uint8Array;
  /** `bytes` have the Content-Encoding undone (false when there was none, or decoding failed). */
  decoded?: boolean;
  /** `bytes` stop short of the end: decoding stopped at a cap, or capture kept only the start. */
  cut?: boolean;
  /** Why the bytes are as they are, in words (decoding failed or stopped at a cap). */
  note?: string;
  /**
   * Why the export did not write this body whole (its limit, a read error), in words: the
   * entry's `_truncated` repeats it.
   */
  exportCut?: string;
}

export interface HarBodies {
  request?: HarBody;
  response?: HarBody;
}

const MiB = 1024 * 1024;

/** What one entry may hold; past a limit, the part is written cut and `_truncated` says so. */
export interface HarLimits {
  /** Body bytes written per body, after decoding (applied by the caller, who reads the bodies). */
  bodyBytes: number;
  /** Characters of WebSocket message data per entry (a binary message counts its base64). */
  webSocketText: number;
}

/**
 * The limits of every export. They bound what a reader must hold for one entry: its two bodies
 * (base64 a third longer) and its messages stay below the ~512 MiB longest string of V8, which
 * Loupe's own import and the browsers' HAR readers meet.
 */
export const HAR_LIMITS: Readonly<HarLimits> = { bodyBytes: 64 * MiB, webSocketText: 256 * MiB };

/** A size in words: whole MiB as such, anything else in bytes. */
const sizeWords = (n: number): string => (n % MiB === 0 ? `${n / MiB} MiB` : `${n} bytes`);

/** Longer texts than this are written in pieces of about this size. */
const PIECE = MiB;

/** True when a Content-Encoding header names a coding other than identity. */
export function isEncoded(contentEncoding: string | undefined): boolean {
  return (contentEncoding ?? '').split(',').some((c) => !/^\s*(identity)?\s*$/i.test(c));
}

/**
 * Text where the bytes are UTF-8, base64 otherwise; HAR has no other way to carry bytes. A long
 * body's text comes in pieces, never as one string.
 */
function bodyText(bytes: Uint8Array): { text: string | TextPieces; encoding?: 'base64' } {
  if (bytes.length <= PIECE) {
    const text = utf8Text(bytes);
    return text === undefined ? { text: toBase64(bytes), encoding: 'base64' } : { text };
  }
  if (isUtf8(bytes, PIECE)) return { text: new TextPieces(() => utf8Pieces(bytes, PIECE)) };
  return { text: new TextPieces(() => base64Pieces(bytes, PIECE)), encoding: 'base64' };
}

/**
 * The start of the note on a body the export could not decode and wrote as sent. Import reads
 * such a body as the wire bytes it is, not as decoded text.
 */
export const WRITTEN_AS_SENT = 'It is written as sent';

/** Words for a body that is not all there, or `undefined` when it is. */
function bodyComment(
  info: BodyInfo,
  body: HarBody | undefined,
  encoded: boolean,
): string | undefined {
  const notes: string[] = [];
  if (info.truncated && info.contentDecoded && encoded) {
    // Bytes from an imported file are the decoded start of the body; `size` counts the wire.
    notes.push(
      `Loupe has only the start of this body (the capture cap): its decoded text here, of ${info.size} bytes sent.`,
    );
  } else if (info.truncated) {
    notes.push(
      `Loupe kept the first ${info.captured} of ${info.size} bytes of this body (the capture cap).`,
    );
  }
  if (body?.note) notes.push(body.note);
  return notes.length ? notes.join(' ') : undefined;
}

function content(res: HttpFlow['response'], body: HarBody | undefined): Pieced<HarContent> {
  const mimeType = (res && headerValue(res.headers, 'content-type')) ?? '';
  if (!res) return { size: 0, mimeType };
  const info = res.body;
  const encoded = isEncoded(headerValue(res.headers, 'content-encoding'));
  const cut = info.truncated || body?.cut === true;
  // HAR's size is the decoded size; the FULL size, even when capture kept only the start.
  const decodedSize =
    body?.decoded && !cut ? body.bytes.length : encoded ? info.decodedSize : info.size;
  const out: Pieced<HarContent> = { size: decodedSize ?? info.size, mimeType };
  if (encoded && decodedSize !== undefined) out.compression = decodedSize - info.size;
  if (body && body.bytes.length > 0) Object.assign(out, bodyText(body.bytes));
  const comment = bodyComment(info, body, encoded);
  if (comment) out.comment = comment;
  if (cut) out._truncated = true;
  return out;
}

function postData(flow: HttpFlow, body: HarBody | undefined): Pieced<HarPostData> | undefined {
  const info = flow.request.body;
  if (info.size === 0 && !body?.bytes.length) return undefined;
  const mimeType = headerValue(flow.request.headers, 'content-type') ?? '';
  const out: Pieced<HarPostData> = { mimeType, ...bodyText(body?.bytes ?? new Uint8Array()) };
  // A form long enough to come in pieces keeps its text only: HAR has params as its alternative.
  const form = /^application\/x-www-form-urlencoded\b/i.test(mimeType);
  if (form && out.encoding === undefined && typeof out.text === 'string') {
    out.params = urlencodedParams(out.text);
  }
  const encoded = isEncoded(headerValue(flow.request.headers, 'content-encoding'));
  const comment = bodyComment(info, body, encoded);
  if (comment) out.comment = comment;
  if (info.truncated || body?.cut) out._truncated = true;
  return out;
}

/**
 * HAR timings from the flow's. The flow's `connect` already includes `ssl` (flow.ts), which is
 * what HAR asks. -1 stays where a phase did not happen, except for send, wait and receive, which
 * HAR requires as non-negative numbers.
 */
function harTimings(flow: HttpFlow): HarTimings {
  const t = flow.timings;
  const optional = (ms: number): number => (ms < 0 ? -1 : roundMs(ms));
  return {
    blocked: optional(t.blocked),
    dns: optional(t.dns),
    connect: optional(t.connect),
    ssl: optional(t.ssl),
    send: roundMs(Math.max(0, t.send)),
    wait: roundMs(Math.max(0, t.wait)),
    receive: roundMs(Math.max(0, t.receive)),
  };
}

/** HAR's `time`: every phase that happened, `ssl` excepted as it is inside `connect`. */
function timeOf(t: HarTimings): number {
  const phases = [t.blocked, t.dns, t.connect, t.send, t.wait, t.receive];
  return roundMs(phases.reduce((sum, ms) => (ms > 0 ? sum + ms : sum), 0));
}

function httpRequest(flow: HttpFlow, body: HarBody | undefined): Pieced<HarRequest> {
  const req = flow.request;
  const url = harUrl(req.url);
  const pd = postData(flow, body);
  return {
    method: req.method,
    // A request refused before it had a URL still needs one here; the raw target is kept aside.
    url: url ?? 'about:blank',
    httpVersion: req.httpVersion,
    cookies: requestCookies(req.headers),
    headers: harHeaders(req.headers),
    queryString: url ? urlencodedParams(queryOf(req.url)) : [],
    ...(pd ? { postData: pd } : {}),
    headersSize: url
      ? headSize(
          `${req.method} ${requestTarget(req.url)} ${req.httpVersion}`,
          req.headers,
          req.httpVersion,
        )
      : -1,
    bodySize: req.body.size,
    ...(url === undefined && req.url ? { _url: req.url } : {}),
  };
}

function httpResponse(flow: HttpFlow, body: HarBody | undefined): Pieced<HarResponse> {
  const res = flow.response;
  if (!res) {
    // No response arrived (an error, or still pending): HAR's convention is status 0.
    return {
      status: 0,
      statusText: '',
      httpVersion: '',
      cookies: [],
      headers: [],
      content: content(undefined, undefined),
      redirectURL: '',
      headersSize: -1,
      bodySize: -1,
    };
  }
  return {
    status: res.status,
    statusText: res.statusText,
    httpVersion: res.httpVersion,
    cookies: responseCookies(res.headers, flow.startedAt),
    headers: harHeaders(res.headers),
    content: content(res, body),
    redirectURL: headerValue(res.headers, 'location') ?? '',
    headersSize: headSize(
      `${res.httpVersion} ${res.status} ${res.statusText}`,
      res.headers,
      res.httpVersion,
    ),
    bodySize: res.body.size,
  };
}

/** The comment of an entry exported before its flow finished; import reads it back as pending. */
export const STILL_OPEN: Record<Flow['kind'], string> = {
  http: 'The exchange was still in progress when this was exported.',
  tunnel: 'The tunnel was still open when this was exported.',
};

/** The entry-level comment: the error in words, or that the flow had not finished. */
function entryComment(flow: Flow): string | undefined {
  if (flow.error) return flow.error.message;
  if (flow.state === 'pending') return STILL_OPEN[flow.kind];
  return undefined;
}

/** Fields every entry shares: comment, error, ids and tags. */
function common(flow: Flow): Pick<HarEntry, 'comment' | '_error' | '_loupeId' | '_tags'> {
  const comment = entryComment(flow);
  return {
    ...(comment ? { comment } : {}),
    ...(flow.error ? { _error: { code: flow.error.code, message: flow.error.message } } : {}),
    _loupeId: flow.id,
    ...(flow.tags.length ? { _tags: flow.tags.slice() } : {}),
  };
}

/** One WebSocket message as Chrome DevTools exports it (`time` in seconds since the epoch). */
export interface HarWebSocketMessage {
  type: 'send' | 'receive';
  time: number;
  opcode: number;
  /** Text as text; binary as base64, as Chrome writes it. '' when the payload was not read. */
  data: string;
}

/** The fields Chrome DevTools adds to a WebSocket's entry; other HAR readers ignore them. */
export interface HarWebSocketFields {
  _resourceType?: 'websocket';
  _webSocketMessages?: HarWebSocketMessage[];
}

/**
 * The messages, in order, as long as their data stays within `limit` characters; past it the
 * rest is left out and `cuts` says so.
 */
function* messagesWithin(
  messages: readonly WsMessage[],
  limit: number,
  cuts: string[],
): Generator<Pieced<HarWebSocketMessage>> {
  let text = 0;
  for (const [i, m] of messages.entries()) {
    const data = m.data ?? '';
    text += data.length;
    if (text > limit) {
      cuts.push(
        `Loupe wrote the first ${i} of ${messages.length} WebSocket messages: the rest would pass the export's limit of ${sizeWords(limit)} of message text per entry.`,
      );
      return;
    }
    yield {
      type: m.direction,
      time: m.time / 1000,
      opcode: m.opcode,
      data: data.length > PIECE ? new TextPieces(() => stringSlices(data, PIECE)) : data,
    };
  }
}

function webSocketFields(
  ws: WebSocketRecord,
  limit: number,
  cuts: string[],
): Pieced<HarWebSocketFields> {
  return {
    _resourceType: 'websocket',
    _webSocketMessages: new ItemPieces(() => messagesWithin(ws.messages, limit, cuts)),
  };
}

/** How a part that failed while written is told in `_truncated`. */
export function partFailed(err: unknown): string {
  return `Loupe could not write all of it: ${err instanceof Error ? err.message : String(err)}.`;
}

function httpEntry(flow: HttpFlow, bodies: HarBodies, limits: HarLimits): HarEntryParts {
  const timings = harTimings(flow);
  const server = ipAddress(flow.server?.address);
  const cuts: string[] = [];
  if (bodies.request?.exportCut) cuts.push(`Request body: ${bodies.request.exportCut}`);
  if (bodies.response?.exportCut) cuts.push(`Response body: ${bodies.response.exportCut}`);
  const entry: Pieced<HarEntry & HarWebSocketFields> = {
    startedDateTime: new Date(flow.startedAt).toISOString(),
    time: timeOf(timings),
    request: httpRequest(flow, bodies.request),
    response: httpResponse(flow, bodies.response),
    cache: {},
    timings,
    ...(server ? { serverIPAddress: server } : {}),
    ...(flow.connection.upstreamConnectionId
      ? { connection: flow.connection.upstreamConnectionId }
      : {}),
    _loupeKind: 'http',
    ...(flow.tls ? { _tls: flow.tls } : {}),
    ...common(flow),
    ...(flow.websocket ? webSocketFields(flow.websocket, limits.webSocketText, cuts) : {}),
    // Last, so that it is read once every part before it has been written.
    _truncated: new Later(() => (cuts.length ? cuts.join(' ') : undefined)),
  };
  return { entry, cuts };
}

/**
 * A tunnel carries bytes Loupe did not decrypt, so there is no exchange inside to write. It is
 * written as the CONNECT that opened it, which is what happened on the wire and what every HAR
 * reader can show: status 200 once established (an error in the relay keeps the 200), 0 when
 * it never was. The URL names the target (`https://` for TLS, `tcp://` for anything else), the
 * body sizes are the bytes relayed each way, the whole duration is `receive`, and the details
 * are in `_tunnel`. Dropping tunnels instead would hide traffic that happened.
 */
function tunnelEntry(flow: TunnelFlow): HarEntry {
  const { host, port } = flow.target;
  const authority = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  const established = !flow.error || flow.error.phase === 'tunnel';
  const duration = roundMs(Math.max(0, flow.durationMs));
  const server = ipAddress(flow.target.address);
  return {
    startedDateTime: new Date(flow.startedAt).toISOString(),
    time: duration,
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
      status: established ? 200 : 0,
      statusText: established ? 'Connection Established' : '',
      httpVersion: established ? 'HTTP/1.1' : '',
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
    timings: { blocked: -1, dns: -1, connect: -1, ssl: -1, send: 0, wait: 0, receive: duration },
    ...(server ? { serverIPAddress: server } : {}),
    _loupeKind: 'tunnel',
    _tunnel: {
      protocol: flow.protocol,
      bytesUp: flow.bytesUp,
      bytesDown: flow.bytesDown,
      ...(flow.reason ? { reason: flow.reason } : {}),
    },
    ...(flow.hello ? { _clientHello: flow.hello } : {}),
    ...common(flow),
  };
}

/** One flow's entry for a writer of JSON pieces, and the words on what it had to leave out. */
export interface HarEntryParts {
  /** The entry, its big parts in pieces (write it with jsonPieces). */
  entry: Pieced<HarEntry & HarWebSocketFields>;
  /**
   * What the entry leaves out, in words: written as `_truncated`, its last field, once reached.
   * A part that fails while written (jsonPieces' onError) adds its own words here: partFailed.
   */
  cuts: string[];
}

/**
 * One HAR entry for a flow, in pieces; `bodies` are its captured bodies (the response decoded if
 * possible), already within `limits.bodyBytes`.
 */
export function harEntryParts(
  flow: Flow,
  bodies: HarBodies = {},
  limits: HarLimits = HAR_LIMITS,
): HarEntryParts {
  return flow.kind === 'http'
    ? httpEntry(flow, bodies, limits)
    : { entry: tunnelEntry(flow), cuts: [] };
}

/**
 * One HAR entry as a value, from the same pieces a file gets: for entries small enough to hold
 * whole (tests, one flow copied).
 */
export function toHarEntry(flow: Flow, bodies: HarBodies = {}): HarEntry & HarWebSocketFields {
  const { entry, cuts } = harEntryParts(flow, bodies);
  const json = [...jsonPieces(entry, (err) => cuts.push(partFailed(err)))].join('');
  return JSON.parse(json) as HarEntry & HarWebSocketFields;
}

/** A HAR 1.2 document (no pages: Loupe records traffic, not page loads). */
export function toHarLog(entries: HarEntry[], creator: HarCreator): HarLog {
  return { log: { version: '1.2', creator: { ...creator }, entries } };
}
