/**
 * The sandboxed preload: builds `window.loupe` from the contract's method list, one function per
 * method that invokes the method's derived channel, plus `onEvent`. It is the whole of what the
 * page gets from Electron: no `ipcRenderer`, no event objects, nothing but the contract.
 *
 * A reply is unwrapped here: a method resolves with the result, or rejects with a plain
 * `{ code, message }` object (what the WebSocket client rejects with too). A plain object
 * survives the context bridge; an Error's own fields would not.
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import {
  API_METHODS,
  EVENT_CHANNEL,
  channelName,
  type ApiError,
  type ApiEvent,
  type ApiReply,
  type ApiSection,
  type LoupeBridge,
} from '../src-common/api/contract';

async function call(channel: string, args: unknown[]): Promise<unknown> {
  let reply: ApiReply;
  try {
    reply = (await ipcRenderer.invoke(channel, ...args)) as ApiReply;
  } catch (err) {
    // No handler (main is quitting) or the call could not be sent (an argument cannot be cloned).
    const failure: ApiError = {
      code: 'unavailable',
      message: (err as Error)?.message ?? String(err),
    };
    throw failure;
  }
  if (reply.ok) return reply.result;
  const failure: ApiError = { code: reply.error.code, message: reply.error.message };
  throw failure;
}

/** The bridge object: every section and method of API_METHODS, and `onEvent`. */
function buildBridge(): LoupeBridge {
  const bridge: Record<string, unknown> = {};
  for (const section of Object.keys(API_METHODS) as ApiSection[]) {
    const methods: Record<string, (...args: unknown[]) => Promise<unknown>> = {};
    for (const method of API_METHODS[section]) {
      const channel = channelName(section, method);
      methods[method] = (...args) => call(channel, args);
    }
    bridge[section] = methods;
  }
  bridge.onEvent = (listener: (event: ApiEvent) => void): (() => void) => {
    // The page hears the payload only: the IPC event would hand it `ipcRenderer` itself.
    const forward = (_event: IpcRendererEvent, payload: ApiEvent): void => listener(payload);
    ipcRenderer.on(EVENT_CHANNEL, forward);
    return () => void ipcRenderer.removeListener(EVENT_CHANNEL, forward);
  };
  return bridge as unknown as LoupeBridge;
}

contextBridge.exposeInMainWorld('loupe', buildBridge());
