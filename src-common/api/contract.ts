/**
 * The API contract between the UI and the process that runs the engine (Electron main or
 * `loupe headless`). One interface per section, a `const` list of method names from which the
 * transport channel names are derived (`loupe:<section>.<method>`), one push channel for batched
 * events, and errors with stable codes. Both transports (Electron IPC and the headless
 * WebSocket) carry exactly this; `validate.ts` checks every argument before main acts on it.
 *
 * Only sections whose features exist are listed: breakpoints join when breakpoints are built.
 *
 * Sessions: the *live* session (id `live`) is what the proxy records; each opened HAR file is an
 * *imported* session beside it (ids `har1`, `har2`…). `flows.list` is the live session's;
 * `sessions.flows(id)` any session's. Flow and body ids are unique across sessions (an imported
 * flow's id starts with its session's id and a dot, e.g. `har1.17`), so `flows.get`,
 * `flows.body` and `flows.bodyPart` take any of them.
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

/** A range of a body as the inspector reads it: at most `MAX_BODY_PART` bytes at a time. */
export interface BodyPartRequest {
  /** Byte offset into the (decoded, when `decoded`) body. */
  offset: number;
  /** Bytes wanted, 1 to MAX_BODY_PART. */
  length: number;
  /** Undo the Content-Encoding (gzip, br, deflate, zstd) first. */
  decoded: boolean;
}

export const MAX_BODY_PART = 4 * 1024 * 1024;

export interface BodyPart {
  /** The bytes of the range, base64-encoded; shorter than asked at the end of the body. */
  base64: string;
  offset: number;
  /** Bytes in the whole body as this view has it (decoded size when decoded). */
  total: number;
  /**
   * The body is not all there: capture kept only its start (capture cap), or decoding stopped
   * at its cap. `total` is then what Loupe has, not the body's real size.
   */
  truncated: boolean;
  /** The Content-Encoding that was undone (`gzip`, `br, gzip`…); absent when none was. */
  decodedFrom?: string;
  /** Decoding was asked for and failed: these are the wire bytes, and this says why in words. */
  decodeError?: string;
}

/** The settings a client may change through the API; each takes effect at once. */
export interface SettingsPatch {
  bypass?: BypassEntry[];
  captureBodyCap?: number;
  captureWebSocketCap?: number;
  ui?: UiPreferences;
  allowInvalidUpstreamCertificates?: string[];
  stripAltSvcH3?: boolean;
  autoBypassHours?: number;
  /** The port the proxy listens on; changing it moves the running proxy at once. */
  proxyPort?: number;
  /** The limits on client connections: each from the next time it starts counting. */
  requestHeadTimeoutSeconds?: number;
  firstRequestTimeoutSeconds?: number;
  keepAliveTimeoutSeconds?: number;
  tunnelIdleTimeoutSeconds?: number;
}
export const PATCHABLE_SETTINGS = [
  'bypass',
  'captureBodyCap',
  'captureWebSocketCap',
  'ui',
  'allowInvalidUpstreamCertificates',
  'stripAltSvcH3',
  'autoBypassHours',
  'proxyPort',
  'requestHeadTimeoutSeconds',
  'firstRequestTimeoutSeconds',
  'keepAliveTimeoutSeconds',
  'tunnelIdleTimeoutSeconds',
] as const satisfies readonly (keyof SettingsPatch)[];

/** A session as the session switcher lists it. */
export interface SessionInfo {
  /** `live`, or `har1`, `har2`… for imported files. */
  id: string;
  kind: 'live' | 'imported';
  /** `Live`, or the imported file's name. */
  name: string;
  flowCount: number;
  /** ms since the epoch. */
  openedAt: number;
  /** Imported: the tool that wrote the file (`Charles 4.6.2`), from its `log.creator`. */
  creator?: string;
  /** Imported: what was repaired or skipped to read the file, one sentence each. */
  repairs?: string[];
  /** Imported: entries that could not be read at all and were left out. */
  skipped?: number;
}

/** Where a HAR to import comes from. */
export type HarImportSource =
  /** Electron: main asks the user with an open dialog (resolves null when cancelled). */
  | { kind: 'dialog' }
  /**
   * Headless: the browser first POSTs the file to `/upload?token=…` on the UI server, which
   * answers `{ uploadId }`; the import then names that upload.
   */
  | { kind: 'upload'; uploadId: string; name: string };

export interface HarExportRequest {
  sessionId: string;
  /** What the user chose; names the file (`loupe-filtered-….har`) and the progress line. */
  scope: 'all' | 'filtered' | 'selected';
  /** Flow ids in the order to write them; absent for `all`. */
  ids?: string[];
}

/** Long work main does for the UI (an export, an import), as progress events report it. */
export interface Job {
  id: string;
  kind: 'export' | 'import';
  /** What it is, in words (`Exporting 1,204 flows`). */
  title: string;
  /** Units done and in all (entries). */
  done: number;
  total: number;
  state: 'running' | 'done' | 'failed';
  /** Failed: why, in words. Done: a short result (`Saved to ~/x.har`). */
  message?: string;
  /** A finished export: where it was saved (Electron). */
  path?: string;
  /** A finished export in headless mode: the URL the browser downloads it from. */
  downloadUrl?: string;
}

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
  /** Every flow in the live session, oldest first. */
  list(): Promise<FlowSummary[]>;
  /** One flow in full (WebSocket messages included, bodies still by id), from any session. */
  get(id: string): Promise<Flow>;
  /** The captured bytes of a body, fetched on demand. */
  body(bodyId: string): Promise<BodyContent>;
  /** A range of a body, decoded or as sent: how the inspector reads large bodies in chunks. */
  bodyPart(bodyId: string, request: BodyPartRequest): Promise<BodyPart>;
  /** Forgets every flow and body of the session. */
  clear(): Promise<void>;
  stats(): Promise<SessionStats>;
}

export interface SettingsSection {
  get(): Promise<Settings>;
  /** Validates, saves atomically and applies; resolves to the settings now in force. */
  update(patch: SettingsPatch): Promise<Settings>;
  /** Takes a host off the auto-learned bypass list (it is decrypted again from its next connection). */
  forgetLearned(host: string): Promise<Settings>;
}

export interface SessionsSection {
  /** The live session first, then imported ones in the order they were opened. */
  list(): Promise<SessionInfo[]>;
  /** Every flow of one session, oldest first. */
  flows(sessionId: string): Promise<FlowSummary[]>;
  /** Closes an imported session and frees its bodies (the live one cannot be closed). */
  close(sessionId: string): Promise<void>;
}

export interface HarSection {
  /**
   * Starts writing a HAR file in main (streamed, never assembled in the UI) and resolves to its
   * job at once; `jobs` events report progress and the end. In Electron a save dialog comes
   * first: null when the user cancels it. Headless: the finished job has a `downloadUrl`.
   */
  export(request: HarExportRequest): Promise<Job | null>;
  /** Opens a HAR as a new imported session; null when the user cancelled the open dialog. */
  import(source: HarImportSource): Promise<SessionInfo | null>;
}

export interface SystemSection {
  info(): Promise<SystemInfo>;
}

export interface LoupeApi {
  proxy: ProxySection;
  flows: FlowsSection;
  settings: SettingsSection;
  sessions: SessionsSection;
  har: HarSection;
  system: SystemSection;
}

/** The method names of each section: the single source of channel names and handlers. */
export const API_METHODS = {
  proxy: ['status', 'setRecording'],
  flows: ['list', 'get', 'body', 'bodyPart', 'clear', 'stats'],
  settings: ['get', 'update', 'forgetLearned'],
  sessions: ['list', 'flows', 'close'],
  har: ['export', 'import'],
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
  'open-preferences',
  'export-har',
  'import-har',
  'copy-curl',
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
  /** Jobs that changed (progress at most every 100 ms per job, and always the end). */
  jobs?: Job[];
  /** The session list, whenever a session opened or closed. */
  sessions?: SessionInfo[];
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
