/**
 * The API contract between the UI and the main process (or `loupe headless`): one interface per
 * section, a `const` list of method names from which transport channel names are derived
 * (`loupe:<section>.<method>`), one push channel for batched events, and errors with stable
 * codes. Both transports (Electron IPC and the headless WebSocket) carry exactly this.
 *
 * Only sections whose features exist are listed; the desktop-app issue adds the transports, the
 * runtime validation of every argument, and further sections (breakpoints, settings, system) as
 * their features land.
 */
import type { Flow } from '../flow';

/** Stable API error codes; a client may branch on these strings. */
export const API_ERROR_CODES = [
  'invalid_argument',
  'not_found',
  'unavailable',
  'internal',
] as const;
export type ApiErrorCode = (typeof API_ERROR_CODES)[number];

/** What every failed call returns: a stable code and a sentence for the user. */
export interface ApiError {
  code: ApiErrorCode;
  message: string;
}

export interface ProxyStatus {
  /** `http://HOST:PORT` of the listening proxy. */
  url: string;
  recording: boolean;
}

export interface ProxySection {
  status(): Promise<ProxyStatus>;
  setRecording(recording: boolean): Promise<ProxyStatus>;
}

export interface FlowsSection {
  /** Every flow in the session, oldest first (summaries: bodies are never included). */
  list(): Promise<Flow[]>;
  get(id: string): Promise<Flow>;
  /** The captured bytes of a body, base64-encoded, fetched on demand. */
  body(bodyId: string): Promise<{ base64: string; truncated: boolean }>;
  clear(): Promise<void>;
}

export interface LoupeApi {
  proxy: ProxySection;
  flows: FlowsSection;
}

/** The method names of each section: the single source of channel names and handlers. */
export const API_METHODS = {
  proxy: ['status', 'setRecording'],
  flows: ['list', 'get', 'body', 'clear'],
} as const satisfies { [S in keyof LoupeApi]: readonly (keyof LoupeApi[S])[] };

export type ApiSection = keyof typeof API_METHODS;

/** Batched change events pushed to the UI (flushed at most every 50 ms). */
export interface FlowEvents {
  added: Flow[];
  updated: Flow[];
  cleared?: true;
}

export const EVENT_CHANNEL = 'loupe:events';

/** The transport channel name of a method, e.g. `loupe:flows.list`. */
export function channelName<S extends ApiSection>(
  section: S,
  method: (typeof API_METHODS)[S][number],
): string {
  return `loupe:${section}.${method}`;
}

/** Every channel name of the contract, derived from API_METHODS. */
export function allChannels(): string[] {
  const out: string[] = [];
  for (const section of Object.keys(API_METHODS) as ApiSection[]) {
    for (const method of API_METHODS[section]) out.push(`loupe:${section}.${method}`);
  }
  return out;
}
