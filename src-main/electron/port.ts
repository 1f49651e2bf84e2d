/**
 * Which port the desktop app's proxy listens on. `LOUPE_PORT` is obeyed as given (a taken port is
 * an error the user sees); without it Loupe prefers the port saved in Preferences (`proxyPort`,
 * 8888 by default, the port inspectors conventionally use) and falls back to a free one when
 * another program holds it, saying so.
 */
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { readSettingsText, SETTINGS_FILE } from '../data/settings';

/** The conventional inspector port (Charles and Proxyman use it too). */
export const PREFERRED_PORT = 8888;

export interface PortChoice {
  port: number;
  /** The preferred port, when it was taken and a free one (port 0) is asked for instead. */
  takenPort?: number;
}

/** Parses `LOUPE_PORT`; undefined when unset, an Error (with words) when it is not a port. */
export function parsePortEnv(value: string | undefined): number | undefined | Error {
  if (value === undefined || value === '') return undefined;
  const port = Number(value);
  return /^\d+$/.test(value) && port <= 65535
    ? port
    : new Error(`LOUPE_PORT=${JSON.stringify(value)} is not a port (0–65535; 0 picks a free one)`);
}

/** What the user is told when the preferred port was taken. */
export function fallbackNotice(takenPort: number, port: number): string {
  return `Port ${takenPort} is in use by another program, so Loupe's proxy listens on port ${port} instead.`;
}

/** True unless something already listens on `host:port` (other errors are left to the proxy). */
export function isPortFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', (err: NodeJS.ErrnoException) => resolve(err.code !== 'EADDRINUSE'));
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve(true)));
  });
}

/**
 * The port to open the session on. Probing first, rather than parsing the proxy's error, keeps
 * this independent of the engine's wording; the tiny race (taken between probe and listen) ends
 * in the engine's own "already in use" error, which the user is shown.
 */
export async function choosePort(
  host: string,
  requested: number | undefined,
  preferred = PREFERRED_PORT,
): Promise<PortChoice> {
  if (requested !== undefined) return { port: requested };
  if (await isPortFree(host, preferred)) return { port: preferred };
  return { port: 0, takenPort: preferred };
}

/**
 * The port saved in Preferences, read before the session opens (the port is chosen first).
 * A missing, corrupt or newer settings file gives the default: the session reports such a file
 * itself, and this must not touch it.
 */
export async function savedPort(dataDir: string): Promise<number> {
  let text: string;
  try {
    text = await readFile(join(dataDir, SETTINGS_FILE), 'utf8');
  } catch {
    return PREFERRED_PORT;
  }
  const read = readSettingsText(text);
  return read.kind === 'ok' ? read.settings.proxyPort : PREFERRED_PORT;
}
