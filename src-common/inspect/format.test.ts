import { describe, expect, it } from 'vitest';
import type { WsMessage } from '../websocket';
import {
  parseCookieHeader,
  parseMultipart,
  parseQuery,
  parseSetCookie,
  parseUrlEncoded,
} from './form';
import { hexDump, hexRow, hexRowCount } from './hex';
import { prettyJson, prettyJsonSteps, type PrettyJsonResult } from './json';
import { decodeText, displayLines, fromBase64, toBase64 } from './text';
import { parseContentType, viewerFor } from './viewer';
import { opcodeName, wsPayload, wsPreview } from './ws';

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('viewerFor', () => {
  it.each([
    ['application/json; charset=utf-8', '{}', 'json'],
    ['application/problem+json', '{}', 'json'],
    ['text/json', '[1]', 'json'],
    ['text/html; charset=utf-8', '<p>', 'html'],
    ['application/xml', '<a/>', 'html'],
    ['application/atom+xml', '<a/>', 'html'],
    ['image/svg+xml', '<svg/>', 'image'],
    ['image/png', '\x89PNG', 'image'],
    ['image/tiff', 'II*', 'hex'],
    ['application/x-www-form-urlencoded', 'a=1', 'form'],
    ['multipart/form-data; boundary=x', '--x', 'form'],
    ['text/plain', 'hello', 'text'],
    ['application/javascript', 'let a', 'text'],
    ['text/plain', 'bad\u0000nul', 'hex'],
    ['application/octet-stream', 'bin\u0000', 'hex'],
    ['application/octet-stream', ' {"a":1}', 'json'],
    [undefined, '[1,2]', 'json'],
    [undefined, '<!doctype html>', 'html'],
    [undefined, 'just words', 'text'],
    [undefined, '', 'text'],
    ['application/pdf', '%PDF-1.7', 'hex'],
  ])('%s with %j → %s', (type, head, viewer) => {
    expect(viewerFor(type, bytes(head))).toBe(viewer);
  });

  it('treats invalid UTF-8 as binary', () => {
    expect(viewerFor(undefined, new Uint8Array([0xc3, 0x28, 0x41]))).toBe('hex');
  });

  it('parses parameters, quoted ones too', () => {
    expect(parseContentType('Multipart/Form-Data; boundary="a;b\\"c"; charset=UTF-8')).toEqual({
      type: 'multipart/form-data',
      params: { boundary: 'a;b"c', charset: 'UTF-8' },
    });
  });
});

/** The pretty text and its lines, from the typed arrays. */
function pretty(result: PrettyJsonResult): { text: string; lines: string[] } {
  if (!result.ok) throw new Error(result.error);
  const text = new TextDecoder('utf-16le').decode(result.chars);
  const lines: string[] = [];
  for (let i = 0; i < result.bounds.length; i += 2) {
    lines.push(text.slice(result.bounds[i], result.bounds[i + 1]));
  }
  return { text, lines };
}

describe('prettyJson', () => {
  const source = '{"a":1.0,"b":[true,null,{"c":"x\\"y"}],"e":{},"big":12345678901234567890,"a":2}';

  it('pretty-prints like JSON.stringify(v, null, 2) while keeping numbers and duplicates', () => {
    expect(pretty(prettyJson(source)).text).toBe(
      [
        '{',
        '  "a": 1.0,',
        '  "b": [',
        '    true,',
        '    null,',
        '    {',
        '      "c": "x\\"y"',
        '    }',
        '  ],',
        '  "e": {},',
        '  "big": 12345678901234567890,',
        '  "a": 2',
        '}',
      ].join('\n'),
    );
  });

  it.each([
    JSON.stringify({ list: [1, 2, [3, []], { k: 'v' }], s: 'a,b:c{d}[e]', n: -1.5e3, t: false }),
    '[ { "é": "😀" } , [ ] , { } ]',
    JSON.stringify(Array.from({ length: 3000 }, (_, i) => ({ id: i, s: `v${i}`, l: [i] }))),
  ])('matches JSON.stringify on ordinary documents, line by line: %#', (text) => {
    const expected = JSON.stringify(JSON.parse(text), null, 2);
    const { text: out, lines } = pretty(prettyJson(text));
    expect(out).toBe(expected);
    expect(lines).toEqual(expected.split('\n'));
  });

  it('pretty-prints a lone scalar', () => {
    expect(pretty(prettyJson(' "just a string" ')).text).toBe('"just a string"');
  });

  it('knows where each container ends and how many members it has, for folding', () => {
    const result = prettyJson(source);
    if (!result.ok) throw new Error(result.error);
    expect(result.end[0]).toBe(12);
    expect(result.count[0]).toBe(5);
    expect(result.end[2]).toBe(8);
    expect(result.count[2]).toBe(3);
    expect(result.count[5]).toBe(1);
    // Scalars, closing lines and empty containers open nothing.
    for (const line of [1, 3, 8, 9, 12]) expect(result.end[line]).toBe(-1);
  });

  it.each(['{"a": }', '[1, 2', '{"a": [1}', ''])('says why %j is not JSON', (bad) => {
    expect(prettyJson(bad)).toMatchObject({ ok: false, error: /^not valid JSON: / });
  });

  it('lays out a few megabytes quickly', () => {
    const big = JSON.stringify(
      Array.from({ length: 40_000 }, (_, i) => ({ id: i, name: `item ${i}`, tags: ['a', 'b'] })),
    );
    const started = performance.now();
    expect(prettyJson(big).ok).toBe(true);
    expect(performance.now() - started).toBeLessThan(2000);
  });
});

describe('prettyJsonSteps without the runtime parser', () => {
  const run = (text: string) => {
    const steps = prettyJsonSteps(text, false);
    let yields = 0;
    for (;;) {
      const step = steps.next();
      if (step.done) return { result: step.value, yields };
      yields++;
    }
  };

  it('yields on the way through a large document and lays it out the same', () => {
    const big = JSON.stringify(Array.from({ length: 20_000 }, (_, i) => ({ i })));
    const { result, yields } = run(big);
    expect(yields).toBeGreaterThan(3);
    expect(pretty(result).text).toBe(JSON.stringify(JSON.parse(big), null, 2));
  });

  it.each(['{"a":[1}', '[1,2', ']', ''])('catches brackets that do not pair up: %j', (text) => {
    expect(run(text).result.ok).toBe(false);
  });

  it('names what it found', () => {
    expect(run('[1, 2').result).toEqual({
      ok: false,
      error: 'not valid JSON: it ends before its brackets close',
    });
    expect(run('{"a": [1}').result).toMatchObject({ ok: false, error: /unexpected '}'/ });
  });
});

describe('hex', () => {
  it('lays out rows as offset, 16 bytes in two groups, and ASCII', () => {
    const data = bytes('Hello, Loupe!\u0000\u0001\u007fABC');
    expect(hexRowCount(data.length)).toBe(2);
    expect(hexRow(data, 0)).toEqual({
      offset: '00000000',
      hex: '48 65 6c 6c 6f 2c 20 4c  6f 75 70 65 21 00 01 7f',
      ascii: 'Hello, Loupe!...',
    });
    expect(hexRow(data, 1, 0x100)).toEqual({
      offset: '00000110',
      hex: `41 42 43${'   '.repeat(5)}  ${'   '.repeat(7)}  `,
      ascii: 'ABC',
    });
    expect(hexDump(data).split('\n')).toHaveLength(2);
  });
});

describe('text', () => {
  it('round-trips base64', () => {
    const data = new Uint8Array(70_000).map((_, i) => i % 256);
    expect(fromBase64(toBase64(data))).toEqual(data);
  });

  it('decodes UTF-8, and falls back to windows-1252 rather than losing bytes', () => {
    expect(decodeText(bytes('héllo'))).toEqual({
      text: 'héllo',
      encoding: 'utf-8',
      fallback: false,
    });
    expect(decodeText(new Uint8Array([0x63, 0x61, 0x66, 0xe9]))).toEqual({
      text: 'café',
      encoding: 'windows-1252',
      fallback: true,
    });
    expect(decodeText(new Uint8Array([0x63, 0x61, 0x66, 0xe9]), 'iso-8859-1').text).toBe('café');
  });

  it('does not call a character cut at the end of a loaded part invalid', () => {
    const cut = bytes('naïve').subarray(0, 3); // the ï's first byte only
    expect(decodeText(cut, undefined, true)).toMatchObject({ text: 'na', fallback: false });
  });

  it('cuts long lines into pieces and drops carriage returns', () => {
    expect(displayLines('a\r\nbb\n', 10)).toEqual(['a', 'bb', '']);
    expect(displayLines('x'.repeat(25), 10)).toEqual(['x'.repeat(10), 'x'.repeat(10), 'xxxxx']);
  });
});

describe('forms, queries and cookies', () => {
  it('parses a query in order, repeats and empties kept, broken escapes shown as sent', () => {
    expect(parseQuery('http://h/p?a=1&b=two+words&a=%E2%82%AC&flag&bad=%zz#frag')).toEqual([
      ['a', '1'],
      ['b', 'two words'],
      ['a', '€'],
      ['flag', ''],
      ['bad', '%zz'],
    ]);
    expect(parseQuery('http://h/p')).toEqual([]);
    expect(parseUrlEncoded('x=%3D%26&y=')).toEqual([
      ['x', '=&'],
      ['y', ''],
    ]);
  });

  it('splits multipart parts with their headers, names and places', () => {
    const body = bytes(
      'preamble\r\n--XyZ\r\nContent-Disposition: form-data; name="title"\r\n\r\nHello\r\n' +
        '--XyZ\r\nContent-Disposition: form-data; name="file"; filename="a \\"b\\".txt"\r\n' +
        'Content-Type: text/plain\r\n\r\nline1\r\nline2\r\n--XyZ--\r\n',
    );
    const result = parseMultipart(body, 'XyZ');
    if (!result.ok) throw new Error(result.error);
    expect(result.complete).toBe(true);
    expect(result.parts).toHaveLength(2);
    const [title, file] = result.parts;
    expect(title).toMatchObject({ name: 'title' });
    const text = (p: { offset: number; length: number }) =>
      new TextDecoder().decode(body.subarray(p.offset, p.offset + p.length));
    expect(text(title!)).toBe('Hello');
    expect(file).toMatchObject({ name: 'file', filename: 'a "b".txt', contentType: 'text/plain' });
    expect(text(file!)).toBe('line1\r\nline2');
  });

  it('reports a multipart body cut short, and a boundary that is not there', () => {
    const cut = parseMultipart(bytes('--b\r\nContent-Type: x\r\n\r\npartial da'), 'b');
    expect(cut).toMatchObject({ ok: true, complete: false });
    expect(parseMultipart(bytes('nothing'), 'b')).toEqual({
      ok: false,
      error: 'the boundary "b" does not occur in the body',
    });
    expect(parseMultipart(bytes('x'), '')).toMatchObject({ ok: false });
  });

  it('parses Cookie and Set-Cookie', () => {
    expect(parseCookieHeader('a=1; b=x=y;  c=')).toEqual([
      ['a', '1'],
      ['b', 'x=y'],
      ['c', ''],
    ]);
    expect(
      parseSetCookie('sid=abc123; Path=/; Expires=Wed, 21 Oct 2026 07:28:00 GMT; HttpOnly; Secure'),
    ).toEqual({
      name: 'sid',
      value: 'abc123',
      attributes: [
        ['Path', '/'],
        ['Expires', 'Wed, 21 Oct 2026 07:28:00 GMT'],
        ['HttpOnly', ''],
        ['Secure', ''],
      ],
    });
  });
});

describe('WebSocket payloads', () => {
  const msg = (over: Partial<WsMessage>): WsMessage => ({
    direction: 'receive',
    time: 0,
    opcode: 1,
    size: 0,
    wireSize: 0,
    compressed: false,
    ...over,
  });

  it('shows text as text, binary as hex, and says why a payload is missing', () => {
    expect(wsPayload(msg({ data: '{"a":1}' }))).toEqual({ kind: 'text', text: '{"a":1}' });
    expect(wsPreview(msg({ opcode: 2, data: 'AAH/', encoding: 'base64' }))).toBe('00 01 ff');
    expect(wsPreview(msg({ error: 'too large to inflate' }))).toBe('too large to inflate');
    expect(wsPreview(msg({ data: 'x'.repeat(300) }), 10)).toBe(`${'x'.repeat(9)}…`);
    expect(opcodeName(8)).toBe('close');
    expect(opcodeName(3)).toBe('opcode 3');
  });
});
