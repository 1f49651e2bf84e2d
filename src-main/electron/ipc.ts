/**
 * The single IPC registration of the desktop app: one `ipcMain.handle` per contract channel,
 * derived from the contract's method list and never typed by hand. Each handler first checks who
 * is calling (the app's own page in a top-level frame), then hands the call to the validating
 * dispatcher shared with the headless WebSocket transport. Nothing else listens on `ipcMain`.
 */
import type { IpcMain, IpcMainInvokeEvent, WebFrameMain } from 'electron';
import { allChannels, type ApiReply } from '../../src-common/api/contract';
import type { Dispatch } from '../services/api';
import { isAppPage } from './paths';

/** What a call from anywhere but the app's own page gets back. */
export function refusal(channel: string): ApiReply {
  return {
    ok: false,
    error: {
      code: 'forbidden',
      message: `${channel} answers only Loupe's own window; this call came from another page`,
    },
  };
}

/**
 * True when the call comes from the app's page in a top-level frame. `senderFrame` is null when
 * the frame has navigated away or gone, and reading it can throw on a destroyed one: both refuse.
 */
export function isTrustedSender(event: IpcMainInvokeEvent, appUrl: string): boolean {
  let frame: WebFrameMain | null;
  try {
    frame = event.senderFrame;
    return frame !== null && frame.parent === null && isAppPage(frame.url, appUrl);
  } catch {
    return false;
  }
}

/**
 * Registers one handler per contract channel; returns the function that removes them (at quit,
 * so a late call is answered by Electron's "no handler" rather than by a closed session).
 */
export function registerIpc(ipcMain: IpcMain, dispatch: Dispatch, appUrl: string): () => void {
  const channels = allChannels();
  for (const channel of channels) {
    ipcMain.handle(channel, (event, ...args: unknown[]) =>
      isTrustedSender(event, appUrl) ? dispatch(channel, args) : refusal(channel),
    );
  }
  return () => {
    for (const channel of channels) ipcMain.removeHandler(channel);
  };
}
