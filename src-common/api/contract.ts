/**
 * The API contract between the UI and the process that runs the engine (Electron main or
 * `loupe headless`). One interface per section, a `const` list of method names from which the
 * transport channel names are derived (`loupe:<section>.<method>`), one push channel for batched
 * events, and errors with stable codes. Both transports (Electron IPC and the headless
 * WebSocket) carry exactly this; `validate.ts` checks every argument before main acts on it.
 *
 * Only sections whose features exist are listed: breakpoints join when breakpoints are built.
 *
 * Glossary: a *flow summary* is a flow without anything large (no bodies, no WebSocket message
 * payloads); the full flow and the bodies are fetched on demand by id.
 */
import type { Flow, HttpFlow, TunnelFlow } from '../flow';
import type { Settings, UiPreferences } from '../settings';
import type { BypassEntry } from '../bypass';
import type { WebSocketSummary } from '../websocket';

/** Stable API error codes; a client may branch on these strings. */
export const API_ERROR_CODES = [
  /** An argument failed validation; `message` says which and why. */
  'invalid_argument',
  /** The channel names no method of the contract. */
  'unknown_method',
  /** The caller may not use the API (in Electron: a frame other than the app's own page). */
  'forbidden',
  /** The flow or body asked for is not (or no longer) in the session. */
  'not_found',
  /** The service cannot do it now (e.g. the proxy is shutting down). */
  'unavailable',
  /** A bug: the message is the error's own; please report it. */
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
  host: string;
  port: number;
  /** Capture on: new exchanges are recorded. Off: traffic still flows, unrecorded. */
  recording: boolean;
}

export type HttpFlowSummary = Omit<HttpFlow, 'websocket'> & {
  websocket?: WebSocketSummary & { messageCount: number };
};
/** A flow as lists and events carry it: never bodies or WebSocket message payloads. */
export type FlowSummary = HttpFlowSummary | TunnelFlow;
/** A full flow or a summary: what the pure views (flow-view.ts, filter.ts) read. */
export type FlowLike = Flow | FlowSummary;

export interface BodyContent {
  /** The captured bytes, base64-encoded (as sent on the wire, before content decoding). */
  base64: string;
  /** True when the body was longer than the capture cap and only its start was kept. */
  truncated: boolean;
}

/** The settings a client may change through the API; each takes effect at once. */
export interface SettingsPatch {
  bypass?: BypassEntry[];
  captureBodyCap?: number;
  ui?: UiPreferences;
}
export const PATCHABLE_SETTINGS = [
  'bypass',
  'captureBodyCap',
  'ui',
] as const satisfies readonly (keyof SettingsPatch)[];

export interface SystemInfo {
  version: string;
  /** `darwin`, `win32`, `linux`… */
  platform: string;
  /** `electron` for the desktop app, `headless` for `loupe headless`. */
  mode: 'electron' | 'headless';
  dataDir: string;
  ca: {
    /** Where the CA certificate is on disk (PEM). */
    certPath: string;
    /** SHA-256 fingerprint, colon-separated hex. */
    fingerprint256: string;
    /** Where a client going through the proxy can download it. */
    downloadUrl: string;
  };
}

export interface ProxySection {
  status(): Promise<ProxyStatus>;
  setRecording(recording: boolean): Promise<ProxyStatus>;
}

/** What the session holds, for the status bar. */
export interface SessionStats {
  flows: number;
  /** Bytes of captured bodies held in memory and spilled to disk. */
  bodyMemoryBytes: number;
  bodyDiskBytes: number;
}

export interface FlowsSection {
  /** Every flow in the session, oldest first. */
  list(): Promise<FlowSummary[]>;
  /** One flow in full (WebSocket messages included, bodies still by id). */
  get(id: string): Promise<Flow>;
  /** The captured bytes of a body, fetched on demand. */
  body(bodyId: string): Promise<BodyContent>;
  /** Forgets every flow and body of the session. */
  clear(): Promise<void>;
  stats(): Promise<SessionStats>;
}

export interface SettingsSection {
  get(): Promise<Settings>;
  /** Validates, saves atomically and applies; resolves to the settings now in force. */
  update(patch: SettingsPatch): Promise<Settings>;
}

export interface SystemSection {
  info(): Promise<SystemInfo>;
}

export interface LoupeApi {
  proxy: ProxySection;
  flows: FlowsSection;
  settings: SettingsSection;
  system: SystemSection;
}

/** The method names of each section: the single source of channel names and handlers. */
export const API_METHODS = {
  proxy: ['status', 'setRecording'],
  flows: ['list', 'get', 'body', 'clear', 'stats'],
  settings: ['get', 'update'],
  system: ['info'],
} as const satisfies { [S in keyof LoupeApi]: readonly (keyof LoupeApi[S])[] };

export type ApiSection = keyof typeof API_METHODS;

/** Flow changes since the last event; a client applies `cleared` first, then `added`, `updated`. */
export interface FlowEvents<F = FlowSummary> {
  added: F[];
  updated: F[];
  cleared?: true;
}

/** Something worth telling the user once, outside any flow (shown as a toast). */
export interface Notice {
  level: 'info' | 'warning' | 'error';
  message: string;
  /** ms since the epoch. */
  at: number;
}

/**
 * A command from the application menu (Electron) for the UI to carry out, e.g. a clear that the
 * UI confirms first. In the browser the UI handles the same shortcuts itself.
 */
export const UI_COMMANDS = [
  'toggle-recording',
  'clear',
  'focus-filter',
  'toggle-sidebar',
  'select-all',
] as const;
export type UiCommand = (typeof UI_COMMANDS)[number];

/** One push on the event channel: whatever changed since the last one (at most every 50 ms). */
export interface ApiEvent {
  flows?: FlowEvents;
  /** Sent with every flows event. */
  stats?: SessionStats;
  proxy?: ProxyStatus;
  settings?: Settings;
  notices?: Notice[];
  command?: UiCommand;
}

export const EVENT_CHANNEL = 'loupe:events';

/**
 * What the renderer sees as `window.loupe` (and what the WebSocket client builds): the contract's
 * sections plus the one subscription to the event channel.
 */
export type LoupeBridge = LoupeApi & {
  /** Calls `listener` with each event batch; returns the function that unsubscribes. */
  onEvent(listener: (event: ApiEvent) => void): () => void;
};

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

/** Splits a channel name into its section and method, if the contract has it. */
export function parseChannel(
  channel: unknown,
): { section: ApiSection; method: string } | undefined {
  if (typeof channel !== 'string' || !channel.startsWith('loupe:')) return undefined;
  const [section, method, extra] = channel.slice(6).split('.');
  if (extra !== undefined || !section || !method || !Object.hasOwn(API_METHODS, section)) {
    return undefined;
  }
  const methods = API_METHODS[section as ApiSection] as readonly string[];
  return methods.includes(method) ? { section: section as ApiSection, method } : undefined;
}

/** The result of a call as it crosses a transport: never a thrown error. */
export type ApiReply = { ok: true; result: unknown } | { ok: false; error: ApiError };

/** A WebSocket frame from the UI: one call. */
export interface WireCall {
  id: number;
  channel: string;
  args: unknown[];
}

/** A WebSocket frame to the UI: a call's reply, or an event. */
export type WireMessage =
  ({ id: number } & ApiReply) | { event: typeof EVENT_CHANNEL; payload: ApiEvent };

/** Makes a flow summary: drops WebSocket message payloads, keeps their count. */
export function summarize(flow: Flow): FlowSummary {
  if (flow.kind !== 'http') return flow;
  if (!flow.websocket) return flow as HttpFlowSummary;
  const { messages, ...rest } = flow.websocket;
  return { ...flow, websocket: { ...rest, messageCount: messages.length } };
}
