import { describe, expect, it } from 'vitest';
import { checkSettings, DEFAULT_SETTINGS } from '../../../src-common/settings';
import {
  bytesToMb,
  expiresIn,
  LIMITS,
  MAX_CAP_MB,
  parseCapMb,
  parseHours,
  parsePort,
  parseSeconds,
  patternProblem,
  type LimitSetting,
} from './save';

describe('patternProblem', () => {
  it.each([
    ['*.bank.com', undefined],
    ['host:443', undefined],
    ['10.0.0.0/8', undefined],
    ['[2001:db8::1]:443', undefined],
  ])('%s is accepted', (text, problem) => {
    expect(patternProblem(text, [])).toBe(problem);
  });

  it('says in words what is wrong with a bad pattern', () => {
    expect(patternProblem('https://bank.com', [])).toMatch(/without a scheme/);
    expect(patternProblem('a b', [])).toMatch(/spaces/);
    expect(patternProblem('', [])).toMatch(/empty/);
  });

  it('refuses a duplicate, whatever its case, but not the entry being edited', () => {
    expect(patternProblem('Bank.com', ['bank.com'])).toMatch(/already in the list/);
    expect(patternProblem('bank.com', ['bank.com'], 'bank.com')).toBeUndefined();
  });
});

describe('fields', () => {
  it('reads the capture cap in MB', () => {
    expect(parseCapMb('16')).toEqual({ ok: true, bytes: 16 * 1024 * 1024 });
    expect(parseCapMb('0.5')).toEqual({ ok: true, bytes: 512 * 1024 });
    expect(parseCapMb('0')).toEqual({ ok: true, bytes: 0 });
    expect(parseCapMb('2048')).toMatchObject({ ok: false, error: /At most 1024 MB/ });
    expect(parseCapMb('lots')).toMatchObject({ ok: false });
    expect(bytesToMb(16 * 1024 * 1024)).toBe('16');
    expect(bytesToMb(1536 * 1024)).toBe('1.5');
  });

  it('reads ports and hours', () => {
    expect(parsePort('9090')).toEqual({ ok: true, port: 9090 });
    for (const bad of ['0', '65536', '80a', '', '-1']) expect(parsePort(bad).ok).toBe(false);
    expect(parseHours('24')).toEqual({ ok: true, hours: 24 });
    for (const bad of ['0', '9000', 'x']) expect(parseHours(bad).ok).toBe(false);
  });

  it.each([
    ['keepAliveTimeoutSeconds', '300', 300],
    ['keepAliveTimeoutSeconds', ' 86400 ', 86_400],
    ['requestHeadTimeoutSeconds', '1', 1],
    ['firstRequestTimeoutSeconds', '3600', 3600],
    ['tunnelIdleTimeoutSeconds', '0', 0],
    ['tunnelIdleTimeoutSeconds', '604800', 604_800],
  ] as const)('reads %s %j as %d seconds', (setting, text, seconds) => {
    expect(parseSeconds(text, setting)).toEqual({ ok: true, seconds });
  });

  it.each([
    ['keepAliveTimeoutSeconds', '0', 'from 1 to 86400 (a day)'],
    ['keepAliveTimeoutSeconds', '86401', 'from 1 to 86400 (a day)'],
    ['requestHeadTimeoutSeconds', '3601', 'from 1 to 3600 (an hour)'],
    ['firstRequestTimeoutSeconds', '1.5', 'whole number of seconds'],
    ['firstRequestTimeoutSeconds', '', 'whole number of seconds'],
    ['tunnelIdleTimeoutSeconds', '-1', 'from 0 (off) to 604800 (a week)'],
    ['tunnelIdleTimeoutSeconds', '1e3', 'whole number of seconds'],
    ['tunnelIdleTimeoutSeconds', '99999999', 'whole number of seconds'],
  ] as const)('refuses %s %j in words', (setting, text, words) => {
    const parsed = parseSeconds(text, setting);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.error).toContain(words);
  });

  it('takes exactly the ranges the settings model takes', () => {
    const accepts = (patch: object): boolean => checkSettings({ ...DEFAULT_SETTINGS, ...patch }).ok;
    for (const [setting, { min, max }] of Object.entries(LIMITS)) {
      expect(accepts({ [setting]: min }), `${setting} ${min}`).toBe(true);
      expect(accepts({ [setting]: max }), `${setting} ${max}`).toBe(true);
      expect(accepts({ [setting]: min - 1 }), `${setting} ${min - 1}`).toBe(false);
      expect(accepts({ [setting]: max + 1 }), `${setting} ${max + 1}`).toBe(false);
      const parse = (n: number) => parseSeconds(String(n), setting as LimitSetting).ok;
      expect([parse(min), parse(max), parse(max + 1)]).toEqual([true, true, false]);
    }
    for (const cap of ['captureBodyCap', 'captureWebSocketCap']) {
      const most = parseCapMb(String(MAX_CAP_MB));
      expect(most.ok && accepts({ [cap]: most.bytes })).toBe(true);
      expect(accepts({ [cap]: MAX_CAP_MB * 1024 * 1024 + 1 })).toBe(false);
    }
  });

  it('says when a learned host expires', () => {
    const now = 1_000_000;
    expect(expiresIn(now + 23.5 * 3600_000, now)).toBe('expires in 23 h');
    expect(expiresIn(now + 40 * 60_000, now)).toBe('expires in 40 min');
    expect(expiresIn(now + 72 * 3600_000, now)).toBe('expires in 3 d');
    expect(expiresIn(now - 1, now)).toBe('expired');
  });
});
