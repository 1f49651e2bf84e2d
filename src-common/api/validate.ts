/**
 * Runtime validation of every call arriving in main, whatever the transport: the channel must
 * name a contract method and the arguments must be exactly what that method takes. Pure, so the
 * transports, the wiring test and the UI share it.
 */
import { API_METHODS, MAX_BODY_PART, PATCHABLE_SETTINGS, parseChannel } from './contract';
import type { ApiError, ApiSection, SettingsPatch, WireCall } from './contract';

type Patchable = (typeof PATCHABLE_SETTINGS)[number];

/** Checks one argument; returns a sentence saying what is wrong, or undefined when it is fine. */
type ArgCheck = (value: unknown) => string | undefined;

const ID = /^[A-Za-z0-9._:-]{1,128}$/;

const boolean: ArgCheck = (v) => (typeof v === 'boolean' ? undefined : 'must be true or false');
const id: ArgCheck = (v) =>
  typeof v === 'string' && ID.test(v)
    ? undefined
    : 'must be an id (1–128 letters, digits or . _ : -)';

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const wholeNumber = (v: unknown, min: number, max: number): boolean =>
  typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;

const list: ArgCheck = (v) => (Array.isArray(v) ? undefined : 'must be a list');
const record: ArgCheck = (v) => (isRecord(v) ? undefined : 'must be an object');
const whole: ArgCheck = (v) =>
  wholeNumber(v, 0, Number.MAX_SAFE_INTEGER) ? undefined : 'must be a whole number';
const positive: ArgCheck = (v) =>
  typeof v === 'number' && v > 0 && Number.isFinite(v) ? undefined : 'must be a positive number';

/**
 * The kind of value each changeable setting takes. Its range and its entries are the settings
 * model's (`checkSettings`), checked by main with the current settings, in the model's words.
 */
const PATCH_VALUES: { [K in keyof SettingsPatch]-?: ArgCheck } = {
  bypass: list,
  captureBodyCap: whole,
  captureWebSocketCap: whole,
  ui: record,
  allowInvalidUpstreamCertificates: list,
  stripAltSvcH3: boolean,
  autoBypassHours: positive,
  proxyPort: whole,
  requestHeadTimeoutSeconds: whole,
  firstRequestTimeoutSeconds: whole,
  keepAliveTimeoutSeconds: whole,
  tunnelIdleTimeoutSeconds: whole,
};

const settingsPatch: ArgCheck = (v) => {
  if (!isRecord(v)) return 'must be an object';
  const keys = Object.keys(v);
  if (keys.length === 0) return 'names no setting';
  for (const k of keys) {
    if (!(PATCHABLE_SETTINGS as readonly string[]).includes(k)) {
      return `'${k.slice(0, 40)}' cannot be changed here (changeable: ${PATCHABLE_SETTINGS.join(', ')})`;
    }
    const problem = PATCH_VALUES[k as Patchable](v[k]);
    if (problem) return `'${k}' ${problem}`;
  }
  return undefined;
};

/** The object has exactly these keys (optional ones may be missing). */
function keysProblem(
  v: Record<string, unknown>,
  required: readonly string[],
  optional: readonly string[] = [],
): string | undefined {
  for (const k of required) if (!Object.hasOwn(v, k)) return `needs '${k}'`;
  const extra = Object.keys(v).find((k) => !required.includes(k) && !optional.includes(k));
  return extra === undefined ? undefined : `has an unknown field '${extra.slice(0, 40)}'`;
}

const bodyPartRequest: ArgCheck = (v) => {
  if (!isRecord(v)) return 'must be an object';
  const keys = keysProblem(v, ['offset', 'length', 'decoded']);
  if (keys) return keys;
  if (!wholeNumber(v.offset, 0, Number.MAX_SAFE_INTEGER)) return "'offset' must be a byte offset";
  if (!wholeNumber(v.length, 1, MAX_BODY_PART)) {
    return `'length' must be 1 to ${MAX_BODY_PART} bytes`;
  }
  if (typeof v.decoded !== 'boolean') return "'decoded' must be true or false";
  return undefined;
};

/** A host name or IP literal as the auto-learned list holds it. */
const host: ArgCheck = (v) =>
  typeof v === 'string' && v.length > 0 && v.length <= 255 && !/[\s/]/.test(v)
    ? undefined
    : 'must be a host name';

const MAX_EXPORT_IDS = 5_000_000;

const harExportRequest: ArgCheck = (v) => {
  if (!isRecord(v)) return 'must be an object';
  const keys = keysProblem(v, ['sessionId', 'scope'], ['ids']);
  if (keys) return keys;
  if (id(v.sessionId)) return "'sessionId' must be a session id";
  if (v.scope !== 'all' && v.scope !== 'filtered' && v.scope !== 'selected') {
    return "'scope' must be 'all', 'filtered' or 'selected'";
  }
  if (v.ids === undefined) return v.scope === 'all' ? undefined : `'${v.scope}' needs 'ids'`;
  if (!Array.isArray(v.ids) || v.ids.length > MAX_EXPORT_IDS) {
    return `'ids' must be a list of at most ${MAX_EXPORT_IDS} flow ids`;
  }
  return v.ids.every((x) => id(x) === undefined) ? undefined : "'ids' must hold flow ids";
};

const harImportSource: ArgCheck = (v) => {
  if (!isRecord(v)) return 'must be an object';
  if (v.kind === 'dialog') return keysProblem(v, ['kind']);
  if (v.kind === 'upload') {
    const keys = keysProblem(v, ['kind', 'uploadId', 'name']);
    if (keys) return keys;
    if (id(v.uploadId)) return "'uploadId' must be an upload id";
    if (typeof v.name !== 'string' || v.name.length === 0 || v.name.length > 255) {
      return "'name' must be a file name of 1–255 characters";
    }
    return undefined;
  }
  return "'kind' must be 'dialog' or 'upload'";
};

/** The arguments each method takes, in order; the deeper checks of a settings patch are main's. */
const ARGS: { [S in ApiSection]: { [M in (typeof API_METHODS)[S][number]]: ArgCheck[] } } = {
  proxy: { status: [], setRecording: [boolean] },
  flows: {
    list: [],
    get: [id],
    body: [id],
    bodyPart: [id, bodyPartRequest],
    clear: [],
    stats: [],
  },
  settings: { get: [], update: [settingsPatch], forgetLearned: [host] },
  sessions: { list: [], flows: [id], close: [id] },
  har: { export: [harExportRequest], import: [harImportSource] },
  system: { info: [] },
};

export type CheckedCall =
  | { ok: true; section: ApiSection; method: string; args: unknown[] }
  | { ok: false; error: ApiError };

const fail = (code: ApiError['code'], message: string): CheckedCall => ({
  ok: false,
  error: { code, message },
});

/** Validates a call's channel and arguments. */
export function checkCall(channel: unknown, args: unknown): CheckedCall {
  const target = parseChannel(channel);
  if (!target) {
    return fail(
      'unknown_method',
      `${JSON.stringify(String(channel)).slice(0, 80)} is not a Loupe API method`,
    );
  }
  const { section, method } = target;
  const name = `${section}.${method}`;
  if (!Array.isArray(args))
    return fail('invalid_argument', `${name}: the arguments must be a list`);
  const checks = (ARGS[section] as Record<string, ArgCheck[]>)[method]!;
  if (args.length !== checks.length) {
    return fail(
      'invalid_argument',
      `${name} takes ${checks.length} argument${checks.length === 1 ? '' : 's'}, not ${args.length}`,
    );
  }
  for (const [i, check] of checks.entries()) {
    const problem = check(args[i]);
    if (problem) return fail('invalid_argument', `${name}: argument ${i + 1} ${problem}`);
  }
  return { ok: true, section, method, args };
}

/** Parses one WebSocket frame from the UI into a call, or says why it is not one. */
export function parseWireCall(
  text: string,
): { ok: true; call: WireCall } | { ok: false; message: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, message: 'the message is not JSON' };
  }
  if (typeof value !== 'object' || value === null)
    return { ok: false, message: 'the message is not an object' };
  const { id: callId, channel, args } = value as Record<string, unknown>;
  if (typeof callId !== 'number' || !Number.isSafeInteger(callId) || callId < 0) {
    return { ok: false, message: "the message needs a whole-number 'id'" };
  }
  if (typeof channel !== 'string') return { ok: false, message: "the message needs a 'channel'" };
  if (!Array.isArray(args)) return { ok: false, message: "the message needs an 'args' list" };
  return { ok: true, call: { id: callId, channel, args } };
}

/** Ensures the table above covers API_METHODS exactly (checked by the contract test). */
export function validatedMethods(): string[] {
  return (Object.keys(ARGS) as ApiSection[]).flatMap((s) =>
    Object.keys(ARGS[s]).map((m) => `${s}.${m}`),
  );
}
