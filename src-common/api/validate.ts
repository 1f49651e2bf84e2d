/**
 * Runtime validation of every call arriving in main, whatever the transport: the channel must
 * name a contract method and the arguments must be exactly what that method takes. Pure, so the
 * transports, the wiring test and the UI share it.
 */
import { API_METHODS, PATCHABLE_SETTINGS, parseChannel } from './contract';
import type { ApiError, ApiSection, WireCall } from './contract';

/** Checks one argument; returns a sentence saying what is wrong, or undefined when it is fine. */
type ArgCheck = (value: unknown) => string | undefined;

const ID = /^[A-Za-z0-9._:-]{1,128}$/;

const boolean: ArgCheck = (v) => (typeof v === 'boolean' ? undefined : 'must be true or false');
const id: ArgCheck = (v) =>
  typeof v === 'string' && ID.test(v)
    ? undefined
    : 'must be an id (1–128 letters, digits or . _ : -)';
const settingsPatch: ArgCheck = (v) => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'must be an object';
  const keys = Object.keys(v);
  if (keys.length === 0) return 'names no setting';
  const bad = keys.find((k) => !(PATCHABLE_SETTINGS as readonly string[]).includes(k));
  return bad === undefined
    ? undefined
    : `'${bad}' cannot be changed here (changeable: ${PATCHABLE_SETTINGS.join(', ')})`;
};

/** The arguments each method takes, in order; the deeper checks of a settings patch are main's. */
const ARGS: { [S in ApiSection]: { [M in (typeof API_METHODS)[S][number]]: ArgCheck[] } } = {
  proxy: { status: [], setRecording: [boolean] },
  flows: { list: [], get: [id], body: [id], clear: [], stats: [] },
  settings: { get: [], update: [settingsPatch] },
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
