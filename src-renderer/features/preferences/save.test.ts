import { describe, expect, it } from 'vitest';
import { bytesToMb, expiresIn, parseCapMb, parseHours, parsePort, patternProblem } from './save';

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

  it('says when a learned host expires', () => {
    const now = 1_000_000;
    expect(expiresIn(now + 23.5 * 3600_000, now)).toBe('expires in 23 h');
    expect(expiresIn(now + 40 * 60_000, now)).toBe('expires in 40 min');
    expect(expiresIn(now + 72 * 3600_000, now)).toBe('expires in 3 d');
    expect(expiresIn(now - 1, now)).toBe('expired');
  });
});
