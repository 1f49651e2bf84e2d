import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  makeBody,
  makeFlow,
  makeRequest,
  makeResponse,
  makeTunnel,
} from '../../src-main/test-support/factories';
import { validateHar } from '../../src-main/test-support/har-schema';
import type { HeaderPair } from '../flow';
import { toHarEntry, toHarLog } from './export';
import type { HarEntry } from './types';

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

/** Validates one entry inside a log, so every test also checks it against the HAR 1.2 schema. */
function valid(entry: HarEntry): HarEntry {
  expect(validateHar(toHarLog([entry], { name: 'Loupe', version: '0.0.0' }))).toEqual([]);
  return entry;
}

describe('toHarEntry: an HTTP exchange', () => {
  const headers: HeaderPair[] = [
    ['Host', 'api.example.test'],
    ['Cookie', 'sid=1; theme=dark'],
  ];
  const flow = makeFlow({
    request: makeRequest({ headers }),
    response: makeResponse({
      headers: [
        ['Content-Type', 'application/json'],
        ['Set-Cookie', 'sid=2; Path=/; Domain=example.test; HttpOnly; Secure'],
        ['set-cookie', 'lang=en; Expires=Wed, 21 Oct 2026 07:28:00 GMT'],
        ['Set-Cookie', 'seen=1; Expires=Wed, 21 Oct 2026 07:28:00 GMT; Max-Age=60'],
        ['Location', '/next'],
      ],
      body: makeBody({ size: 2, captured: 2, bodyId: 'r' }),
    }),
    server: { host: 'api.example.test', port: 80, address: '[2001:db8::1]' },
    timings: { blocked: 0.1, dns: 1, connect: 30, ssl: 20, send: 0.2, wait: 5, receive: 0.5 },
  });
  const entry = valid(toHarEntry(flow, { response: { bytes: utf8('{}') } }));

  it('keeps versions, start time, headers in order, URL and query', () => {
    expect(entry.startedDateTime).toBe('2026-11-24T12:00:00.123Z');
    expect(entry.request).toMatchObject({
      method: 'GET',
      url: 'http://api.example.test/items?page=2&q=a%20b',
      httpVersion: 'HTTP/1.1',
      queryString: [
        { name: 'page', value: '2' },
        { name: 'q', value: 'a b' },
      ],
      bodySize: 0,
    });
    expect(entry.request.headers).toEqual(headers.map(([name, value]) => ({ name, value })));
    expect(entry.response).toMatchObject({ status: 200, httpVersion: 'HTTP/1.1' });
    expect(entry.response.redirectURL).toBe('/next');
    expect(entry.request.postData).toBeUndefined();
    expect(entry._loupeKind).toBe('http');
    expect(entry._loupeId).toBe(flow.id);
  });

  it('writes timings with ssl inside connect, and time as the sum of the phases', () => {
    expect(entry.timings).toEqual({
      blocked: 0.1,
      dns: 1,
      connect: 30,
      ssl: 20,
      send: 0.2,
      wait: 5,
      receive: 0.5,
    });
    expect(entry.time).toBe(36.8);
  });

  it('counts HTTP/1.x head bytes from the start line, header lines and blank line', () => {
    expect(entry.request.headersSize).toBe(
      [
        'GET /items?page=2&q=a%20b HTTP/1.1\r\n',
        'Host: api.example.test\r\n',
        'Cookie: sid=1; theme=dark\r\n',
        '\r\n',
      ].join('').length,
    );
    const res = flow.response!;
    const head = `HTTP/1.1 200 OK\r\n${res.headers.map(([n, v]) => `${n}: ${v}\r\n`).join('')}\r\n`;
    expect(entry.response.headersSize).toBe(head.length);
  });

  it('parses request and response cookies', () => {
    expect(entry.request.cookies).toEqual([
      { name: 'sid', value: '1' },
      { name: 'theme', value: 'dark' },
    ]);
    expect(entry.response.cookies).toEqual([
      { name: 'sid', value: '2', path: '/', domain: 'example.test', httpOnly: true, secure: true },
      { name: 'lang', value: 'en', expires: '2026-10-21T07:28:00.000Z' },
      // Max-Age wins over Expires and counts from the exchange.
      { name: 'seen', value: '1', expires: '2026-11-24T12:01:00.123Z' },
    ]);
  });

  it('names the server by plain IP and the upstream connection', () => {
    expect(entry.serverIPAddress).toBe('2001:db8::1');
    expect(entry.connection).toBe('u1');
    const mapped = toHarEntry(
      makeFlow({ server: { host: 'h', port: 1, address: '::ffff:10.0.0.7' } }),
    );
    expect(mapped.serverIPAddress).toBe('10.0.0.7');
    expect(
      toHarEntry(makeFlow({ server: { host: 'h', port: 1 } })).serverIPAddress,
    ).toBeUndefined();
  });

  it('gives HTTP/2 heads no size, as they have none on the wire', () => {
    const h2 = makeFlow({
      request: makeRequest({ httpVersion: 'HTTP/2' }),
      response: makeResponse({ httpVersion: 'HTTP/2' }),
    });
    const e = valid(toHarEntry(h2));
    expect([e.request.headersSize, e.response.headersSize]).toEqual([-1, -1]);
    expect(e.request.httpVersion).toBe('HTTP/2');
  });
});

describe('toHarEntry: bodies', () => {
  it('writes a form POST with its fields', () => {
    const body = 'name=Ada+Lovelace&lang=en&lang=fr&note=50%25';
    const flow = makeFlow({
      request: makeRequest({
        method: 'POST',
        headers: [['Content-Type', 'application/x-www-form-urlencoded; charset=UTF-8']],
        body: makeBody({ size: body.length, captured: body.length, bodyId: 'q' }),
      }),
    });
    const entry = valid(toHarEntry(flow, { request: { bytes: utf8(body) } }));
    expect(entry.request.bodySize).toBe(body.length);
    expect(entry.request.postData).toEqual({
      mimeType: 'application/x-www-form-urlencoded; charset=UTF-8',
      text: body,
      params: [
        { name: 'name', value: 'Ada Lovelace' },
        { name: 'lang', value: 'en' },
        { name: 'lang', value: 'fr' },
        { name: 'note', value: '50%' },
      ],
    });
  });

  it('writes a binary body as base64, in slices that a large body cannot overflow', () => {
    const png = new Uint8Array(randomBytes(3 << 20));
    const flow = makeFlow({
      request: makeRequest({
        method: 'PUT',
        headers: [['Content-Type', 'application/octet-stream']],
        body: makeBody({ size: 4, captured: 4, bodyId: 'q' }),
      }),
      response: makeResponse({
        headers: [['Content-Type', 'image/png']],
        body: makeBody({ size: png.length, captured: png.length, bodyId: 'r' }),
      }),
    });
    const entry = valid(
      toHarEntry(flow, {
        request: { bytes: new Uint8Array([0, 0xff, 0xfe, 0x80]) },
        response: { bytes: png },
      }),
    );
    expect(entry.request.postData).toEqual({
      mimeType: 'application/octet-stream',
      text: 'AP/+gA==',
      encoding: 'base64',
    });
    expect(entry.response.content).toMatchObject({ size: png.length, mimeType: 'image/png' });
    expect(entry.response.content.encoding).toBe('base64');
    expect(Buffer.from(entry.response.content.text!, 'base64').equals(png)).toBe(true);
  });

  it('gives a decoded body its decoded size and the bytes compression saved', () => {
    const text = 'hello '.repeat(100);
    const flow = makeFlow({
      response: makeResponse({
        headers: [
          ['Content-Type', 'text/plain'],
          ['Content-Encoding', 'gzip'],
        ],
        body: makeBody({ size: 40, captured: 40, bodyId: 'r' }),
      }),
    });
    const entry = valid(toHarEntry(flow, { response: { bytes: utf8(text), decoded: true } }));
    expect(entry.response.content).toEqual({
      size: text.length,
      compression: text.length - 40,
      mimeType: 'text/plain',
      text,
    });
    expect(entry.response.bodySize).toBe(40);
  });

  it('uses the decoded size the flow knows when the body could not be decoded here', () => {
    const flow = makeFlow({
      response: makeResponse({
        headers: [['Content-Encoding', 'br']],
        body: makeBody({ size: 40, captured: 40, bodyId: 'r', decodedSize: 900 }),
      }),
    });
    const note = 'It is written as sent (br) because it is broken.';
    const entry = valid(toHarEntry(flow, { response: { bytes: new Uint8Array([0xff]), note } }));
    expect(entry.response.content).toMatchObject({ size: 900, compression: 860, comment: note });
  });

  it('marks a truncated body, keeping the full size', () => {
    const flow = makeFlow({
      request: makeRequest({
        method: 'POST',
        headers: [['Content-Type', 'text/plain']],
        body: makeBody({ size: 5000, captured: 1000, truncated: true, bodyId: 'q' }),
      }),
      response: makeResponse({
        headers: [['Content-Type', 'text/plain']],
        body: makeBody({ size: 9000, captured: 1000, truncated: true, bodyId: 'r' }),
      }),
    });
    const kept = utf8('a'.repeat(1000));
    const entry = valid(toHarEntry(flow, { request: { bytes: kept }, response: { bytes: kept } }));
    expect(entry.response.content).toMatchObject({ size: 9000, _truncated: true });
    expect(entry.response.content.comment).toContain('first 1000 of 9000 bytes');
    expect(entry.response.bodySize).toBe(9000);
    expect(entry.request.postData).toMatchObject({ _truncated: true, text: 'a'.repeat(1000) });
    expect(entry.request.postData!.comment).toContain('first 1000 of 5000 bytes');
  });
});

describe('toHarEntry: failures and tunnels', () => {
  it('writes a failed exchange with status 0, the error, and only the phases that happened', () => {
    const flow = makeFlow({
      state: 'error',
      response: undefined,
      error: { code: 'connection_refused', message: 'The server refused.', phase: 'connect' },
      timings: { blocked: -1, dns: 1.5, connect: -1, ssl: -1, send: -1, wait: -1, receive: -1 },
      connection: { clientConnectionId: 'c1', reused: false },
    });
    const entry = valid(toHarEntry(flow));
    expect(entry.response).toMatchObject({ status: 0, bodySize: -1, headersSize: -1 });
    expect(entry.timings).toEqual({
      blocked: -1,
      dns: 1.5,
      connect: -1,
      ssl: -1,
      send: 0,
      wait: 0,
      receive: 0,
    });
    expect(entry.time).toBe(1.5);
    expect(entry._error).toEqual({ code: 'connection_refused', message: 'The server refused.' });
    expect(entry.comment).toBe('The server refused.');
    expect(entry.connection).toBeUndefined();
  });

  it('gives a request refused before it had a URL a placeholder, keeping the raw target', () => {
    const flow = makeFlow({
      request: makeRequest({ method: '-', url: 'not a url', headers: [] }),
      response: undefined,
      state: 'error',
      error: { code: 'bad_request', message: 'bare LF', phase: 'request' },
    });
    const entry = valid(toHarEntry(flow));
    expect(entry.request).toMatchObject({ url: 'about:blank', _url: 'not a url', headersSize: -1 });
  });

  it('escapes a URL that is not a valid URI as it stands', () => {
    const flow = makeFlow({ request: makeRequest({ url: 'http://h.test/a b?q=é' }) });
    expect(valid(toHarEntry(flow)).request.url).toBe('http://h.test/a%20b?q=%C3%A9');
  });

  it('says when an exchange was still in progress', () => {
    const entry = valid(toHarEntry(makeFlow({ state: 'pending', response: undefined })));
    expect(entry.comment).toMatch(/still in progress/);
  });

  it('writes a tunnel as its CONNECT, with the bytes relayed', () => {
    const entry = valid(toHarEntry(makeTunnel({ tags: ['bypassed'] })));
    expect(entry).toMatchObject({
      time: 250,
      serverIPAddress: '127.0.0.1',
      _loupeKind: 'tunnel',
      _tunnel: {
        protocol: 'tls',
        bytesUp: 517,
        bytesDown: 4096,
        reason: 'TLS relayed without decryption.',
      },
      _tags: ['bypassed'],
    });
    expect(entry.request).toMatchObject({
      method: 'CONNECT',
      url: 'https://secure.example.test:443/',
      bodySize: 517,
    });
    expect(entry.response).toMatchObject({ status: 200, bodySize: 4096 });
    expect(entry.timings.receive).toBe(250);

    const v6 = toHarEntry(
      makeTunnel({ protocol: 'unknown', target: { host: '::1', port: 8080, address: '::1' } }),
    );
    expect(v6.request.url).toBe('tcp://[::1]:8080/');
  });

  it('writes a tunnel that never opened with status 0 and its error', () => {
    const entry = valid(
      toHarEntry(
        makeTunnel({
          state: 'error',
          bytesUp: 0,
          bytesDown: 0,
          error: { code: 'dns_failed', message: 'No such host.', phase: 'connect' },
        }),
      ),
    );
    expect(entry.response.status).toBe(0);
    expect(entry._error).toEqual({ code: 'dns_failed', message: 'No such host.' });
  });
});

describe('toHarLog', () => {
  it('makes a HAR 1.2 log without pages', () => {
    const log = toHarLog([toHarEntry(makeFlow())], { name: 'Loupe', version: '1.2.3' });
    expect(validateHar(log)).toEqual([]);
    expect(log.log.version).toBe('1.2');
    expect(log.log.creator).toEqual({ name: 'Loupe', version: '1.2.3' });
    expect('pages' in log.log).toBe(false);
    expect(log.log.entries[0]!.request.url).toBe('http://api.example.test/items?page=2&q=a%20b');
  });
});

describe('toHarEntry: TLS', () => {
  it('writes both TLS legs of a decrypted exchange and a tunnel’s ClientHello', () => {
    const tls = {
      client: { version: 'TLSv1.3', cipher: 'TLS_AES_128_GCM_SHA256', alpn: 'h2', sni: 'a.test' },
      upstream: {
        version: 'TLSv1.2',
        alpn: 'http/1.1',
        verified: true,
        chain: [
          {
            subject: 'CN=a.test',
            issuer: 'CN=Test CA',
            validFrom: '2026-01-01T00:00:00.000Z',
            validTo: '2027-01-01T00:00:00.000Z',
            san: ['a.test'],
            fingerprint256: 'AA:BB',
          },
        ],
      },
    };
    const entry = toHarEntry(makeFlow({ tls }));
    expect(entry._tls).toEqual(tls);
    const hello = { sni: 'bank.test', alpn: ['h2', 'http/1.1'], versions: ['TLSv1.3'] };
    const tunnel = toHarEntry(makeTunnel({ protocol: 'tls', hello }));
    expect(tunnel._clientHello).toEqual(hello);
    expect(validateHar(toHarLog([entry, tunnel], { name: 'Loupe', version: '0' }))).toEqual([]);
  });
});
