/**
 * The one place the UI gets its transport: Electron's preload (`window.loupe`) when present,
 * otherwise the headless WebSocket at `/api` with the page's `token` query parameter. The rest
 * of the renderer sees only `LoupeBridge`, and never knows which transport it is on.
 */
import type { LoupeBridge } from '../../src-common/api/contract';
import { createWsBridge, type ConnectionState } from './ws-bridge';

export type { ConnectionState } from './ws-bridge';

declare global {
  interface Window {
    /** Set by the Electron preload; absent in a browser. */
    loupe?: LoupeBridge;
  }
}

let bridge: LoupeBridge | undefined;

/** True when the server answers this page's own URL with 401/403: the token is wrong. */
async function tokenRefused(): Promise<boolean> {
  try {
    const res = await fetch(location.href, { method: 'HEAD', cache: 'no-store' });
    return res.status === 401 || res.status === 403;
  } catch {
    return false; // The server is down: a lost connection, retried.
  }
}
let watchConnection: ((listener: (state: ConnectionState) => void) => () => void) | undefined;

/** The API, created on first use. */
export function getBridge(): LoupeBridge {
  if (bridge) return bridge;
  if (window.loupe) {
    bridge = window.loupe;
    return bridge;
  }
  const token = new URLSearchParams(location.search).get('token') ?? '';
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  const ws = createWsBridge(
    `${scheme}://${location.host}/api?token=${encodeURIComponent(token)}`,
    tokenRefused,
  );
  watchConnection = ws.onConnection;
  bridge = ws;
  return bridge;
}

/**
 * Subscribes to the transport's connection state. IPC to Electron main cannot drop: there the
 * listener hears `open` once, at once.
 */
export function onConnection(listener: (state: ConnectionState) => void): () => void {
  getBridge();
  if (watchConnection) return watchConnection(listener);
  queueMicrotask(() => listener({ status: 'open' }));
  return () => {};
}

/**
 * True inside the desktop app, whose application menu owns the keyboard shortcuts (and sends
 * them as commands); known before `system.info()` answers.
 */
export function inDesktopApp(): boolean {
  getBridge();
  return watchConnection === undefined;
}
