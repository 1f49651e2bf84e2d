/**
 * The headless transport: a `LoupeBridge` over the token-guarded WebSocket that
 * `loupe headless --ui-port` serves at `/api` (src-main/headless/ui-server.ts). Calls are
 * `{ id, channel, args }` frames answered by `{ id, ok, result | error }`; events arrive as
 * `{ event: 'loupe:events', payload }`. The socket reconnects with backoff; listeners of
 * `onConnection` hear each change so the UI can say it lost the connection and re-list flows.
 */
import {
  API_METHODS,
  EVENT_CHANNEL,
  channelName,
  type ApiError,
  type ApiEvent,
  type ApiSection,
  type LoupeBridge,
  type WireMessage,
} from '../../src-common/api/contract';

/** What the UI shows about the transport. */
export type ConnectionState =
  | { status: 'open' }
  | { status: 'connecting'; attempt: number }
  /** The server refused the socket before it opened (a wrong or missing token, most likely). */
  | { status: 'refused'; attempt: number; message: string };

interface Pending {
  resolve(value: unknown): void;
  reject(error: ApiError): void;
}

/** The part of a WebSocket the bridge uses (tests give a stand-in). */
export type SocketLike = Pick<
  WebSocket,
  'send' | 'readyState' | 'onopen' | 'onmessage' | 'onclose'
>;
const OPEN = 1;

const BACKOFF_MS = [250, 500, 1000, 2000, 4000, 8000];

/** Builds a call error as the Electron preload does: a plain `{ code, message }` object. */
function apiError(code: ApiError['code'], message: string): ApiError {
  return { code, message };
}

export interface WsBridge extends LoupeBridge {
  /** Calls `listener` with each connection change (and once at once); returns the unsubscribe. */
  onConnection(listener: (state: ConnectionState) => void): () => void;
}

const REFUSED_MESSAGE =
  'Loupe refused this page: the token in its address is missing or wrong. Open the URL printed on the “ui listening on” line of loupe headless.';

/**
 * Opens the socket to `url` and keeps it open; never throws. `refusedProbe`, when given, says
 * whether a socket that failed to open was refused for its credentials (then retrying is futile
 * and the user is told what to do).
 */
export function createWsBridge(
  url: string,
  refusedProbe?: () => Promise<boolean>,
  open: (url: string) => SocketLike = (u) => new WebSocket(u),
): WsBridge {
  const events = new Set<(event: ApiEvent) => void>();
  const connection = new Set<(state: ConnectionState) => void>();
  const pending = new Map<number, Pending>();
  /** Calls made while the socket is down wait here and go out when it opens. */
  const queued: string[] = [];
  let nextId = 1;
  let socket: SocketLike | undefined;
  let attempt = 0;
  let state: ConnectionState = { status: 'connecting', attempt: 0 };

  const setState = (next: ConnectionState): void => {
    state = next;
    for (const listener of connection) listener(next);
  };

  const connect = (): void => {
    const ws = open(url);
    socket = ws;
    let opened = false;
    ws.onopen = () => {
      opened = true;
      attempt = 0;
      setState({ status: 'open' });
      for (const frame of queued.splice(0)) ws.send(frame);
    };
    ws.onmessage = (message) => {
      if (typeof message.data !== 'string') return;
      let frame: WireMessage;
      try {
        frame = JSON.parse(message.data) as WireMessage;
      } catch {
        return;
      }
      if ('event' in frame) {
        if (frame.event !== EVENT_CHANNEL) return;
        for (const listener of events) listener(frame.payload);
        return;
      }
      const call = pending.get(frame.id);
      if (!call) return;
      pending.delete(frame.id);
      if (frame.ok) call.resolve(frame.result);
      else call.reject(frame.error);
    };
    ws.onclose = () => {
      socket = undefined;
      // Calls in flight will never be answered on a new socket: their ids belong to this one.
      for (const call of pending.values()) {
        call.reject(apiError('unavailable', 'the connection to Loupe was lost'));
      }
      pending.clear();
      queued.length = 0;
      attempt += 1;
      // A refusal stands until a probe says otherwise, so the banner does not flicker.
      if (state.status !== 'refused') setState({ status: 'connecting', attempt });
      // A browser hides the HTTP status of a refused upgrade. A socket that never opened may
      // mean a wrong token (401) rather than a server that is down: ask the page's own URL,
      // which the same token guards.
      if (!opened && refusedProbe) {
        const at = attempt;
        void refusedProbe().then((refused) => {
          if (attempt !== at || state.status === 'open') return;
          setState(
            refused
              ? { status: 'refused', attempt, message: REFUSED_MESSAGE }
              : { status: 'connecting', attempt },
          );
        });
      }
      const delay = BACKOFF_MS[Math.min(attempt - 1, BACKOFF_MS.length - 1)]!;
      setTimeout(connect, delay);
    };
  };

  const call = (channel: string, args: unknown[]): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      const frame = JSON.stringify({ id, channel, args });
      if (socket?.readyState === OPEN) socket.send(frame);
      else queued.push(frame);
    });

  const bridge: Record<string, unknown> = {
    onEvent(listener: (event: ApiEvent) => void) {
      events.add(listener);
      return () => events.delete(listener);
    },
    onConnection(listener: (s: ConnectionState) => void) {
      connection.add(listener);
      listener(state);
      return () => connection.delete(listener);
    },
  };
  // The sections are built from the contract's method list, as the preload builds window.loupe.
  for (const section of Object.keys(API_METHODS) as ApiSection[]) {
    const methods: Record<string, (...args: unknown[]) => Promise<unknown>> = {};
    for (const method of API_METHODS[section]) {
      const channel = channelName(section, method as never);
      methods[method] = (...args) => call(channel, args);
    }
    bridge[section] = methods;
  }
  connect();
  return bridge as unknown as WsBridge;
}
