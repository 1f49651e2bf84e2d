/**
 * Where the built app's pieces are, relative to the bundled main (`out/electron/main.cjs`), and
 * what counts as the app's own page. Pure: the caller passes the bundle's URL and environment.
 */
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export interface AppPaths {
  /** The folder of the built renderer (index.html, app.js, app.css). */
  rendererDir: string;
  indexHtml: string;
  /** The `file://` URL of index.html: the only page that may load and call the API. */
  appUrl: string;
  /** The sandboxed preload bundle. */
  preload: string;
}

/**
 * Resolves the app's files from the main bundle's own URL. `LOUPE_RENDERER_DIR` points the
 * window at another built renderer (tests, the renderer's own development); a packaged app
 * ignores it, so nothing in the environment can swap the UI of an installed Loupe.
 */
export function appPaths(bundleUrl: string, env: NodeJS.ProcessEnv, isPackaged: boolean): AppPaths {
  const out = resolve(fileURLToPath(bundleUrl), '..', '..');
  const override = !isPackaged && env.LOUPE_RENDERER_DIR ? resolve(env.LOUPE_RENDERER_DIR) : '';
  const rendererDir = override || join(out, 'renderer');
  const indexHtml = join(rendererDir, 'index.html');
  return {
    rendererDir,
    indexHtml,
    appUrl: pathToFileURL(indexHtml).href,
    preload: join(out, 'preload', 'preload.cjs'),
  };
}

/**
 * True when `url` is the app's page (any query or fragment). A `file:` URL is compared by path,
 * so no other local file, and nothing on the network, passes for the app.
 */
export function isAppPage(url: string | undefined, appUrl: string): boolean {
  if (!url) return false;
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    return false;
  }
  const app = new URL(appUrl);
  return (
    target.protocol === app.protocol && target.host === app.host && target.pathname === app.pathname
  );
}
