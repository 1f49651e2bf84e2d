import { describe, expect, it } from 'vitest';
import { compileBypassList, parseBypassPattern, type BypassPattern } from './bypass';

const match = (pattern: string, host: string, port: number): boolean =>
  compileBypassList([{ pattern, enabled: true }]).matches(host, port);

describe('bypass matching, one pattern', () => {
  it.each([
    // host names: case, trailing dots, no partial-label matches
    ['example.com', 'example.com', 443, true],
    ['example.com', 'EXAMPLE.COM', 443, true],
    ['example.com', 'example.com.', 443, true],
    ['example.com.', 'example.com', 443, true],
    ['EXAMPLE.com', 'example.com', 443, true],
    ['example.com', 'www.example.com', 443, false],
    ['example.com', 'notexample.com', 443, false],
    ['example.com', 'example.com.evil.test', 443, false],
    ['example.com', 'example.co', 443, false],
    ['localhost', 'localhost', 80, true],
    ['xn--bcher-kva.de', 'XN--BCHER-KVA.DE', 443, true],
    ['_dmarc.example.com', '_dmarc.example.com', 443, true],
    // *.domain: any depth of subdomain, never the bare domain
    ['*.example.com', 'api.example.com', 443, true],
    ['*.example.com', 'a.b.c.example.com', 443, true],
    ['*.example.com', 'API.Example.COM.', 443, true],
    ['*.example.com', 'example.com', 443, false],
    ['*.example.com', 'badexample.com', 443, false],
    ['*.example.com', 'example.com.evil.test', 443, false],
    ['*.example.com', '.example.com', 443, true],
    ['*.com', 'example.com', 443, true],
    ['*.com', 'com', 443, false],
    // *: everything, names and addresses alike
    ['*', 'anything.test', 443, true],
    ['*', '10.1.2.3', 80, true],
    ['*', '::1', 8080, true],
    // ports
    ['*:8443', 'anything.test', 8443, true],
    ['*:8443', 'anything.test', 443, false],
    ['example.com:8443', 'example.com', 8443, true],
    ['example.com:8443', 'example.com', 443, false],
    ['*.example.com:443', 'api.example.com', 443, true],
    ['*.example.com:443', 'api.example.com', 80, false],
    ['192.168.1.7:443', '192.168.1.7', 443, true],
    ['192.168.1.7:443', '192.168.1.7', 80, false],
    ['[::1]:8443', '::1', 8443, true],
    ['[::1]:8443', '::1', 443, false],
    ['10.0.0.0/8:443', '10.2.3.4', 443, true],
    ['10.0.0.0/8:443', '10.2.3.4', 80, false],
    ['[2001:db8::]/32:443', '2001:db8::1', 443, true],
    // IPv4 literals and blocks
    ['192.168.1.7', '192.168.1.7', 443, true],
    ['192.168.1.7', '192.168.1.8', 443, false],
    ['192.168.1.7', '192.168.1.70', 443, false],
    ['10.0.0.0/8', '10.1.2.3', 443, true],
    ['10.0.0.0/8', '10.255.255.255', 443, true],
    ['10.0.0.0/8', '11.0.0.0', 443, false],
    ['10.0.0.0/8', '9.255.255.255', 443, false],
    ['192.168.0.0/23', '192.168.1.200', 443, true],
    ['192.168.0.0/23', '192.168.2.1', 443, false],
    ['172.16.0.0/12', '172.31.255.255', 443, true],
    ['172.16.0.0/12', '172.32.0.0', 443, false],
    ['10.1.2.3/8', '10.200.0.1', 443, true],
    ['0.0.0.0/0', '8.8.8.8', 443, true],
    ['1.2.3.4/32', '1.2.3.4', 443, true],
    ['1.2.3.4/32', '1.2.3.5', 443, false],
    ['1.2.3.4/31', '1.2.3.5', 443, true],
    ['1.2.3.4/31', '1.2.3.6', 443, false],
    ['10.0.0.0/8', 'ten.example', 443, false],
    ['10.0.0.0/8', '010.1.2.3', 443, false],
    ['127.0.0.1', '127.0.0.1.', 443, true],
    // IPv6 literals and blocks
    ['::1', '::1', 443, true],
    ['::1', '[::1]', 443, true],
    ['::1', '0:0:0:0:0:0:0:1', 443, true],
    ['::1', '::2', 443, false],
    ['[::1]', '::1', 443, true],
    ['2001:DB8::1', '2001:db8:0:0::1', 443, true],
    ['2001:db8::/32', '2001:db8:1::5', 443, true],
    ['2001:db8::/32', '2001:db9::5', 443, false],
    ['2001:db8::/127', '2001:db8::1', 443, true],
    ['2001:db8::/128', '2001:db8::1', 443, false],
    ['fe80::/10', 'fe80::1', 443, true],
    ['fe80::/10', 'febf::1', 443, true],
    ['fe80::/10', 'fec0::1', 443, false],
    ['fe80::/10', 'fe80::1%eth0', 443, true],
    ['fe80::/10', '[fe80::1%25en0]', 443, true],
    ['::/0', '2606:4700::1111', 443, true],
    ['::', '::', 443, true],
    // IPv4 and IPv4-mapped IPv6 are one address
    ['10.0.0.0/8', '::ffff:10.9.9.9', 443, true],
    ['10.0.0.0/8', '::FFFF:a09:909', 443, true],
    ['10.0.0.0/8', '::ffff:11.9.9.9', 443, false],
    ['::ffff:1.2.3.4', '1.2.3.4', 443, true],
    ['::ffff:1.2.3.4', '::ffff:1.2.3.4', 443, true],
    ['::ffff:1.2.3.4', '1.2.3.5', 443, false],
    ['[::ffff:1.2.3.4]:443', '1.2.3.4', 443, true],
    ['::ffff:0:0/96', '203.0.113.9', 443, true],
    ['::ffff:10.0.0.0/104', '10.1.1.1', 443, true],
    ['::ffff:10.0.0.0/104', '11.1.1.1', 443, false],
    ['1.2.3.4', '::1.2.3.4', 443, false],
    ['1.2.3.4', '64:ff9b::1.2.3.4', 443, false],
    // names never match addresses and the other way
    ['example.com', '93.184.216.34', 443, false],
    ['*.example.com', '::1', 443, false],
    ['::1', 'localhost', 443, false],
    // hosts that are not valid match no name or block
    ['example.com', '', 443, false],
    ['10.0.0.0/8', '10.0.0', 443, false],
    ['::/0', 'not:an:address', 443, false],
  ] as const)('%s vs %s port %d → %s', (pattern, host, port, expected) => {
    expect(match(pattern, host, port)).toBe(expected);
  });
});

describe('bypass matching, a list', () => {
  it('uses only enabled, valid entries', () => {
    const m = compileBypassList([
      { pattern: 'off.test', enabled: false },
      { pattern: 'bad pattern', enabled: true },
      { pattern: 'on.test', enabled: true, note: 'kept for a reason' },
    ]);
    expect(m.matches('off.test', 443)).toBe(false);
    expect(m.matches('on.test', 443)).toBe(true);
  });

  it('combines ports given for the same host', () => {
    const m = compileBypassList([
      { pattern: 'a.test:443', enabled: true },
      { pattern: 'a.test:8443', enabled: true },
      { pattern: '*.b.test:1', enabled: true },
      { pattern: '*.b.test', enabled: true },
    ]);
    expect(m.matches('a.test', 443)).toBe(true);
    expect(m.matches('a.test', 8443)).toBe(true);
    expect(m.matches('a.test', 80)).toBe(false);
    expect(m.matches('x.b.test', 80)).toBe(true);
  });

  it('matches nothing when empty', () => {
    expect(compileBypassList([]).matches('example.com', 443)).toBe(false);
  });

  it('stays fast with thousands of entries', () => {
    const entries = Array.from({ length: 3000 }, (_, i) => ({
      pattern: [`host${i}.test`, `*.zone${i}.test`, `10.${i % 256}.${i >> 8}.0/24`][i % 3]!,
      enabled: true,
    }));
    const m = compileBypassList(entries);
    expect(m.matches('deep.sub.zone1000.test', 443)).toBe(true);
    expect(m.matches('host2997.test', 443)).toBe(true);
    expect(m.matches('host2999.test', 443)).toBe(false);
    expect(m.matches('10.2.0.9', 443)).toBe(true);
    const started = performance.now();
    for (let i = 0; i < 20_000; i++) m.matches(`a.b.c.host${i}.example`, 443);
    // ~µs per lookup; the bound only catches a lookup that scans every name entry.
    expect(performance.now() - started).toBeLessThan(1000);
  });
});

describe('bypass pattern parsing', () => {
  it.each<[string, BypassPattern]>([
    ['example.com', { kind: 'host', host: 'example.com' }],
    ['  Example.COM.  ', { kind: 'host', host: 'example.com' }],
    ['example.com:8080', { kind: 'host', host: 'example.com', port: 8080 }],
    ['*.Example.com', { kind: 'suffix', domain: 'example.com' }],
    ['*', { kind: 'any' }],
    ['*:443', { kind: 'any', port: 443 }],
    ['1.2.3.4', { kind: 'cidr', bytes: [1, 2, 3, 4], prefix: 32 }],
    ['1.2.3.4:65535', { kind: 'cidr', bytes: [1, 2, 3, 4], prefix: 32, port: 65535 }],
    ['10.0.0.0/8', { kind: 'cidr', bytes: [10, 0, 0, 0], prefix: 8 }],
    ['0.0.0.0/0', { kind: 'cidr', bytes: [0, 0, 0, 0], prefix: 0 }],
    ['::1', { kind: 'cidr', bytes: [...Array<number>(15).fill(0), 1], prefix: 128 }],
    [
      '[::1]:443',
      { kind: 'cidr', bytes: [...Array<number>(15).fill(0), 1], prefix: 128, port: 443 },
    ],
    ['::/0', { kind: 'cidr', bytes: Array<number>(16).fill(0), prefix: 0 }],
    [
      '::ffff:1.2.3.4',
      { kind: 'cidr', bytes: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 1, 2, 3, 4], prefix: 128 },
    ],
    [
      '2001:db8::/32',
      { kind: 'cidr', bytes: [0x20, 0x01, 0x0d, 0xb8, ...Array<number>(12).fill(0)], prefix: 32 },
    ],
  ])('%j parses', (text, pattern) => {
    expect(parseBypassPattern(text)).toEqual({ ok: true, pattern });
  });

  it.each([
    'xn--bcher-kva.de',
    'a-b.c_d.example',
    '1.2.3.4.nip.io',
    'x.123abc',
    `${'a'.repeat(63)}.test`,
    '1:2:3:4:5:6:7:8',
    '1:2:3:4:5:6:1.2.3.4',
    '::1.2.3.4',
    '1::',
    '[2001:db8::]/32',
    '[2001:db8::]/32:443',
    '10.0.0.0/8:443',
  ])('%j is accepted', (pattern) => {
    expect(parseBypassPattern(pattern).ok).toBe(true);
  });

  it.each([
    ['', 'a pattern cannot be empty'],
    ['   ', 'a pattern cannot be empty'],
    ['exa mple.com', "'exa mple.com': a host name cannot contain spaces"],
    ['a\tb', 'a host name cannot contain spaces'],
    ['*.', "'*.': a wildcard needs a domain after '*.'"],
    ['*..', "a wildcard needs a domain after '*.'"],
    ['*.:443', "a wildcard needs a domain after '*.'"],
    ['api.*.com', "'*' may stand only alone or as the first label"],
    ['*example.com', "'*' may stand only alone or as the first label"],
    ['**', "'*' may stand only alone or as the first label"],
    ['.example.com', "cannot start with '.'; to match subdomains write '*.example.com'"],
    ['10.0.0.0/33', "'10.0.0.0/33': an IPv4 prefix length is at most 32"],
    ['::/129', 'an IPv6 prefix length is at most 128'],
    ['10.0.0.0/', "the prefix length after '/' must be a number from 0 to 32"],
    ['10.0.0.0/1234', "the prefix length after '/' must be a number from 0 to 32"],
    ['300.1.1.1/8', "'300.1.1.1' is not an IP address, so it cannot have a /prefix"],
    ['example.com/8', "'example.com' is not an IP address, so it cannot have a /prefix"],
    ['example.com/path', 'a pattern is a host or an IP block, without a path'],
    ['example.com:443/path', 'without a path'],
    ['example.com:0', 'the port must be a number from 1 to 65535'],
    ['example.com:65536', 'the port must be a number from 1 to 65535'],
    ['example.com:', 'the port must be a number from 1 to 65535'],
    ['example.com:https', 'the port must be a number from 1 to 65535'],
    ['[::1]:', 'the port must be a number from 1 to 65535'],
    [':443', 'a host name is missing'],
    ['https://example.com', 'without a scheme such as https://'],
    ['a..b', 'two dots in a row'],
    ['example.com..', 'two dots in a row'],
    ['-bad.com', "'-bad' is not a valid host name label"],
    ['bad-.com', "'bad-' is not a valid host name label"],
    ['ex!ample.com', 'is not a valid host name label'],
    [`${'a'.repeat(64)}.test`, 'is longer than 63 characters'],
    [`${'abcdefghi.'.repeat(26)}com`, 'a host name is at most 253 characters'],
    [
      'bücher.de',
      "'bücher.de': only ASCII is accepted; write an international name in its punycode form (xn--…)",
    ],
    ['例え.jp', 'punycode form'],
    ['010.0.0.1', "'010.0.0.1' ends in a number, so it is read as an IPv4 address"],
    ['256.1.1.1', 'is read as an IPv4 address, and it is not a valid one'],
    ['1.2.3', 'is read as an IPv4 address'],
    ['example.123', 'is read as an IPv4 address'],
    [
      'host:80:90',
      "'host:80:90' is not a valid IPv6 address (with a port, write it as [2001:db8::1]:443)",
    ],
    ['::1:443:x', 'is not a valid IPv6 address'],
    ['1:2:3:4:5:6:7:8:9', 'is not a valid IPv6 address'],
    ['1::2::3', 'is not a valid IPv6 address'],
    ['12345::1', 'is not a valid IPv6 address'],
    ['::ffff:1.2.3.256', 'is not a valid IPv6 address'],
    ['fe80::1%eth0', 'is not a valid IPv6 address'],
    ['[example.com]:443', "'example.com' is not an IPv6 address, and brackets are only for IPv6"],
    ['[1.2.3.4]', 'brackets are only for IPv6'],
    ['[::1]x', "after ']' only a /prefix length and a :port may follow"],
  ])('%j is refused: %s', (pattern, message) => {
    const result = parseBypassPattern(pattern);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toContain(message);
  });
});
