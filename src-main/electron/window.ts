/**
 * The locked-down window: its options, the Content-Security-Policy sent as a header, the
 * permission policy, and the guards every webContents gets (no navigation away from the app's
 * page, no new windows, no webviews). The renderer is a sandboxed page with `window.loupe` and
 * nothing else; these are the walls that keep it that way even if a captured response body ever
 * found a way to run script.
 */
import type {
  BrowserWindowConstructorOptions,
  Event,
  Session,
  WebContents,
  WebContentsWillFrameNavigateEventParams,
} from 'electron';
import { isAppPage } from './paths';

/**
 * The renderer's policy, the same directives as the meta tag in src-renderer/index.html (the
 * wiring test holds them equal) plus `frame-ancestors`, which only a header can carry. A
 * `file://` page gets no response headers, so there the meta tag is what applies; the header
 * covers any other response the session ever loads.
 */
export const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
  "font-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** The main window's options: hidden until painted, with every web preference locked down. */
export function windowOptions(
  preload: string,
  bounds: { x?: number; y?: number; width: number; height: number },
): BrowserWindowConstructorOptions {
  return {
    ...bounds,
    minWidth: 640,
    minHeight: 400,
    show: false,
    title: 'Loupe',
    webPreferences: {
      preload,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      navigateOnDragDrop: false,
      spellcheck: false,
    },
  };
}

/**
 * Sets the session-wide policy: the CSP header on every response, and no permission but
 * writing the clipboard (the inspector's copy buttons) from the app's own page.
 */
export function lockDownSession(session: Session, appUrl: string): void {
  session.webRequest.onHeadersReceived((details, callback) => {
    const headers = { ...details.responseHeaders };
    for (const name of Object.keys(headers)) {
      if (name.toLowerCase() === 'content-security-policy') delete headers[name];
    }
    callback({ responseHeaders: { ...headers, 'Content-Security-Policy': [CSP] } });
  });
  const allowed = (permission: string, url: string | undefined): boolean =>
    permission === 'clipboard-sanitized-write' && isAppPage(url, appUrl);
  session.setPermissionRequestHandler((contents, permission, callback) =>
    callback(allowed(permission, contents.getURL())),
  );
  session.setPermissionCheckHandler((contents, permission) =>
    allowed(permission, contents?.getURL()),
  );
}

/** True for an http or https URL, the only kind handed to the system browser. */
export function isWebUrl(url: string): boolean {
  try {
    const { protocol } = new URL(url);
    return protocol === 'http:' || protocol === 'https:';
  } catch {
    return false;
  }
}

/**
 * Guards one webContents: navigation and redirects anywhere but the app's page are prevented,
 * new windows are denied (a web link opens in the user's browser instead), webviews never attach.
 */
export function guardWebContents(
  contents: WebContents,
  appUrl: string,
  openExternal: (url: string) => void,
): void {
  const stayHome = (event: Event<{ url: string }>): void => {
    if (!isAppPage(event.url, appUrl)) event.preventDefault();
  };
  contents.on('will-navigate', stayHome);
  contents.on('will-redirect', stayHome);
  contents.on('will-frame-navigate', (event: Event<WebContentsWillFrameNavigateEventParams>) =>
    stayHome(event),
  );
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(({ url }) => {
    if (isWebUrl(url)) openExternal(url);
    return { action: 'deny' };
  });
}
