import { describe, expect, it } from 'vitest';
import {
  docSlice,
  formatNow,
  formatSteps,
  type FormatResult,
  type JsonResult,
} from './format-jobs';

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const lines = (r: FormatResult): string[] => {
  const out: string[] = [];
  for (let i = 0; i < r.bounds.length; i += 2)
    out.push(docSlice(r.text, r.bounds[i]!, r.bounds[i + 1]!));
  return out;
};

describe('formatting jobs', () => {
  it('lays JSON out as pretty lines with where each container ends', () => {
    const r = formatNow({ id: 1, kind: 'json', bytes: bytes('{"a":[1,2],"b":{}}'), cut: false });
    expect(r.kind).toBe('json');
    expect(lines(r)).toEqual(['{', '  "a": [', '    1,', '    2', '  ],', '  "b": {}', '}']);
    const j = r as JsonResult;
    expect(Array.from(j.end)).toEqual([6, 4, -1, -1, -1, -1, -1]);
    expect(j.count[0]).toBe(2);
    expect(j.count[1]).toBe(2);
  });

  it('shows a part of a JSON body as text, saying why', () => {
    const r = formatNow({ id: 1, kind: 'json', bytes: bytes('[1,2,'), cut: true });
    expect(r).toMatchObject({ kind: 'text', note: expect.stringMatching(/load all/i) });
  });

  it('shows invalid JSON as text with the parser’s words', () => {
    const r = formatNow({ id: 1, kind: 'json', bytes: bytes('{"a":}'), cut: false });
    expect(r).toMatchObject({ kind: 'text', note: expect.stringMatching(/^Not valid JSON: /) });
    expect(lines(r)).toEqual(['{"a":}']);
  });

  it('decodes text by its charset, else UTF-8, else windows-1252 and says so', () => {
    const latin = new Uint8Array([0x63, 0x61, 0x66, 0xe9, 0x0a, 0x78]);
    expect(formatNow({ id: 1, kind: 'text', bytes: latin, cut: false })).toMatchObject({
      text: 'café\nx',
      fallback: true,
      encoding: 'windows-1252',
    });
    const r = formatNow({ id: 1, kind: 'text', bytes: latin, charset: 'iso-8859-1', cut: false });
    expect(r).toMatchObject({ fallback: false });
    expect(lines(r)).toEqual(['café', 'x']);
  });

  it('gives the event loop turns on a large body when run in steps without the parser', () => {
    const big = JSON.stringify(Array.from({ length: 50_000 }, (_, i) => ({ i, s: `v${i}` })));
    const steps = formatSteps({ id: 1, kind: 'json', bytes: bytes(big), cut: false }, false);
    let yields = 0;
    let step = steps.next();
    while (!step.done) {
      yields++;
      step = steps.next();
    }
    expect(yields).toBeGreaterThan(5);
    expect(step.value.kind).toBe('json');
    const text = step.value.text;
    expect(docSlice(text, 0, text.length)).toBe(JSON.stringify(JSON.parse(big), null, 2));
  });
});
