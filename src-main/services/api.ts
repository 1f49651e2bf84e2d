/**
 * The API implementation over a Session (one object per contract section), the event hub that
 * turns the session's changes into batched `ApiEvent`s, and the dispatcher both transports call:
 * it validates the channel and every argument (src-common/api/validate.ts) before a service
 * sees them and turns any failure into `{ code, message }`.
 */
import { platform } from 'node:os';
import {
  summarize,
  type ApiEvent,
  type ApiReply,
  type LoupeApi,
  type ProxyStatus,
  type SessionStats,
} from '../../src-common/api/contract';
import { checkCall } from '../../src-common/api/validate';
import { withMessageData } from '../flows/ws-messages';
import { ApiFailure } from './api-failure';
import { createBodyParts } from './body-parts';
import { createHarService, type FoundBody, type HarFiles, type HarHost } from './har-service';
import type { Session } from './session';
import { createSettingsSection } from './settings-service';

export { ApiFailure };

function proxyStatus(session: Session): ProxyStatus {
  const { proxy, capture } = session;
  return { url: proxy.url, host: proxy.host, port: proxy.port, recording: capture.recording };
}

function stats(session: Session): SessionStats {
  const body = session.bodies.stats();
  return {
    flows: session.flows.size,
    bodyMemoryBytes: body.memoryBytes,
    bodyDiskBytes: body.diskBytes,
  };
}

/** Fans events out to subscribers (one per window or WebSocket). */
export interface EventHub {
  /**
   * Adds a subscriber. It hears the session's start-up notices at once, as one `notices` event:
   * they were raised before any UI could listen.
   */
  subscribe(listener: (event: ApiEvent) => void): () => void;
  emit(event: ApiEvent): void;
  dispose(): void;
}

/** Calls one subscriber. A transport that failed to send drops its own listener. */
function deliver(listener: (event: ApiEvent) => void, event: ApiEvent): void {
  try {
    listener(event);
  } catch {
    // The others still hear.
  }
}

/**
 * Forwards the flow store's batches (already coalesced at ≤ 50 ms) as summaries with the
 * session's stats, and notices as they come; replays the start-up notices to each subscriber.
 * Subscribes to the store only while someone listens, so a session with no UI pays nothing.
 */
export function createEventHub(session: Session): EventHub {
  const listeners = new Set<(event: ApiEvent) => void>();
  let unsubscribe: (() => void)[] = [];
  const emit = (event: ApiEvent): void => {
    for (const listener of listeners) deliver(listener, event);
  };
  const start = (): void => {
    unsubscribe = [
      session.flows.subscribe((flows) =>
        emit({
          flows: {
            added: flows.added.map(summarize),
            updated: flows.updated.map(summarize),
            ...(flows.cleared ? { cleared: true as const } : {}),
          },
          stats: stats(session),
        }),
      ),
      session.onNotice((notice) => emit({ notices: [notice] })),
    ];
  };
  return {
    subscribe(listener) {
      if (listeners.size === 0) start();
      listeners.add(listener);
      const startup = session.startupNotices;
      if (startup.length > 0) deliver(listener, { notices: [...startup] });
      return () => {
        listeners.delete(listener);
        if (listeners.size > 0) return;
        for (const stop of unsubscribe) stop();
        unsubscribe = [];
      };
    },
    emit,
    dispose() {
      listeners.clear();
      for (const stop of unsubscribe) stop();
      unsubscribe = [];
    },
  };
}

/** A body of the live session, by body id (its flow's id plus `:req` or `:res`, capture.ts). */
function liveBody(session: Session, bodyId: string): FoundBody | undefined {
  const cut = bodyId.lastIndexOf(':');
  const flow = cut > 0 ? session.flows.get(bodyId.slice(0, cut)) : undefined;
  if (flow?.kind !== 'http' || !session.bodies.has(bodyId)) return undefined;
  const message = [flow.request, flow.response].find((m) => m?.body.bodyId === bodyId);
  if (!message) return undefined;
  return {
    info: message.body,
    headers: message.headers,
    alreadyDecoded: false,
    read: () => session.bodies.read(bodyId),
  };
}

/**
 * The API plus what its owner must free when the transport closes, and the files behind the
 * headless UI server's upload and download routes (not part of the contract: no transport can
 * call them).
 */
export type SessionApi = LoupeApi & { dispose(): Promise<void>; files: HarFiles };

/**
 * The contract's sections over `session`; `events` hears of changes made through them. `host`
 * is what the process offers beyond the session (Electron's file dialogs).
 */
export function createApi(session: Session, events: EventHub, host: HarHost = {}): SessionApi {
  const imported = createHarService(session, (event) => events.emit(event), host);
  const parts = createBodyParts();
  const settings = createSettingsSection(
    session,
    (event) => events.emit(event),
    () => proxyStatus(session),
  );
  const findBody = (bodyId: string): FoundBody => {
    const found = liveBody(session, bodyId) ?? imported.body(bodyId);
    if (!found) throw new ApiFailure('not_found', `body ${bodyId} is not in this session`);
    return found;
  };
  return {
    async dispose() {
      settings.dispose();
      parts.clear();
      await imported.dispose();
    },
    files: imported.files,
    proxy: {
      status: async () => proxyStatus(session),
      async setRecording(recording) {
        session.capture.setRecording(recording);
        const status = proxyStatus(session);
        events.emit({ proxy: status });
        return status;
      },
    },
    flows: {
      list: async () => session.flows.list().map(summarize),
      async get(id) {
        const live = session.flows.get(id);
        if (live) return withMessageData(live, session.bodies);
        const flow = imported.flow(id);
        if (!flow) throw new ApiFailure('not_found', `flow ${id} is not in this session`);
        return flow;
      },
      async body(bodyId) {
        const found = findBody(bodyId);
        const bytes = await found.read();
        return { base64: bytes.toString('base64'), truncated: found.info.truncated };
      },
      bodyPart: async (bodyId, request) => parts.read(bodyId, findBody(bodyId), request),
      async clear() {
        session.flows.clear();
        parts.clear();
        await session.bodies.clear();
      },
      stats: async () => stats(session),
    },
    settings: settings.section,
    sessions: imported.sessions,
    har: imported.har,
    system: {
      info: async () => ({
        version: session.options.version,
        platform: platform(),
        mode: session.options.mode,
        dataDir: session.dataDir,
        ca: {
          certPath: session.ca.certPath,
          fingerprint256: session.ca.fingerprint256,
          downloadUrl: 'http://loupe.local/',
        },
      }),
    },
  };
}

/** Calls one contract method after validating it; never throws. */
export type Dispatch = (channel: unknown, args: unknown) => Promise<ApiReply>;

export function createDispatcher(api: LoupeApi): Dispatch {
  return async (channel, args) => {
    const call = checkCall(channel, args);
    if (!call.ok) return { ok: false, error: call.error };
    const section = api[call.section] as unknown as Record<string, (...a: unknown[]) => unknown>;
    try {
      const result = await section[call.method]!(...call.args);
      return { ok: true, result: result ?? null };
    } catch (err) {
      if (err instanceof ApiFailure) {
        return { ok: false, error: { code: err.code, message: err.message } };
      }
      return {
        ok: false,
        error: { code: 'internal', message: `internal error: ${(err as Error)?.message ?? err}` },
      };
    }
  };
}
