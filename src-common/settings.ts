/**
 * The settings model and its validation: pure, so the UI can check a change before sending it
 * and main can check a file before trusting it.
 */
import { parseBypassPattern, type BypassEntry } from './bypass';

export const SETTINGS_VERSION = 1;

/** A host added to the auto-bypass list because its client rejected Loupe's certificate. */
export interface LearnedBypass {
  /** Lower-case host name or IP literal, as the leaf named it. */
  host: string;
  /** Why, in words (the handshake failure). */
  reason: string;
  /** ms since the epoch. */
  learnedAt: number;
  /** ms since the epoch; the entry is ignored and dropped after it. */
  expiresAt: number;
}

/** One column of the session table as the user left it. */
export interface ColumnPreference {
  id: string;
  visible: boolean;
  /** Pixels. */
  width?: number;
}

/** How the user arranged the window: remembered across runs and transports. */
export interface UiPreferences {
  /** Session-table columns in the user's order. */
  columns?: ColumnPreference[];
  sidebarVisible?: boolean;
  /** Pixels. */
  sidebarWidth?: number;
  /** Hosts kept at the top of the sidebar, in the order they were pinned. */
  pinnedHosts?: string[];
}

export interface Settings {
  version: number;
  /** SSL bypass list: hosts never decrypted. */
  bypass: BypassEntry[];
  /** Hosts learned from certificate rejections (pinning); tunnelled raw until they expire. */
  autoBypass: LearnedBypass[];
  /** Hours a learned host stays on the auto-bypass list. */
  autoBypassHours: number;
  /**
   * Hosts (bypass-pattern syntax) whose invalid upstream certificates are accepted: expired,
   * self-signed, wrong name. Each is the user's explicit exception.
   */
  allowInvalidUpstreamCertificates: string[];
  /** Remove `h3` from `Alt-Svc` so browsers stay on TCP, where Loupe sees them. */
  stripAltSvcH3: boolean;
  /** Bytes of each body kept for display and export; beyond it the flow is marked truncated. */
  captureBodyCap: number;
  /**
   * Bytes of WebSocket message payloads (decompressed) kept per connection for display and
   * export; past it messages are counted and marked as not kept. Kept payloads count against the
   * body store's memory budget like bodies.
   */
  captureWebSocketCap: number;
  /** Seconds an HTTP/1 request head may take from its first byte; a stalled one gets 408. */
  requestHeadTimeoutSeconds: number;
  /** Seconds a new client connection may take to start its first request before it is closed. */
  firstRequestTimeoutSeconds: number;
  /**
   * Seconds a client connection may wait with no request in flight (keep-alive) before it is
   * closed. Never while a request is in flight, however long that takes.
   */
  keepAliveTimeoutSeconds: number;
  /** Seconds a tunnel or WebSocket may go without a byte either way; 0 never closes one. */
  tunnelIdleTimeoutSeconds: number;
  /**
   * The port the proxy listens on (the desktop app; `loupe headless --port` overrides it). When
   * it is taken at start, a free one is used and the user told.
   */
  proxyPort: number;
  /** Window arrangement (columns, sidebar); the UI owns its meaning. */
  ui: UiPreferences;
}

export const DEFAULT_SETTINGS: Settings = {
  version: SETTINGS_VERSION,
  bypass: [],
  autoBypass: [],
  autoBypassHours: 24,
  allowInvalidUpstreamCertificates: [],
  stripAltSvcH3: true,
  captureBodyCap: 16 * 1024 * 1024,
  captureWebSocketCap: 64 * 1024 * 1024,
  requestHeadTimeoutSeconds: 60,
  firstRequestTimeoutSeconds: 60,
  // Browsers keep connections to their proxy for minutes and reuse them; closing one as a new
  // request crosses it makes the browser retry, or fail a request it may not repeat (a POST).
  keepAliveTimeoutSeconds: 120,
  // Tunnels and WebSockets are often quiet for hours by design (push channels, chat).
  tunnelIdleTimeoutSeconds: 0,
  proxyPort: 8888,
  ui: {},
};

const MAX_BODY_CAP = 1024 * 1024 * 1024;

/** The limits in seconds: the least and the most each takes, and the most in words. */
const TIMEOUTS = {
  requestHeadTimeoutSeconds: [1, 3600, 'an hour'],
  firstRequestTimeoutSeconds: [1, 3600, 'an hour'],
  keepAliveTimeoutSeconds: [1, 86_400, 'a day'],
  tunnelIdleTimeoutSeconds: [0, 604_800, 'a week'],
} as const;
type TimeoutSetting = keyof typeof TIMEOUTS;

export type SettingsCheck = { ok: true; settings: Settings } | { ok: false; error: string };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Validates a settings object (a parsed file or a patch merged over the current settings).
 * Unknown fields are kept, so a newer Loupe's additions survive a round trip.
 */
export function checkSettings(value: unknown): SettingsCheck {
  if (!isRecord(value)) return { ok: false, error: 'the settings are not a JSON object' };
  const version = value.version;
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) {
    return { ok: false, error: "'version' must be a positive whole number" };
  }
  if (version > SETTINGS_VERSION) {
    return {
      ok: false,
      error: `the settings were written by a newer Loupe (version ${version}; this one knows ${SETTINGS_VERSION})`,
    };
  }
  const bypass = value.bypass ?? [];
  if (!Array.isArray(bypass)) return { ok: false, error: "'bypass' must be a list" };
  for (const [i, entry] of bypass.entries()) {
    if (
      !isRecord(entry) ||
      typeof entry.pattern !== 'string' ||
      typeof entry.enabled !== 'boolean'
    ) {
      return {
        ok: false,
        error: `bypass entry ${i + 1} needs a 'pattern' text and an 'enabled' true/false`,
      };
    }
    const parsed = parseBypassPattern(entry.pattern);
    if (!parsed.ok) return { ok: false, error: `bypass entry ${i + 1}: ${parsed.error}` };
  }
  const autoBypass = value.autoBypass ?? [];
  if (!Array.isArray(autoBypass)) return { ok: false, error: "'autoBypass' must be a list" };
  for (const [i, entry] of autoBypass.entries()) {
    if (
      !isRecord(entry) ||
      typeof entry.host !== 'string' ||
      !entry.host ||
      typeof entry.reason !== 'string' ||
      typeof entry.learnedAt !== 'number' ||
      typeof entry.expiresAt !== 'number'
    ) {
      return {
        ok: false,
        error: `auto-bypass entry ${i + 1} needs 'host', 'reason', 'learnedAt' and 'expiresAt'`,
      };
    }
  }
  const hours = value.autoBypassHours ?? DEFAULT_SETTINGS.autoBypassHours;
  if (typeof hours !== 'number' || !(hours > 0) || hours > 24 * 365) {
    return { ok: false, error: "'autoBypassHours' must be a number of hours from 0 to 8760" };
  }
  const invalid = value.allowInvalidUpstreamCertificates ?? [];
  if (!Array.isArray(invalid)) {
    return { ok: false, error: "'allowInvalidUpstreamCertificates' must be a list" };
  }
  for (const [i, pattern] of invalid.entries()) {
    const parsed = typeof pattern === 'string' ? parseBypassPattern(pattern) : undefined;
    if (!parsed?.ok) {
      return {
        ok: false,
        error: `upstream-certificate exception ${i + 1}: ${parsed ? parsed.error : 'must be a host pattern text'}`,
      };
    }
  }
  const strip = value.stripAltSvcH3 ?? DEFAULT_SETTINGS.stripAltSvcH3;
  if (typeof strip !== 'boolean')
    return { ok: false, error: "'stripAltSvcH3' must be true or false" };
  const cap = value.captureBodyCap ?? DEFAULT_SETTINGS.captureBodyCap;
  if (typeof cap !== 'number' || !Number.isInteger(cap) || cap < 0 || cap > MAX_BODY_CAP) {
    return { ok: false, error: "'captureBodyCap' must be a whole number of bytes from 0 to 1 GiB" };
  }
  const wsCap = value.captureWebSocketCap ?? DEFAULT_SETTINGS.captureWebSocketCap;
  if (typeof wsCap !== 'number' || !Number.isInteger(wsCap) || wsCap < 0 || wsCap > MAX_BODY_CAP) {
    return {
      ok: false,
      error: "'captureWebSocketCap' must be a whole number of bytes from 0 to 1 GiB",
    };
  }
  const timeouts = {} as Record<TimeoutSetting, number>;
  for (const key of Object.keys(TIMEOUTS) as TimeoutSetting[]) {
    const [min, max, most] = TIMEOUTS[key];
    const t = value[key] ?? DEFAULT_SETTINGS[key];
    if (typeof t !== 'number' || !Number.isInteger(t) || t < min || t > max) {
      return {
        ok: false,
        error: `'${key}' must be a whole number of seconds from ${min === 0 ? '0 (never)' : min} to ${max} (${most})`,
      };
    }
    timeouts[key] = t;
  }
  const port = value.proxyPort ?? DEFAULT_SETTINGS.proxyPort;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
    return { ok: false, error: "'proxyPort' must be a port number from 1 to 65535" };
  }
  const ui = value.ui ?? {};
  const uiProblem = checkUi(ui);
  if (uiProblem) return { ok: false, error: `'ui': ${uiProblem}` };
  return {
    ok: true,
    settings: {
      ...value,
      version: SETTINGS_VERSION,
      bypass: bypass as BypassEntry[],
      autoBypass: autoBypass as LearnedBypass[],
      autoBypassHours: hours,
      allowInvalidUpstreamCertificates: invalid as string[],
      stripAltSvcH3: strip,
      captureBodyCap: cap,
      captureWebSocketCap: wsCap,
      ...timeouts,
      proxyPort: port,
      ui: ui as UiPreferences,
    },
  };
}

const MAX_COLUMNS = 40;
const MAX_PINNED = 200;
const isWidth = (v: unknown): boolean => typeof v === 'number' && v >= 16 && v <= 4000;

/** Checks the window arrangement; returns what is wrong, in words. */
function checkUi(ui: unknown): string | undefined {
  if (!isRecord(ui)) return 'must be an object';
  if (ui.columns !== undefined) {
    if (!Array.isArray(ui.columns) || ui.columns.length > MAX_COLUMNS) {
      return `'columns' must be a list of at most ${MAX_COLUMNS}`;
    }
    for (const [i, c] of ui.columns.entries()) {
      if (
        !isRecord(c) ||
        typeof c.id !== 'string' ||
        !/^[a-zA-Z0-9_-]{1,40}$/.test(c.id) ||
        typeof c.visible !== 'boolean' ||
        (c.width !== undefined && !isWidth(c.width))
      ) {
        return `column ${i + 1} needs an 'id', 'visible' true/false and a 'width' of 16–4000 px if any`;
      }
    }
  }
  if (ui.sidebarVisible !== undefined && typeof ui.sidebarVisible !== 'boolean') {
    return "'sidebarVisible' must be true or false";
  }
  if (ui.sidebarWidth !== undefined && !isWidth(ui.sidebarWidth)) {
    return "'sidebarWidth' must be 16–4000 px";
  }
  if (
    ui.pinnedHosts !== undefined &&
    (!Array.isArray(ui.pinnedHosts) ||
      ui.pinnedHosts.length > MAX_PINNED ||
      ui.pinnedHosts.some((h) => typeof h !== 'string' || h.length === 0 || h.length > 255))
  ) {
    return `'pinnedHosts' must be a list of at most ${MAX_PINNED} host names`;
  }
  return undefined;
}
