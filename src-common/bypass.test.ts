import { describe, expect, it } from 'vitest';
import { compileBypassList, parseBypassPattern } from './bypass';

const match = (pattern: string, host: string, port = 443): boolean =>
  compileBypassList([{ pattern, enabled: true }]).matches(host, port);

describe('bypass pattern matching', () => {
  it.each([
    // pattern, host, port, expected
    ['example.com', 'example.com', 443, true],
    ['example.com', 'EXAMPLE.com.', 443, true],
    ['example.com', 'www.example.com', 443, false],
    ['example.com', 'notexample.com', 443, false],
    ['*.example.com', 'api.example.com', 443, true],
    ['*.example.com', 'a.b.c.example.com', 443, true],
    ['*.example.com', 'example.com', 443, false],
    ['*.example.com', 'badexample.com', 443, false],
    ['*', 'anything.test', 443, true],
    ['*:8443', 'anything.test', 443, false],
    ['*:8443', 'anything.test', 8443, true],
    ['example.com:8443', 'example.com', 8443, true],
    ['example.com:8443', 'example.com', 443, false],
    ['10.0.0.0/8', '10.1.2.3', 443, true],
    ['10.0.0.0/8', '11.0.0.1', 443, false],
    ['192.168.1.7', '192.168.1.7', 443, true],
    ['192.168.1.7', '192.168.1.8', 443, false],
    ['192.168.1.7:443', '192.168.1.7', 80, false],
    ['0.0.0.0/0', '8.8.8.8', 443, true],
    ['10.0.0.0/8', '::ffff:10.9.9.9', 443, true],
    ['::1', '::1', 443, true],
    ['::1', '[::1]', 443, true],
    ['[::1]:8443', '::1', 8443, true],
    ['[::1]:8443', '::1', 443, false],
    ['2001:db8::/32', '2001:db8:1::5', 443, true],
    ['2001:db8::/32', '2001:db9::5', 443, false],
    ['fe80::/10', 'fe80::1', 443, true],
    ['example.com', '93.184.216.34', 443, false],
    ['10.0.0.0/8', 'ten.example', 443, false],
  ] as const)('%s vs %s:%d → %s', (pattern, host, port, expected) => {
    expect(match(pattern, host, port)).toBe(expected);
  });

  it('ignores disabled and invalid entries', () => {
    const m = compileBypassList([
      { pattern: 'off.test', enabled: false },
      { pattern: 'bad pattern', enabled: true },
      { pattern: 'on.test', enabled: true },
    ]);
    expect(m.matches('off.test', 443)).toBe(false);
    expect(m.matches('on.test', 443)).toBe(true);
  });

  it('stays fast with a long list', () => {
    const entries = Array.from({ length: 2000 }, (_, i) => ({
      pattern: i % 2 ? `host${i}.test` : `*.zone${i}.test`,
      enabled: true,
    }));
    const m = compileBypassList(entries);
    expect(m.matches('deep.sub.zone1000.test', 443)).toBe(true);
    expect(m.matches('host1999.test', 443)).toBe(true);
    expect(m.matches('host2000.test', 443)).toBe(false);
  });
});

describe('bypass pattern errors', () => {
  it.each([
    ['', 'cannot be empty'],
    ['exa mple.com', 'cannot contain spaces'],
    ['*.', "needs a domain after '*.'"],
    ['api.*.com', "'*' may stand only alone"],
    ['10.0.0.0/33', 'IPv4 prefix length is at most 32'],
    ['::/129', 'IPv6 prefix length is at most 128'],
    ['300.1.1.1/8', 'is not an IP address'],
    ['example.com:0', 'port must be a number from 1 to 65535'],
    ['example.com:99999', 'port must be a number from 1 to 65535'],
    ['https://example.com', 'without a scheme'],
    ['example.com/path', 'without a path'],
    ['a..b', 'empty label'],
    ['-bad.com', 'not a valid host name label'],
    ['bücher.de', 'ASCII (xn--) form'],
  ])('%j is refused: %s', (pattern, message) => {
    const result = parseBypassPattern(pattern);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toContain(message);
  });

  it.each([
    'example.com',
    '*.example.com',
    '*',
    'xn--bcher-kva.de',
    '10.0.0.0/8',
    '[::1]:443',
    '::ffff:1.2.3.4',
    'localhost:8080',
  ])('%j is accepted', (pattern) => {
    expect(parseBypassPattern(pattern).ok).toBe(true);
  });
});
