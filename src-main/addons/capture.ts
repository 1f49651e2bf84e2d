/**
 * Capture: turns engine hooks into flows in the flow store and body bytes in the body store.
 * Each body is kept up to a cap; past it the flow is marked truncated while forwarding goes on
 * untouched (the engine never waits for capture).
 */
import {
  emptyBody,
  headerValue,
  type BodyInfo,
  type HttpFlow,
  type TunnelFlow,
} from '../../src-common/flow';
import type { Exchange, Hooks, Tunnel } from '../engine/index';
import type { BodyStore } from '../flows/body-store';
import { decodeBody } from '../flows/decode';
import type { FlowStore } from '../flows/flow-store';

/** Decoding for the size stops here; past it a body is a likely decompression bomb. */
const DECODED_SIZE_CAP = 256 * 1024 * 1024;

export interface CaptureOptions {
  hooks: Hooks;
  flows: FlowStore;
  bodies: BodyStore;
  /** Bytes kept per body. */
  bodyCap: number;
}

export interface Capture {
  /** Off: new exchanges are not recorded (traffic still flows); ones in progress finish. */
  setRecording(on: boolean): void;
  readonly recording: boolean;
  setBodyCap(bytes: number): void;
  dispose(): void;
}

interface Tracked {
  seq: number;
  request: BodyInfo;
  response: BodyInfo;
}

export function createCapture({ hooks, flows, bodies, bodyCap }: CaptureOptions): Capture {
  let recording = true;
  let cap = bodyCap;
  let seq = 0;
  const live = new Map<string, Tracked>();

  const keep = (body: BodyInfo, id: string, chunk: Buffer): void => {
    body.size += chunk.length;
    const room = cap - body.captured;
    if (room <= 0) {
      body.truncated = true;
      return;
    }
    const part = chunk.length <= room ? chunk : chunk.subarray(0, room);
    // Copy: the engine's buffer may be reused once the hook returns.
    bodies.append(id, Buffer.from(part));
    body.captured += part.length;
    body.bodyId = id;
    if (part.length < chunk.length) body.truncated = true;
  };

  const toFlow = (ex: Exchange, t: Tracked, state: HttpFlow['state']): HttpFlow => ({
    kind: 'http',
    id: ex.id,
    seq: t.seq,
    startedAt: ex.startedAt,
    state,
    client: ex.client,
    request: {
      method: ex.request.method,
      url: ex.request.url,
      httpVersion: ex.request.httpVersion,
      headers: ex.request.headers.slice(),
      trailers: ex.request.trailers.slice(),
      body: { ...t.request },
    },
    ...(ex.response
      ? {
          response: {
            status: ex.response.status,
            statusText: ex.response.statusText,
            httpVersion: ex.response.httpVersion,
            headers: ex.response.headers.slice(),
            trailers: ex.response.trailers.slice(),
            body: { ...t.response },
          },
        }
      : {}),
    ...(ex.server ? { server: { ...ex.server } } : {}),
    timings: { ...ex.timings },
    connection: {
      clientConnectionId: ex.clientConnectionId,
      ...(ex.upstreamConnectionId ? { upstreamConnectionId: ex.upstreamConnectionId } : {}),
      reused: ex.reused,
    },
    tags: ex.tags.slice(),
    ...(ex.error ? { error: { ...ex.error } } : {}),
  });

  const begin = (ex: Exchange): Tracked | undefined => {
    if (!recording) return undefined;
    const t: Tracked = { seq: ++seq, request: emptyBody(), response: emptyBody() };
    live.set(ex.id, t);
    return t;
  };

  // Body ids are the flow id plus a side, so the two bodies of one flow never collide.
  const reqId = (ex: Exchange): string => `${ex.id}:req`;
  const resId = (ex: Exchange): string => `${ex.id}:res`;

  const end = (ex: Exchange): void => {
    let t = live.get(ex.id);
    // A request refused before its head was parsed reaches capture only as an error.
    if (!t && ex.error && !ex.request.headers.length) t = begin(ex);
    if (!t) return;
    live.delete(ex.id);
    if (t.request.captured) bodies.finish(reqId(ex));
    if (t.response.captured) bodies.finish(resId(ex));
    const flow = toFlow(ex, t, ex.error ? 'error' : 'complete');
    flows.upsert(flow);
    void measureDecoded(flow);
  };

  /** Adds the decoded size of a complete, fully captured, content-encoded response body. */
  const measureDecoded = async (flow: HttpFlow): Promise<void> => {
    const body = flow.response?.body;
    const encoding = flow.response && headerValue(flow.response.headers, 'content-encoding');
    if (!body?.bodyId || body.truncated || !encoding || /^\s*identity\s*$/i.test(encoding)) return;
    const decoded = await decodeBody(await bodies.read(body.bodyId), encoding, {
      maxOutput: DECODED_SIZE_CAP,
    });
    if (!decoded.ok || decoded.truncated || flows.get(flow.id) !== flow) return;
    flows.upsert({
      ...flow,
      response: { ...flow.response!, body: { ...body, decodedSize: decoded.body.length } },
    });
  };

  const tunnelFlow = (tn: Tunnel, t: Tracked, state: TunnelFlow['state']): TunnelFlow => ({
    kind: 'tunnel',
    id: tn.id,
    seq: t.seq,
    startedAt: tn.startedAt,
    state,
    client: tn.client,
    target: { ...tn.target },
    protocol: tn.protocol,
    bytesUp: tn.bytesUp,
    bytesDown: tn.bytesDown,
    durationMs: tn.durationMs ?? 0,
    ...(tn.reason ? { reason: tn.reason } : {}),
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
      if (t) keep(t.request, reqId(ex), chunk);
    }),
    hooks.on('responseHeaders', (ex) => {
      const t = live.get(ex.id);
      if (t) flows.upsert(toFlow(ex, t, 'pending'));
    }),
    hooks.on('responseBody', (ex, chunk) => {
      const t = live.get(ex.id);
      if (t) keep(t.response, resId(ex), chunk);
    }),
    hooks.on('response', end),
    hooks.on('error', end),
    hooks.on('tunnelOpen', (tn) => {
      if (!recording) return;
      const t: Tracked = { seq: ++seq, request: emptyBody(), response: emptyBody() };
      live.set(tn.id, t);
      flows.upsert(tunnelFlow(tn, t, 'pending'));
    }),
    hooks.on('tunnelClose', (tn) => {
      const t = live.get(tn.id);
      if (!t) return;
      live.delete(tn.id);
      flows.upsert(tunnelFlow(tn, t, tn.error ? 'error' : 'complete'));
    }),
  ];

  return {
    setRecording: (on) => void (recording = on),
    get recording() {
      return recording;
    },
    setBodyCap: (bytes) => void (cap = bytes),
    dispose: () => unsubscribe.forEach((off) => off()),
  };
}
