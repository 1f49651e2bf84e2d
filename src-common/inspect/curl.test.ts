import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HeaderPair } from '../flow';
import { shellQuote, toCurl } from './curl';

interface Received {
  method: string;
  url: string;
  headers: string[];
  body: Buffer;
}

let server: http.Server;
let port: number;
let last: Received | undefined;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'loupe-curl-'));
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      last = {
        method: req.method!,
        url: req.url!,
        headers: req.rawHeaders,
        body: Buffer.concat(chunks),
      };
      res.end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
});

/** Runs a command line with a POSIX shell (dash where /bin/sh is dash), in `dir`. */
function sh(command: string): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile('/bin/sh', ['-c', command], { cwd: dir }, (err, out, errOut) =>
      err ? reject(new Error(`${err.message}\n${errOut}`)) : resolve(out),
    ),
  );
}

/** Header pairs as received, in order, without the ones curl adds for the connection. */
function pairs(raw: string[]): HeaderPair[] {
  const out: HeaderPair[] = [];
  for (let i = 0; i < raw.length; i += 2) out.push([raw[i]!, raw[i + 1]!]);
  return out.filter(([n]) => !/^(host|content-length)$/i.test(n));
}

describe('shellQuote', () => {
  it.each([
    ['plain', 'plain'],
    ['a b', "'a b'"],
    ["it's", "'it'\\''s'"],
    ['$(id)', "'$(id)'"],
    ['', "''"],
  ])('%j → %s', (word, quoted) => expect(shellQuote(word)).toBe(quoted));
});

describe('toCurl, run by a real shell and curl', () => {
  const hostile = [
    `"double" 'single' \`touch pwned-backtick\` $(touch pwned-subst) $HOME \\ ; | & > x`,
    "it's; touch pwned-semicolon",
  ];

  it.each([
    ['GET without a body', 'GET', '/plain?q=1&b=%20', undefined],
    ['POST with JSON', 'POST', '/items', Buffer.from('{"name":"it\'s $(id)"}')],
    ['PUT with text starting with @ and -', 'PUT', '/x', Buffer.from('@/etc/passwd -d x')],
    ['PATCH with binary and NUL', 'PATCH', '/bin', Buffer.from([0, 1, 2, 0x25, 0x5c, 255, 10, 39])],
    ['DELETE without a body', 'DELETE', '/gone/[1]/{a}', undefined],
    ['GET with a body', 'GET', '/search', Buffer.from('q=1')],
    ['POST binary starting with -', 'POST', '/dash', Buffer.from([0x2d, 0x6e, 0, 0x0a])],
  ])('repeats %s', async (_what, method, path, body) => {
    const headers: HeaderPair[] = [
      ['X-Hostile', hostile[0]!],
      ['x-lower-Case', hostile[1]!],
      ['X-Empty', ''],
      ['User-Agent', 'Loupe-Test/1'],
      ['Content-Length', '999'],
    ];
    if (body) headers.push(['Content-Type', 'application/octet-stream']);
    const url = `http://127.0.0.1:${port}${path}`;
    last = undefined;
    await sh(`${toCurl({ method, url, headers, body })} -sS -o /dev/null`);
    expect(last).toBeDefined();
    expect(last!.method).toBe(method);
    expect(last!.url).toBe(path);
    const got = pairs(last!.headers);
    expect(got).toEqual(expect.arrayContaining(headers.filter(([n]) => n !== 'Content-Length')));
    expect(got.map(([n]) => n.toLowerCase())).not.toContain('accept');
    expect(last!.body).toEqual(body ?? Buffer.alloc(0));
    for (const file of ['pwned-backtick', 'pwned-subst', 'pwned-semicolon', 'x']) {
      expect(existsSync(join(dir, file))).toBe(false);
    }
  });

  it('sends no Content-Type the request did not have', async () => {
    const url = `http://127.0.0.1:${port}/nt`;
    await sh(`${toCurl({ method: 'POST', url, headers: [], body: Buffer.from('a=1') })} -sS`);
    expect(pairs(last!.headers).map(([n]) => n.toLowerCase())).toEqual([]);
  });

  it('turns a line break in a header value into a space instead of a second header', async () => {
    const url = `http://127.0.0.1:${port}/nl`;
    const headers: HeaderPair[] = [['X-A', 'one\r\nX-Injected: yes']];
    await sh(`${toCurl({ method: 'GET', url, headers })} -sS`);
    expect(pairs(last!.headers)).toEqual([['X-A', 'one X-Injected: yes']]);
  });

  it('leaves out HTTP/2 pseudo-headers and hop-by-hop headers', () => {
    const command = toCurl({
      method: 'GET',
      url: 'https://example.test/',
      headers: [
        [':authority', 'example.test'],
        ['connection', 'keep-alive'],
        ['accept', '*/*'],
      ],
    });
    expect(command).not.toMatch(/authority|keep-alive/);
    expect(command).toContain("-H 'accept: */*'");
  });
});
