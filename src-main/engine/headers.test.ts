import { describe, expect, it } from 'vitest';
import type { HeaderPair } from '../../src-common/flow';
import { forwardHeaders, toFlat, toPairs, withHost } from './headers';
import { parseAuthority } from './tunnel';
import { originForm } from './upstream';

describe('forwardHeaders', () => {
  const cases: [string, HeaderPair[], HeaderPair[], Parameters<typeof forwardHeaders>[1]?][] = [
    [
      'keeps case, order and duplicates',
      [
        ['X-B', '1'],
        ['x-a', '2'],
        ['X-B', '3'],
      ],
      [
        ['X-B', '1'],
        ['x-a', '2'],
        ['X-B', '3'],
      ],
    ],
    [
      'drops the hop-by-hop set',
      [
        ['Host', 'h'],
        ['Connection', 'keep-alive'],
        ['Keep-Alive', 'timeout=5'],
        ['Proxy-Connection', 'keep-alive'],
        ['TE', 'trailers'],
        ['Upgrade', 'h2c'],
        ['Proxy-Authorization', 'Basic x'],
        ['Accept', '*/*'],
      ],
      [
        ['Host', 'h'],
        ['Accept', '*/*'],
      ],
    ],
    [
      'drops headers named in Connection, case-insensitively, in any of several Connection headers',
      [
        ['Connection', 'close, X-Private'],
        ['x-private', 'secret'],
        ['connection', 'X-Other'],
        ['X-Other', 'o'],
        ['X-Public', 'p'],
      ],
      [['X-Public', 'p']],
    ],
    [
      'keeps Transfer-Encoding unless asked',
      [['Transfer-Encoding', 'chunked']],
      [['Transfer-Encoding', 'chunked']],
    ],
    [
      'drops Transfer-Encoding for an HTTP/1.0 hop',
      [
        ['Transfer-Encoding', 'chunked'],
        ['A', 'b'],
      ],
      [['A', 'b']],
      { dropTransferEncoding: true },
    ],
    [
      'keeps Upgrade and normalises Connection for an upgrade',
      [
        ['Connection', 'keep-alive, Upgrade'],
        ['Upgrade', 'websocket'],
        ['Sec-WebSocket-Key', 'k'],
      ],
      [
        ['Connection', 'Upgrade'],
        ['Upgrade', 'websocket'],
        ['Sec-WebSocket-Key', 'k'],
      ],
      { keepUpgrade: true },
    ],
    ['keeps Trailer (end-to-end)', [['Trailer', 'X-Sum']], [['Trailer', 'X-Sum']]],
  ];
  it.each(cases)('%s', (_name, input, expected, opts) => {
    expect(forwardHeaders(input, opts)).toEqual(expected);
  });

  it('converts between flat raw arrays and pairs without losing anything', () => {
    const flat = ['A', '1', 'b', '2', 'A', '3'];
    expect(toFlat(toPairs(flat))).toEqual(flat);
  });
});

describe('withHost', () => {
  it.each([
    [
      'replaces a mismatched Host in place, keeping its case',
      [
        ['A', '1'],
        ['host', 'evil.test'],
        ['B', '2'],
      ],
      [
        ['A', '1'],
        ['host', 'api.test:8080'],
        ['B', '2'],
      ],
    ],
    [
      'adds Host first when an HTTP/1.0 client sent none',
      [['A', '1']],
      [
        ['Host', 'api.test:8080'],
        ['A', '1'],
      ],
    ],
    [
      'keeps only the first of several Host headers',
      [
        ['Host', 'a'],
        ['HOST', 'b'],
      ],
      [['Host', 'api.test:8080']],
    ],
  ] as [string, HeaderPair[], HeaderPair[]][])('%s', (_name, input, expected) => {
    expect(withHost(input, 'api.test:8080')).toEqual(expected);
  });
});

describe('parseAuthority', () => {
  it.each([
    ['example.com:443', { host: 'example.com', port: 443 }],
    ['127.0.0.1:8080', { host: '127.0.0.1', port: 8080 }],
    ['[::1]:443', { host: '::1', port: 443 }],
    ['[2001:db8::1]:8443', { host: '2001:db8::1', port: 8443 }],
    ['example.com', undefined],
    ['example.com:0', undefined],
    ['example.com:65536', undefined],
    ['[nothex]:443', undefined],
    ['a b:443', undefined],
    ['user@host:443', undefined],
    ['::1:443', undefined],
  ])('%s', (input, expected) => {
    expect(parseAuthority(input)).toEqual(expected);
  });
});

describe('originForm', () => {
  it.each([
    ["http://h/a/../b/./c?q='x'", "/a/../b/./c?q='x'"],
    ['http://h:8080/p?x=1', '/p?x=1'],
    ['HTTP://H/Case/Kept', '/Case/Kept'],
    ['http://h?q', '/?q'],
    ['http://h', '/'],
    ['http://h/p#frag', '/p'],
    ['http://user:pw@h/p', '/p'],
    ['http://[::1]:80/v6', '/v6'],
    // A backslash after the authority is a path separator only to URL parsers: use theirs.
    ['http://h\\x', '/x'],
  ])('%s → %s', (raw, expected) => {
    expect(originForm(raw, new URL(raw))).toBe(expected);
  });
});
