import { describe, expect, it } from 'vitest';
import { Hooks, type HandshakeReport } from '../engine/index';
import { createBypassLearning } from './bypass-learning';
import type { LearnedBypass } from '../../src-common/settings';

const HOUR = 3600 * 1000;

function setup(initial: LearnedBypass[] = []) {
  const hooks = new Hooks();
  let now = 1_000_000;
  const saved: LearnedBypass[][] = [];
  const notices: string[] = [];
  const learning = createBypassLearning({
    hooks,
    initial,
    now: () => now,
    onChange: (l) => saved.push(l),
    onNotice: (m) => notices.push(m),
  });
  const report = (host: string, failure?: HandshakeReport['failure']): void =>
    hooks.emit('tlsHandshake', {
      host,
      port: 443,
      ok: failure === undefined,
      ...(failure ? { failure } : {}),
      clientAddress: '127.0.0.1',
    });
  return { learning, saved, notices, report, advance: (ms: number) => (now += ms) };
}

describe('bypass learning', () => {
  it('learns certificate rejections for 24 hours, and forgets them after', () => {
    const s = setup();
    s.report('pinned.test', 'certificate_rejected');
    expect(s.learning.matches('PINNED.test')).toBe(true);
    expect(s.saved.at(-1)).toEqual([
      expect.objectContaining({ host: 'pinned.test', expiresAt: 1_000_000 + 24 * HOUR }),
    ]);
    s.advance(24 * HOUR + 1);
    expect(s.learning.matches('pinned.test')).toBe(false);
    expect(s.saved.at(-1)).toEqual([]);
  });

  it('learns nothing from resets, timeouts, cipher mismatches or successes', () => {
    const s = setup();
    for (const failure of ['reset', 'timeout', 'no_shared_cipher', 'other'] as const) {
      s.report('x.test', failure);
    }
    s.report('x.test');
    expect(s.learning.list()).toEqual([]);
    expect(s.saved).toEqual([]);
  });

  it('discards a burst of rejections for several hosts and reports the untrusted CA once', () => {
    const s = setup();
    s.report('a.test', 'certificate_rejected');
    s.advance(1000);
    s.report('b.test', 'closed_after_handshake');
    s.advance(1000);
    s.report('c.test', 'certificate_rejected');
    s.report('d.test', 'certificate_rejected');
    expect(s.learning.list()).toEqual([]);
    expect(s.learning.distrusted).toBe(true);
    expect(s.notices).toHaveLength(1);
    // A successful interception ends the suspicion; rejections teach again.
    s.report('api.test');
    s.advance(60_000);
    s.report('e.test', 'certificate_rejected');
    expect(s.learning.list().map((e) => e.host)).toEqual(['e.test']);
  });

  it('keeps hosts learned before a burst began', () => {
    const s = setup();
    s.report('old.test', 'certificate_rejected');
    s.advance(60_000);
    for (const h of ['a.test', 'b.test', 'c.test']) s.report(h, 'certificate_rejected');
    expect(s.learning.list().map((e) => e.host)).toEqual(['old.test']);
  });

  it('spaced-out rejections of different hosts are each learned', () => {
    const s = setup();
    for (const h of ['a.test', 'b.test', 'c.test', 'd.test']) {
      s.report(h, 'certificate_rejected');
      s.advance(11_000);
    }
    expect(s.learning.list()).toHaveLength(4);
    expect(s.notices).toEqual([]);
  });

  it('starts from the saved list without its expired entries, and removes on request', () => {
    const s = setup([
      { host: 'kept.test', reason: 'r', learnedAt: 0, expiresAt: 2_000_000 },
      { host: 'gone.test', reason: 'r', learnedAt: 0, expiresAt: 10 },
    ]);
    expect(s.learning.list().map((e) => e.host)).toEqual(['kept.test']);
    expect(s.learning.remove('kept.test')).toBe(true);
    expect(s.learning.matches('kept.test')).toBe(false);
    expect(s.saved.at(-1)).toEqual([]);
  });
});
