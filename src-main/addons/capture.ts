/**
 * Capture: turns engine hooks into flows in the flow store and body bytes in the body store.
 * Each body is kept up to a cap; past it the flow is marked truncated while its size keeps
 * counting. A WebSocket's message payloads go to the body store too, one body per connection
 * (flows/ws-messages.ts), up to a cap per connection; past it messages are marked as cut or not
 * kept. Forwarding never waits for capture: every handler here is synchronous and cheap, and the
 * one slow job (measuring a compressed body's decoded size) runs after the exchange.
 */
import {
  emptyBody,
  headerValue,
  type BodyInfo,
  type FlowState,
  type HttpFlow,
  type TunnelFlow,
} from '../../src-common/flow';
import type { Exchange, Hooks, Tunnel } from '../engine/hooks';
import type { BodyStore } from '../flows/body-store';
import { codingsToUndo, decodedLength } from '../flows/decode';
import { FLUSH_MS, type FlowStore } from '../flows/flow-store';
import type { WsMessage } from '../../src-common/websocket';

export const DEFAULT_BODY_CAP = 16 * 1024 * 1024;
/** Decompressed payload bytes of WebSocket messages kept per connection by default. */
export const DEFAULT_WEBSOCKET_CAP = 64 * 1024 * 1024;

/** Why a body or message was cut when the body store refused its bytes (BodyStore.append). */
export const MEMORY_CUT_REASON =
  'Loupe stopped keeping this body: captured bodies were using more memory than their budget ' +
  'and the disk could not keep up';

/** Decoding for `decodedSize` stops here: a body that decodes to more is likely a bomb. */
const DECODED_SIZE_CAP = 256 * 1024 * 1024;

export interface CaptureOptions {
  hooks: Hooks;
  flows: FlowStore;
  bodies: BodyStore;
  /** Bytes kept per body; default 16 MiB. */
  bodyCap?: number;
  /** Bytes of WebSocket message payloads kept per connection; default 64 MiB. */
  webSocketCap?: number;
}

export interface Capture {
  /** Off: new exchanges and tunnels go unrecorded (traffic flows on); those in progress finish. */
  setRecording(on: boolean): void;
  readonly recording: boolean;
  /** Bytes kept per body, for exchanges that start from now on; Infinity keeps everything. */
  setBodyCap(bytes: number): void;
  readonly bodyCap: number;
  /** Message payload bytes kept per WebSocket connection, for connections from now on. */
  setWebSocketCap(bytes: number): void;
  readonly webSocketCap: number;
  /** Stops listening to the hooks. */
  dispose(): void;
}

/** One body being captured: what the flow will say about it and where its bytes go. */
interface Side {
  info: BodyInfo;
  /** Body-store key: the flow id plus a side, so the two bodies of a flow never collide. */
  key: string;
  /** The cap when the exchange began: a body is never cut by one cap and resumed by the next. */
  cap: number;
  finished: boolean;
}

/** A WebSocket's messages so far, their payloads in the body store under `key`. */
interface WsKept {
  /** Without `data`: it is in the body at `stored`. */
  messages: WsMessage[];
  key: string;
  /** The cap when the exchange began, as for a body. */
  cap: number;
  /** Payload bytes in the body so far. */
  bytes: number;
}

interface Live {
  seq: number;
  request: Side;
  response: Side;
  /** The flow is re-stored with the messages so far at most once per FLUSH_MS. */
  ws: WsKept;
  wsTimer?: ReturnType<typeof setTimeout>;
}

function checkCap(bytes: number): number {
  if (!(bytes >= 0)) throw new RangeError(`a capture cap is a number of bytes ≥ 0, not ${bytes}`);
  return bytes;
}

/** Subscribes capture to `hooks`; records into `flows` and `bodies` until disposed. */
export function createCapture({
  hooks,
  flows,
  bodies,
  bodyCap = DEFAULT_BODY_CAP,
  webSocketCap = DEFAULT_WEBSOCKET_CAP,
}: CaptureOptions): Capture {
  let recording = true;
  let cap = checkCap(bodyCap);
  let wsCap = checkCap(webSocketCap);
  let seq = 0;
  const live = new Map<string, Live>();
  /** Exchanges that began while recording was off: their end must not record them. */
  const ignored = new Set<string>();
  const tunnels = new Map<string, number>();

  const side = (id: string, name: 'req' | 'res'): Side => ({
    info: emptyBody(),
    key: `${id}:${name}`,
    cap,
    finished: false,
  });

  const keep = (s: Side, chunk: Buffer): void => {
    s.info.size += chunk.length;
    const room = s.cap - s.info.captured;
    if (chunk.length > room) s.info.truncated = true;
    if (room <= 0 || s.info.truncatedReason) return;
    const part = chunk.length <= room ? chunk : chunk.subarray(0, room);
    // A copy: the engine may reuse its buffer once the hook returns.
    if (!bodies.append(s.key, Buffer.from(part))) {
      // The store is past its memory ceiling: the body keeps what it has, and no more of it.
      s.info.truncated = true;
      s.info.truncatedReason = MEMORY_CUT_REASON;
      return;
    }
    s.info.captured += part.length;
    s.info.bodyId = s.key;
  };

  const finish = (s: Side): void => {
    if (s.finished) return;
    s.finished = true;
    if (s.info.bodyId) bodies.finish(s.key);
  };

  /** The message as the flow keeps it: its payload appended to the connection's body. */
  const keepMessage = (w: WsKept, msg: WsMessage): WsMessage => {
    const { data, ...record } = msg;
    if (data === undefined) return record;
    if (w.bytes > 0 && !bodies.has(w.key)) {
      // The store was cleared under a live connection: the earlier payloads are gone.
      w.messages = w.messages.map(({ stored: _gone, ...m }) => m);
      w.bytes = 0;
    }
    const room = w.cap - w.bytes;
    if (data.length > 0 && room <= 0) return { ...record, connectionCap: 'none' };
    const payload = Buffer.from(data, msg.encoding === 'base64' ? 'base64' : 'utf8');
    const cut = payload.length > room;
    // A cut keeps a copy of its part: a view would hold the whole payload in memory.
    const part = cut ? Buffer.from(payload.subarray(0, room)) : payload;
    if (part.length > 0 && !bodies.append(w.key, part)) {
      return { ...record, truncated: true, error: MEMORY_CUT_REASON };
    }
    const stored = { offset: w.bytes, length: part.length };
    w.bytes += part.length;
    return cut
      ? { ...record, stored, truncated: true, connectionCap: 'cut' }
      : { ...record, stored };
  };

  // Every field is copied: the engine goes on mutating the exchange after each hook.
  const toFlow = (ex: Exchange, t: Live, state: FlowState): HttpFlow => ({
    kind: 'http',
    id: ex.id,
    seq: t.seq,
    startedAt: ex.startedAt,
    state,
    client: { ...ex.client },
    request: {
      method: ex.request.method,
      url: ex.request.url,
      httpVersion: ex.request.httpVersion,
      headers: ex.request.headers.map(([n, v]) => [n, v]),
      trailers: ex.request.trailers.map(([n, v]) => [n, v]),
      body: { ...t.request.info },
    },
    ...(ex.response
      ? {
          response: {
            status: ex.response.status,
            statusText: ex.response.statusText,
            httpVersion: ex.response.httpVersion,
            headers: ex.response.headers.map(([n, v]) => [n, v]),
            trailers: ex.response.trailers.map(([n, v]) => [n, v]),
            body: { ...t.response.info },
          },
        }
      : {}),
    ...(ex.server ? { server: { ...ex.server } } : {}),
    // The engine never mutates TLS records (a new object replaces one), so they are shared.
    ...(ex.tls ? { tls: ex.tls } : {}),
    timings: { ...ex.timings },
    connection: {
      clientConnectionId: ex.clientConnectionId,
      ...(ex.upstreamConnectionId ? { upstreamConnectionId: ex.upstreamConnectionId } : {}),
      reused: ex.reused,
    },
    tags: ex.tags.slice(),
    ...(ex.error ? { error: { ...ex.error } } : {}),
    // Messages are never changed once kept, so the flow shares them.
    ...(ex.websocket
      ? {
          websocket: {
            ...ex.websocket,
            messages: t.ws.messages.slice(),
            ...(t.ws.bytes > 0 ? { bodyId: t.ws.key } : {}),
            keptCap: t.ws.cap,
          },
        }
      : {}),
  });

  const begin = (ex: Exchange): Live | undefined => {
    if (!recording) {
      ignored.add(ex.id);
      return undefined;
    }
    const t: Live = {
      seq: ++seq,
      request: side(ex.id, 'req'),
      response: side(ex.id, 'res'),
      ws: { messages: [], key: `${ex.id}:ws`, cap: wsCap, bytes: 0 },
    };
    live.set(ex.id, t);
    return t;
  };

  const end = (ex: Exchange): void => {
    if (ignored.delete(ex.id)) return;
    // A request refused before its head was complete reaches capture only as an error.
    const t = live.get(ex.id) ?? begin(ex);
    if (!t) return;
    live.delete(ex.id);
    clearTimeout(t.wsTimer);
    finish(t.request);
    finish(t.response);
    if (t.ws.bytes > 0) bodies.finish(t.ws.key);
    const flow = toFlow(ex, t, ex.error ? 'error' : 'complete');
    flows.upsert(flow);
    void measureDecoded(flow);
  };

  /** Adds the decoded size of a complete, fully captured, content-encoded response body. */
  const measureDecoded = async (flow: HttpFlow): Promise<void> => {
    const res = flow.response;
    const encoding = res && headerValue(res.headers, 'content-encoding');
    if (!res?.body.bodyId || res.body.truncated || codingsToUndo(encoding).length === 0) return;
    const decoded = await decodedLength(await bodies.read(res.body.bodyId), encoding, {
      maxOutput: DECODED_SIZE_CAP,
    });
    // Skip when the flow was cleared or replaced meanwhile: never resurrect or clobber it.
    if (!decoded.ok || decoded.truncated || flows.get(flow.id) !== flow) return;
    flows.upsert({
      ...flow,
      response: { ...res, body: { ...res.body, decodedSize: decoded.size } },
    });
  };

  const tunnelFlow = (tn: Tunnel, seqNo: number, state: FlowState): TunnelFlow => ({
    kind: 'tunnel',
    id: tn.id,
    seq: seqNo,
    startedAt: tn.startedAt,
    state,
    client: { ...tn.client },
    target: { ...tn.target },
    protocol: tn.protocol,
    bytesUp: tn.bytesUp,
    bytesDown: tn.bytesDown,
    durationMs: tn.durationMs ?? 0,
    ...(tn.reason ? { reason: tn.reason } : {}),
    ...(tn.hello ? { hello: tn.hello } : {}),
    tags: tn.tags.slice(),
    ...(tn.error ? { error: { ...tn.error } } : {}),
  });

  const unsubscribe = [
    hooks.on('requestHeaders', (ex) => {
      const t = begin(ex);
      if (t) flows.upsert(toFlow(ex, t, 'pending'));
    }),
    hooks.on('requestBody', (ex, chunk) => {
      const t = live.get(ex.id);
      if (t) keep(t.request, chunk);
    }),
    hooks.on('request', (ex) => {
      const t = live.get(ex.id);
      if (!t) return;
      finish(t.request);
      flows.upsert(toFlow(ex, t, 'pending'));
    }),
    hooks.on('responseHeaders', (ex) => {
      const t = live.get(ex.id);
      if (t) flows.upsert(toFlow(ex, t, 'pending'));
    }),
    hooks.on('responseBody', (ex, chunk) => {
      const t = live.get(ex.id);
      if (t) keep(t.response, chunk);
    }),
    hooks.on('response', end),
    hooks.on('error', end),
    hooks.on('tunnelOpen', (tn) => {
      if (!recording) return;
      const seqNo = ++seq;
      tunnels.set(tn.id, seqNo);
      flows.upsert(tunnelFlow(tn, seqNo, 'pending'));
    }),
    hooks.on('tunnelClose', (tn) => {
      const seqNo = tunnels.get(tn.id);
      if (seqNo === undefined) return;
      tunnels.delete(tn.id);
      flows.upsert(tunnelFlow(tn, seqNo, tn.error ? 'error' : 'complete'));
    }),
    hooks.on('wsMessage', (ex, msg) => {
      const t = live.get(ex.id);
      if (!t) return;
      t.ws.messages.push(keepMessage(t.ws, msg));
      // A chatty socket would otherwise copy its whole message list into the store per message.
      if (t.wsTimer) return;
      t.wsTimer = setTimeout(() => {
        t.wsTimer = undefined;
        if (live.get(ex.id) === t) flows.upsert(toFlow(ex, t, 'pending'));
      }, FLUSH_MS);
      t.wsTimer.unref?.();
    }),
  ];

  return {
    setRecording(on) {
      recording = on;
    },
    get recording() {
      return recording;
    },
    setBodyCap(bytes) {
      cap = checkCap(bytes);
    },
    get bodyCap() {
      return cap;
    },
    setWebSocketCap(bytes) {
      wsCap = checkCap(bytes);
    },
    get webSocketCap() {
      return wsCap;
    },
    dispose() {
      for (const off of unsubscribe) off();
      for (const t of live.values()) clearTimeout(t.wsTimer);
    },
  };
}
