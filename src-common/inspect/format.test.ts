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
import {
  foldedSummary,
  jsonLineText,
  layoutJson,
  layoutJsonSteps,
  prettyJson,
  prettyJsonSteps,
  visibleJsonLines,
  type JsonLine,
} from './json';
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

describe('layoutJson', () => {
  const source = '{"a":1.0,"b":[true,null,{"c":"x\\"y"}],"e":{},"big":12345678901234567890,"a":2}';

  it('pretty-prints like JSON.stringify(v, null, 2) while keeping numbers and duplicates', () => {
    const layout = layoutJson(source);
    expect(layout.ok).toBe(true);
    const lines = (layout as { lines: JsonLine[] }).lines;
    expect(prettyJson(lines)).toBe(
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

  it('matches JSON.stringify on ordinary documents', () => {
    const value = { list: [1, 2, [3, []], { k: 'v' }], s: 'a,b:c{d}[e]', n: -1.5e3, t: false };
    const layout = layoutJson(JSON.stringify(value));
    expect(layout.ok && prettyJson(layout.lines)).toBe(JSON.stringify(value, null, 2));
    const scalar = layoutJson(' "just a string" ');
    expect(scalar.ok && prettyJson(scalar.lines)).toBe('"just a string"');
  });

  it('knows where each container ends and how many members it has, for folding', () => {
    const layout = layoutJson(source);
    if (!layout.ok) throw new Error(layout.error);
    const { lines } = layout;
    expect(lines[0]).toMatchObject({ value: '{', end: 12, count: 5 });
    expect(lines[2]).toMatchObject({ key: '"b"', value: '[', end: 8, count: 3 });
    expect(foldedSummary(lines[2]!)).toBe('[…] 3 items');
    expect(foldedSummary(lines[5]!)).toBe('{…} 1 key');
    const shown = visibleJsonLines(lines, new Set([2]));
    expect(shown).toEqual([0, 1, 2, 9, 10, 11, 12]);
    expect(visibleJsonLines(lines, new Set([0]))).toEqual([0]);
    expect(jsonLineText(lines[1]!)).toBe('  "a": 1.0,');
  });

  it('says why invalid JSON is not JSON', () => {
    const layout = layoutJson('{"a": }');
    expect(layout.ok).toBe(false);
    expect(!layout.ok && layout.error).toMatch(/^not valid JSON: /);
  });

  it('lays out a few megabytes quickly', () => {
    const big = JSON.stringify(
      Array.from({ length: 40_000 }, (_, i) => ({ id: i, name: `item ${i}`, tags: ['a', 'b'] })),
    );
    const started = performance.now();
    const layout = layoutJson(big);
    expect(layout.ok).toBe(true);
    expect(performance.now() - started).toBeLessThan(2000);
  });
});

describe('prettyJsonSteps', () => {
  const run = (text: string, validate = true) => {
    const steps = prettyJsonSteps(text, validate);
    for (;;) {
      const step = steps.next();
      if (step.done) return step.value;
    }
  };
  const cases = [
    '{"a":1.0,"b":[true,null,{"c":"x\\"y"}],"e":{},"big":12345678901234567890,"a":2}',
    JSON.stringify({ list: [1, 2, [3, []], { k: 'v' }], s: 'a,b:c{d}[e]', n: -1.5e3, t: false }),
    ' "just a string" ',
    '[ { "é": "😀" } , [ ] , { } ]',
    JSON.stringify(Array.from({ length: 3000 }, (_, i) => ({ id: i, s: `v${i}`, l: [i] }))),
  ];

  it('gives the same lines, ends and counts as layoutJson, as typed arrays', () => {
    for (const source of cases) {
      const layout = layoutJson(source);
      const pretty = run(source);
      if (!layout.ok || !pretty.ok) throw new Error(`not laid out: ${source}`);
      const text = new TextDecoder('utf-16le').decode(pretty.chars);
      expect(text).toBe(prettyJson(layout.lines));
      const lines: string[] = [];
      for (let i = 0; i < pretty.bounds.length; i += 2) {
        lines.push(text.slice(pretty.bounds[i], pretty.bounds[i + 1]));
      }
      expect(lines).toEqual(layout.lines.map(jsonLineText));
      expect(Array.from(pretty.end)).toEqual(layout.lines.map((l) => l.end ?? -1));
      expect(Array.from(pretty.count)).toEqual(layout.lines.map((l) => l.count ?? 0));
    }
  });

  it('refuses what layoutJson refuses, with or without the parser', () => {
    for (const bad of ['{"a": }', '[1, 2', '{"a": [1}', '']) {
      expect(run(bad).ok).toBe(false);
    }
    expect(run('[1, 2', false)).toEqual({
      ok: false,
      error: 'not valid JSON: it ends before its brackets close',
    });
    expect(run('{"a": [1}', false)).toMatchObject({ ok: false, error: /unexpected '}'/ });
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

describe('layoutJsonSteps without the runtime parser', () => {
  const run = (text: string) => {
    const steps = layoutJsonSteps(text, false);
    let yields = 0;
    for (;;) {
      const step = steps.next();
      if (step.done) return { layout: step.value, yields };
      yields++;
    }
  };

  it('yields on the way through a large document and lays it out the same', () => {
    const big = JSON.stringify(Array.from({ length: 20_000 }, (_, i) => ({ i })));
    const { layout, yields } = run(big);
    expect(yields).toBeGreaterThan(3);
    expect(layout.ok && prettyJson(layout.lines)).toBe(JSON.stringify(JSON.parse(big), null, 2));
  });

  it.each(['{"a":[1}', '[1,2', ']', ''])('catches brackets that do not pair up: %j', (text) => {
    expect(run(text).layout.ok).toBe(false);
  });
});
