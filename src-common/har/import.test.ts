import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Flow, HttpFlow, TunnelFlow } from '../flow';
import { harFixture, type HarFixture } from '../../src-main/test-support/har-fixtures';
import { importHar, type HarImport } from './import';
import { jsonSyntaxError } from './json-error';

/** A fixture's text, read only from inside the repository. */
const fixture = (name: HarFixture): string => readFileSync(harFixture(name), 'utf8');

function read(text: string, idPrefix = 'har1.'): HarImport {
  const result = importHar(text, { idPrefix });
  if (!result.ok) throw new Error(`expected the file to be read: ${result.error}`);
  return result.value;
}

const http = (flow: Flow | undefined): HttpFlow => {
  if (flow?.kind !== 'http') throw new Error(`expected an HTTP flow, got ${flow?.kind}`);
  return flow;
};

const text = (bytes: Uint8Array | undefined): string => new TextDecoder().decode(bytes);

/** A HAR document around `entries`, as text. */
const har = (entries: unknown[], extra: object = {}): string =>
  JSON.stringify({
    log: { version: '1.2', creator: { name: 'Test', version: '1' }, entries, ...extra },
  });

/** A valid entry, overridable field by field. */
function entry(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    startedDateTime: '2026-11-24T12:00:00.123Z',
    time: 3,
    request: {
      method: 'GET',
      url: 'https://example.test/a?b=1',
      httpVersion: 'HTTP/1.1',
      cookies: [],
      headers: [{ name: 'Host', value: 'example.test' }],
      queryString: [],
      headersSize: -1,
      bodySize: 0,
    },
    response: {
      status: 200,
      statusText: 'OK',
      httpVersion: 'HTTP/1.1',
      cookies: [],
      headers: [{ name: 'Content-Type', value: 'text/plain' }],
      content: { size: 2, mimeType: 'text/plain', text: 'hi' },
      redirectURL: '',
      headersSize: -1,
      bodySize: 2,
    },
    cache: {},
    timings: { send: 1, wait: 1, receive: 1 },
    ...overrides,
  };
}

describe('importHar: the fixtures (each deviates as the tool that wrote it does)', () => {
  it('charles.har: 1 flow; a null redirectURL read as empty', () => {
    const { flows, bodies, repairs, skipped, creator } = read(fixture('charles'));
    expect(repairs).toEqual(['1 entry had a null redirectURL; read as empty.']);
    expect([flows.length, skipped, creator]).toEqual([1, 0, 'Charles Proxy 4.6.3']);
    const flow = http(flows[0]);
    expect(flow).toMatchObject({
      id: 'har1.1',
      seq: 1,
      state: 'complete',
      startedAt: Date.parse('2023-03-30T00:37:42.482Z'),
      server: { host: 'mitmproxy.org', port: 443, address: '13.35.121.50' },
      // HAR's connect includes ssl, and so does the flow's; blocked is absent: -1.
      timings: { blocked: -1, dns: 43, connect: 37, ssl: 26, send: 1, wait: 24, receive: 2 },
    });
    expect(flow.request.headers).toEqual([
      ['Host', 'mitmproxy.org'],
      ['User-Agent', 'Charles/4.6.3'],
    ]);
    expect(flow.response!.body).toEqual({
      size: 23866,
      captured: 23866,
      truncated: false,
      bodyId: 'har1.1:res',
      contentDecoded: true,
    });
    expect(text(bodies.get('har1.1:res'))).toMatch(/^<!DOCTYPE html>/);
  });

  it('chrome.har: 3 flows; an empty serverIPAddress read as not known', () => {
    const { flows, bodies, repairs, creator } = read(fixture('chrome'));
    expect(repairs).toEqual(['1 entry had an empty serverIPAddress; read as not known.']);
    expect([flows.length, creator]).toEqual([3, 'WebInspector 537.36']);
    const [doc, failed, logo] = flows.map(http);
    // HTTP/2 pseudo-headers stay as the file has them, first and in order.
    expect(doc!.request.headers.slice(0, 4).map(([n]) => n)).toEqual([
      ':authority',
      ':method',
      ':path',
      ':scheme',
    ]);
    expect([doc!.request.httpVersion, logo!.response!.httpVersion]).toEqual(['HTTP/2', 'HTTP/3']);
    // A 304 served from cache: no bytes on the wire, the cached body in the file.
    expect(doc!.response!.body).toMatchObject({ size: 0, captured: 23866 });
    expect(text(bodies.get('har1.1:res'))).toMatch(/^<!DOCTYPE html>/);
    expect(failed).toMatchObject({
      state: 'error',
      error: {
        code: 'connection_failed',
        message: 'The browser that wrote this file reported net::ERR_INTERNET_DISCONNECTED.',
      },
      request: { httpVersion: '' },
    });
    expect(failed!.response).toBeUndefined();
    expect(failed!.server).toEqual({ host: 'www.google.com', port: 443 });
    // base64 content comes back as the image's bytes.
    expect([...bodies.get('har1.3:res')!.subarray(0, 4)]).toEqual([0x89, 0x50, 0x4e, 0x47]);
    expect(logo!.timings.blocked).toBe(6.35);
  });

  it('firefox.har: 14 flows; cache fields, missing sizes and missing timings repaired', () => {
    const { flows, repairs, creator } = read(fixture('firefox'));
    expect(repairs).toEqual([
      '4 entries had cache fields missing or typed unlike HAR 1.2; Loupe does not use them.',
      '5 entries had body sizes missing or not numbers; read from the body text where there is one.',
      '5 entries had send, wait or receive timings missing or negative; read as 0.',
    ]);
    expect([flows.length, creator]).toEqual([14, 'Firefox 111.0.1']);
    const cached = http(flows[1]);
    expect(cached.timings).toEqual({
      blocked: -1,
      dns: -1,
      connect: -1,
      ssl: -1,
      send: 0,
      wait: 0,
      receive: 0,
    });
    expect(cached.response!.body).toEqual({ size: 0, captured: 0, truncated: false });
    // Firefox writes the port as the connection id: reuse is told per server.
    const conns = flows.map(http).map((f) => [f.server?.host, f.connection.reused]);
    expect(conns[9]).toEqual(['mitmproxy.org', true]);
    expect(conns[11]).toEqual(['s3-us-west-2.amazonaws.com', false]);
  });

  it('safari.har: 19 flows, nothing to repair', () => {
    const { flows, bodies, repairs, skipped } = read(fixture('safari'));
    expect([flows.length, skipped, repairs]).toEqual([19, 0, []]);
    expect(flows.map((f) => f.seq)).toEqual(Array.from({ length: 19 }, (_, i) => i + 1));
    expect(bodies.size).toBe(19);
    const first = http(flows[0]);
    expect(first.request.httpVersion).toBe('HTTP/2');
    // gzip on the wire (5150 bytes), decoded text in the file.
    expect(first.response!.body).toMatchObject({ size: 5150, decodedSize: 23866 });
  });

  it('insomnia.har: 1 flow, nothing to repair', () => {
    const { flows, bodies, repairs, creator } = read(fixture('insomnia'));
    expect([flows.length, repairs, creator]).toEqual([
      1,
      [],
      'Insomnia REST Client insomnia.desktop.app:v2022.1.1',
    ]);
    const flow = http(flows[0]);
    // postData with empty text and no params, bodySize -1: no body.
    expect(flow.request.body).toEqual({ size: 0, captured: 0, truncated: false });
    expect(flow.request.headers).toEqual([]);
    expect(text(bodies.get('har1.1:res'))).toContain('traffic is not passing through mitmproxy');
  });

  it('postdata.har: 1 POST with its body, nothing to repair', () => {
    const { flows, bodies, repairs } = read(fixture('postdata'));
    expect([flows.length, repairs]).toEqual([1, []]);
    const flow = http(flows[0]);
    const posted = JSON.parse(fixture('postdata')).log.entries[0].request.postData.text as string;
    expect(flow.request).toMatchObject({ method: 'POST', httpVersion: 'HTTP/2' });
    expect(flow.request.body).toEqual({
      size: 1310,
      captured: 1310,
      truncated: false,
      bodyId: 'har1.1:req',
      contentDecoded: true,
    });
    expect(text(bodies.get('har1.1:req'))).toBe(posted);
    expect(flow.request.headers[0]).toEqual([
      ':authority',
      'signal-metrics-collector-beta.s-onetag.com',
    ]);
    expect(flow.connection).toEqual({
      clientConnectionId: 'har1.1',
      upstreamConnectionId: '159834',
      reused: false,
    });
  });

  it('with-bom.har: the byte-order mark is the only repair; the flows are postdata.har’s', () => {
    const bom = read(fixture('with-bom'));
    expect(bom.repairs).toEqual([
      'The file starts with a UTF-8 byte-order mark, which JSON does not allow; read without it.',
    ]);
    expect(bom.flows).toEqual(read(fixture('postdata')).flows);
  });
});

describe('importHar: files it cannot read', () => {
  it('says where a text stops being JSON', () => {
    const broken = '{\n  "log": {\n    "entries": [1,]\n  }\n}';
    expect(importHar(broken, { idPrefix: 'x' })).toEqual({
      ok: false,
      error: "this file is not JSON (line 3, column 19: unexpected ']' where a value should be)",
    });
    expect(importHar('<html>', { idPrefix: 'x' })).toEqual({
      ok: false,
      error: "this file is not JSON (line 1, column 1: unexpected '<' where a value should be)",
    });
    expect(importHar('{"log": {"entries": [', { idPrefix: 'x' })).toMatchObject({
      error: 'this file is not JSON (line 1, column 22: the text ends where a value should be)',
    });
  });

  it('says so when a file is not text: gzip, ZIP, UTF-16', () => {
    // What readFile(path, 'utf8') makes of each.
    const asRead = (bytes: number[]) => Buffer.from(bytes).toString('utf8');
    const open = (bytes: number[]) => importHar(asRead(bytes), { idPrefix: 'x' });
    expect(open([0x1f, 0x8b, 8, 0, 0, 0])).toEqual({
      ok: false,
      error: 'this file is compressed (gzip); decompress it and open the .har inside',
    });
    expect(open([0x50, 0x4b, 3, 4, 20, 0])).toEqual({
      ok: false,
      error: 'this file is a ZIP archive; extract the .har inside',
    });
    const utf16 = [0xff, 0xfe, ...[...'{"log":{}}'].flatMap((c) => [c.charCodeAt(0), 0])];
    expect(open(utf16)).toEqual({
      ok: false,
      error: 'this file is not UTF-8 text (UTF-16?); save it as UTF-8 and open it again',
    });
  });

  it('refuses an empty file, JSON that is not a HAR, and a log without entries', () => {
    const no = { ok: false, error: 'this is not a HAR file: it has no log.entries list' };
    expect(importHar('', { idPrefix: 'x' })).toEqual({ ok: false, error: 'this file is empty' });
    expect(importHar('\uFEFF \n', { idPrefix: 'x' })).toEqual({
      ok: false,
      error: 'this file is empty',
    });
    expect(importHar('[]', { idPrefix: 'x' })).toEqual(no);
    expect(importHar('[{"log": {"entries": []}}]', { idPrefix: 'x' })).toEqual(no);
    expect(importHar('{"log": {"version": "1.2"}}', { idPrefix: 'x' })).toEqual(no);
    expect(importHar('{"log": {"entries": {}}}', { idPrefix: 'x' })).toEqual(no);
    expect(importHar('null', { idPrefix: 'x' })).toEqual(no);
  });

  it('refuses a file whose every entry is unreadable, saying why, rather than open it empty', () => {
    const result = importHar(har([1, entry({ request: { method: 'GET' } })]), { idPrefix: 'x' });
    expect(result).toEqual({
      ok: false,
      error:
        'none of its 2 entries could be read. 1 entry was not an object; skipped. ' +
        '1 entry had no request URL; skipped.',
    });
  });

  it('opens a HAR with no entries as an empty session', () => {
    expect(read(har([]))).toEqual({
      flows: [],
      bodies: new Map(),
      creator: 'Test 1',
      repairs: [],
      skipped: 0,
    });
  });
});

describe('importHar: repairs, counted per entry and told once per kind', () => {
  it('reads what other tools get wrong and says so', () => {
    const v6 = entry({ serverIPAddress: '[2001:db8::1]' });
    const v6port = entry({ serverIPAddress: '[::1]:8443' });
    const sizes = entry({
      response: { ...(entry().response as object), bodySize: '2', content: { text: 'hi' } },
    });
    const noHeaders = entry({
      request: { method: 'GET', url: 'http://h.test/', httpVersion: 'HTTP/1.1', bodySize: 0 },
    });
    const badDate = entry({ startedDateTime: 'yesterday' });
    const version = entry({
      request: { ...(entry().request as object), httpVersion: 'SPDY/3' },
    });
    const timings = entry({ timings: { send: -5, wait: '4', receive: -1, dns: 'soon' } });
    const noUrl = entry({ request: { method: 'GET', url: '' } });
    const base64 = entry({
      response: {
        ...(entry().response as object),
        content: { size: 3, mimeType: '', text: 'not base64!', encoding: 'base64' },
      },
    });
    const odd = entry({
      request: {
        ...(entry().request as object),
        headers: [{ name: 'X-N', value: 5 }, { name: 7, value: 'x' }, 'junk'],
      },
      response: { ...(entry().response as object), redirectURL: 42, status: '204' },
      cache: { afterRequest: { expires: 'never' } },
      serverIPAddress: 'example.test',
    });
    const result = read(
      har([v6, v6port, sizes, noHeaders, badDate, version, timings, noUrl, 'x', base64, odd]),
    );
    expect(result.repairs).toEqual([
      '2 entries had an IPv6 serverIPAddress in [brackets]; read without them.',
      '1 entry had body sizes missing or not numbers; read from the body text where there is one.',
      '1 entry had no headers list; read as no headers.',
      '1 entry had a missing or invalid startedDateTime; read as the start of the entry before it.',
      '1 entry had an HTTP version Loupe does not know ("SPDY/3"); kept as written.',
      '1 entry had timings that are not numbers; read as not known.',
      '1 entry had send, wait or receive timings missing or negative; read as 0.',
      '1 entry had no request URL; skipped.',
      '1 entry was not an object; skipped.',
      '1 entry had a body marked base64 that is not valid base64; read as text.',
      '1 entry had cache fields missing or typed unlike HAR 1.2; Loupe does not use them.',
      '1 entry had header values that were not text; read as text.',
      '1 entry had headers that were not name/value text; those headers were left out.',
      '1 entry had a missing or non-text redirectURL; read as empty.',
      '1 entry had a status that is not a number; read as 0.',
      '1 entry had a serverIPAddress that is not an IP address ("example.test"); left out.',
    ]);
    expect(result.skipped).toBe(2);
    const flows = result.flows.map(http);
    // Ids and seq count the flows read, in file order, skipped entries left out.
    expect(flows.map((f) => [f.id, f.seq])).toEqual(
      Array.from({ length: 9 }, (_, i) => [`har1.${i + 1}`, i + 1]),
    );
    expect(flows[0]!.server).toEqual({ host: 'example.test', port: 443, address: '2001:db8::1' });
    expect(flows[1]!.server!.address).toBe('::1');
    expect(flows[2]!.response!.body.size).toBe(2);
    expect(flows[4]!.startedAt).toBe(flows[3]!.startedAt);
    const first = read(har([entry({ startedDateTime: null }), entry()])).flows;
    expect(first[0]!.startedAt).toBe(Date.parse('2026-11-24T12:00:00.123Z'));
    expect(flows[5]!.request.httpVersion).toBe('SPDY/3');
    expect(flows[6]!.timings).toMatchObject({ dns: -1, send: 0, wait: 4, receive: 0 });
    // -1 alone, which the schema allows, is read as 0 without a repair.
    const minusOne = entry({ timings: { send: -1, wait: -1, receive: -1 } });
    expect(read(har([minusOne])).repairs).toEqual([]);
    expect(text(result.bodies.get('har1.8:res'))).toBe('not base64!');
    expect(flows[8]!.request.headers).toEqual([['X-N', '5']]);
    expect(flows[8]!.response!.status).toBe(204);
    expect(flows[8]!.server).toEqual({ host: 'example.test', port: 443 });
  });

  it('counts each kind once per entry, however often it occurs inside one', () => {
    const bad = [1, 2, 3].map(() => 'x');
    const twice = entry({
      request: { ...(entry().request as object), headers: bad },
      response: { ...(entry().response as object), headers: bad },
    });
    expect(read(har([twice, twice])).repairs).toEqual([
      '2 entries had headers that were not name/value text; those headers were left out.',
    ]);
  });

  it('reads Chrome’s and other browsers’ spellings of HTTP versions without a repair', () => {
    const versions = ['http/2.0', 'h2', 'h3', 'HTTP/3', 'http/1.1', 'HTTP/1.0', ''];
    const entries = versions.map((v) =>
      entry({ request: { ...(entry().request as object), httpVersion: v } }),
    );
    const { flows, repairs } = read(har(entries));
    expect(repairs).toEqual([]);
    expect(flows.map((f) => http(f).request.httpVersion)).toEqual([
      'HTTP/2',
      'HTTP/2',
      'HTTP/3',
      'HTTP/3',
      'HTTP/1.1',
      'HTTP/1.0',
      '',
    ]);
  });
});

describe('importHar: bodies', () => {
  const post = (postData: unknown, bodySize: unknown = -1, headers: unknown[] = []) =>
    entry({
      request: {
        method: 'POST',
        url: 'http://h.test/form',
        httpVersion: 'HTTP/1.1',
        headers,
        bodySize,
        postData,
      },
    });

  it('reads postData text, base64, and params alone as a form body', () => {
    const { flows, bodies, repairs } = read(
      har([
        post({ mimeType: 'text/plain', text: 'héllo' }, 6),
        post({ mimeType: 'application/octet-stream', text: 'AP/+gA==', encoding: 'base64' }, 4),
        post({
          mimeType: 'application/x-www-form-urlencoded',
          params: [
            { name: 'name', value: 'Ada Lovelace' },
            { name: 'note', value: '50%&more' },
          ],
        }),
      ]),
    );
    expect(repairs).toEqual([]);
    expect([...bodies.get('har1.1:req')!]).toEqual([...new TextEncoder().encode('héllo')]);
    expect([...bodies.get('har1.2:req')!]).toEqual([0, 0xff, 0xfe, 0x80]);
    expect(text(bodies.get('har1.3:req'))).toBe('name=Ada+Lovelace&note=50%25%26more');
    // bodySize -1 (unknown): the size is the bytes the file holds.
    expect(http(flows[2]).request.body).toMatchObject({ size: 35, captured: 35 });
  });

  it('keeps the full size of a body Loupe cut short (_truncated)', () => {
    const cut = (content: object) =>
      entry({
        response: {
          ...(entry().response as object),
          headers: [{ name: 'Content-Encoding', value: 'gzip' }],
          content: { mimeType: 'text/plain', text: 'a'.repeat(1000), _truncated: true, ...content },
          bodySize: 3000,
        },
      });
    const { flows } = read(har([cut({ size: 9000, compression: 6000 }), cut({ size: 3000 })]));
    expect(http(flows[0]).response!.body).toEqual({
      size: 3000,
      captured: 1000,
      truncated: true,
      decodedSize: 9000,
      bodyId: 'har1.1:res',
      contentDecoded: true,
    });
    // Without `compression`, content.size of a cut body says nothing of its decoded size.
    expect(http(flows[1]).response!.body.decodedSize).toBeUndefined();
  });

  it('reads a body Loupe could not decode, and wrote as sent, as the wire bytes it is', () => {
    const asSent = entry({
      _loupeKind: 'http',
      response: {
        ...(entry().response as object),
        headers: [{ name: 'Content-Encoding', value: 'gzip' }],
        content: {
          size: 5,
          mimeType: '',
          text: 'H4sBAgM=',
          encoding: 'base64',
          comment: 'It is written as sent (gzip) because the body is not valid gzip data.',
        },
        bodySize: 5,
      },
    });
    const { flows, bodies } = read(har([asSent]));
    expect(http(flows[0]).response!.body).toEqual({
      size: 5,
      captured: 5,
      truncated: false,
      bodyId: 'har1.1:res',
    });
    expect([...bodies.get('har1.1:res')!]).toEqual([0x1f, 0x8b, 1, 2, 3]);
  });

  it('reads a response with no body and a status 0 entry with nothing as no response', () => {
    const none = entry({
      response: {
        status: 0,
        statusText: '',
        httpVersion: '',
        headers: [],
        cookies: [],
        content: { size: 0, mimeType: 'x-unknown' },
        redirectURL: '',
        headersSize: -1,
        bodySize: -1,
      },
    });
    const { flows, bodies } = read(har([none]));
    expect(http(flows[0]).response).toBeUndefined();
    expect(http(flows[0]).state).toBe('complete');
    expect(bodies.size).toBe(0);
  });
});

/** A WebSocket entry as Chrome writes it, one message unreadable. */
const wsEntry = (): Record<string, unknown> =>
  entry({
    _resourceType: 'websocket',
    response: {
      ...(entry().response as object),
      status: 101,
      statusText: 'Switching Protocols',
      headers: [{ name: 'Sec-WebSocket-Extensions', value: 'permessage-deflate' }],
      content: { size: 0, mimeType: '' },
    },
    _webSocketMessages: [
      { type: 'send', time: 1764000000.1234, opcode: 1, data: 'hello ✓' },
      { type: 'receive', time: 1764000000.5, opcode: 2, data: 'AAEC' },
      { type: 'receive', time: 'later', opcode: 1, data: 'dropped' },
      { type: 'send', time: 1764000001, opcode: 8, data: 'bye' },
    ],
  });

/** A tunnel as Loupe exports it. */
const tunnelEntry = {
  startedDateTime: '2026-11-24T12:00:01.000Z',
  time: 250,
  request: {
    method: 'CONNECT',
    url: 'tcp://[::1]:8080/',
    httpVersion: 'HTTP/1.1',
    cookies: [],
    headers: [],
    queryString: [],
    headersSize: -1,
    bodySize: 517,
  },
  response: {
    status: 200,
    statusText: 'Connection Established',
    httpVersion: 'HTTP/1.1',
    cookies: [],
    headers: [],
    content: { size: 4096, mimeType: 'application/octet-stream' },
    redirectURL: '',
    headersSize: -1,
    bodySize: 4096,
  },
  cache: {},
  timings: { blocked: -1, dns: -1, connect: -1, ssl: -1, send: 0, wait: 0, receive: 250 },
  serverIPAddress: '::1',
  _loupeKind: 'tunnel',
  _tunnel: { protocol: 'unknown', bytesUp: 517, bytesDown: 4096, reason: 'bypassed' },
  _clientHello: { alpn: [], versions: [] },
  _loupeId: 'live.3',
  _error: { code: 'upstream_reset', message: 'The server reset the tunnel.' },
  _tags: ['bypassed'],
};

describe('importHar: WebSockets and Loupe’s own fields', () => {
  it('reads Chrome’s _webSocketMessages as the flow’s messages', () => {
    const { flows, repairs } = read(har([wsEntry()]));
    expect(repairs).toEqual([
      '1 entry had WebSocket messages that could not be read; those messages were left out.',
    ]);
    expect(http(flows[0]).websocket).toEqual({
      messagesDropped: 0,
      extensions: 'permessage-deflate',
      closedBy: 'client',
      closeReason: 'bye',
      messages: [
        {
          direction: 'send',
          time: 1764000000123.4,
          opcode: 1,
          size: 9,
          wireSize: 9,
          compressed: false,
          data: 'hello ✓',
        },
        {
          direction: 'receive',
          time: 1764000000500,
          opcode: 2,
          size: 3,
          wireSize: 3,
          compressed: false,
          data: 'AAEC',
          encoding: 'base64',
        },
        {
          direction: 'send',
          time: 1764000001000,
          opcode: 8,
          size: 3,
          wireSize: 3,
          compressed: false,
          data: 'bye',
        },
      ],
    });
  });

  it('reads a Loupe tunnel entry back as a tunnel, and unreadable details as its CONNECT', () => {
    const { flows, repairs } = read(
      har([tunnelEntry, { ...tunnelEntry, _tunnel: { protocol: 'x' } }]),
    );
    expect(flows[0]).toEqual({
      kind: 'tunnel',
      id: 'har1.1',
      seq: 1,
      startedAt: Date.parse('2026-11-24T12:00:01.000Z'),
      state: 'error',
      client: { address: '', port: 0 },
      error: { code: 'upstream_reset', message: 'The server reset the tunnel.', phase: 'tunnel' },
      tags: ['bypassed'],
      target: { host: '::1', port: 8080, address: '::1' },
      protocol: 'unknown',
      bytesUp: 517,
      bytesDown: 4096,
      durationMs: 250,
      reason: 'bypassed',
      hello: { alpn: [], versions: [] },
    } satisfies TunnelFlow);
    expect(http(flows[1]).request).toMatchObject({ method: 'CONNECT', url: 'tcp://[::1]:8080/' });
    expect(repairs).toEqual([
      '1 entry had Loupe fields (_tunnel, _error, _tls) that could not be read; read without them.',
    ]);
  });

  it('reads an exchange Loupe exported while it was open as pending, and a refused target', () => {
    const pending = entry({
      _loupeKind: 'http',
      comment: 'The exchange was still in progress when this was exported.',
    });
    const refused = entry({
      _loupeKind: 'http',
      request: { ...(entry().request as object), method: '-', url: 'about:blank', _url: 'a b' },
      _error: { code: 'bad_request', message: 'bare LF' },
      _tls: { client: { version: 7 } },
    });
    const foreign = entry({
      comment: 'The exchange was still in progress when this was exported.',
    });
    const { flows, repairs } = read(har([pending, refused, foreign]));
    expect(flows.map((f) => f.state)).toEqual(['pending', 'error', 'complete']);
    expect(http(flows[1]).request.url).toBe('a b');
    expect(flows[1]!.error).toEqual({ code: 'bad_request', message: 'bare LF', phase: 'response' });
    expect(http(flows[1]).tls).toBeUndefined();
    expect(repairs).toEqual([
      '1 entry had Loupe fields (_tunnel, _error, _tls) that could not be read; read without them.',
    ]);
  });
});

/** A small seeded generator, so a failing fuzz case can be replayed. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Checks what any import must be: an error in words, or flows and bodies that agree. */
function wellFormed(result: ReturnType<typeof importHar>): void {
  if (!result.ok) {
    expect(result.error).toMatch(/^(this|none)/);
    return;
  }
  const { flows, bodies, repairs } = result.value;
  expect(repairs.every((r) => typeof r === 'string' && r.endsWith('.'))).toBe(true);
  // A reader that threw would have been caught and counted here; none may.
  expect(repairs.filter((r) => r.includes('could not be read ('))).toEqual([]);
  const ids = new Set<string>();
  for (const flow of flows) {
    if (flow.kind !== 'http') continue;
    for (const body of [flow.request.body, flow.response?.body]) {
      if (body?.bodyId) {
        expect(bodies.get(body.bodyId)?.length).toBe(body.captured);
        ids.add(body.bodyId);
      }
    }
    expect(Number.isFinite(flow.startedAt)).toBe(true);
  }
  expect([...bodies.keys()].every((id) => ids.has(id))).toBe(true);
}

describe('importHar: never throws', () => {
  it('on every fixture cut off at random points', () => {
    const next = random(1);
    for (const name of [
      'charles',
      'chrome',
      'firefox',
      'insomnia',
      'postdata',
      'with-bom',
    ] as const) {
      const full = fixture(name);
      for (let i = 0; i < 25; i++) {
        const cut = full.slice(0, Math.floor(next() * full.length));
        const result = importHar(cut, { idPrefix: 'f' });
        wellFormed(result);
        if (cut.trim().replace(/^\uFEFF/, '') !== '') {
          expect(result).toMatchObject({
            ok: false,
            error: expect.stringMatching(/line \d+, column \d+/),
          });
        }
      }
    }
  });

  it('on fixtures with values of the wrong type put anywhere', () => {
    const next = random(2);
    const odd = [null, 0, -1, 1e308, 'x', '', '[::1]', [], {}, true, [1, 'a'], { text: 1 }];
    const docs = (['charles', 'chrome', 'insomnia', 'postdata'] as const).map((n) =>
      JSON.parse(fixture(n)),
    );
    docs.push(JSON.parse(har([tunnelEntry, wsEntry(), entry({ _loupeKind: 'http', _tls: {} })])));
    for (let i = 0; i < 400; i++) {
      const doc = structuredClone(docs[i % docs.length]) as Record<string, unknown>;
      for (let k = 0; k < 1 + Math.floor(next() * 4); k++) {
        // Walk down from the root to a random place and put an odd value there.
        let node: unknown = doc;
        let parent: Record<string, unknown> | unknown[] = doc;
        let key: string | number = 'log';
        while (typeof node === 'object' && node !== null && next() < 0.85) {
          const keys = Object.keys(node);
          if (keys.length === 0) break;
          parent = node as Record<string, unknown>;
          key = keys[Math.floor(next() * keys.length)]!;
          node = (node as Record<string, unknown>)[key];
        }
        (parent as Record<string | number, unknown>)[key] = structuredClone(
          odd[Math.floor(next() * odd.length)],
        );
      }
      wellFormed(importHar(JSON.stringify(doc), { idPrefix: 'f' }));
    }
  });
});

describe('jsonSyntaxError', () => {
  it.each([
    ['{"a": 1,}', 1, 9, "expected a property name in double quotes, found '}'"],
    ['{"a" 1}', 1, 6, "expected ':' after a property name, found '1'"],
    ['[1 2]', 1, 4, "expected ',' or ']' after a list item, found '2'"],
    ['{\n"a": "b\nc"}', 2, 8, 'a string holds a raw control character (a line break?)'],
    ['"\\x"', 1, 2, 'a string has an invalid escape'],
    ['{} {}', 1, 4, "unexpected '{' after the end of the JSON value"],
    ['nul', 1, 1, "unexpected 'n' where a value should be"],
  ])('%j: line %i, column %i', (input, line, column, problem) => {
    expect(() => JSON.parse(input)).toThrow();
    expect(jsonSyntaxError(input)).toEqual({ line, column, problem });
  });

  it('gives no position, rather than overflow, for nesting deeper than it can follow', () => {
    const deep = '['.repeat(200_000);
    expect(jsonSyntaxError(deep)).toBeUndefined();
    expect(importHar(deep, { idPrefix: 'x' })).toMatchObject({
      ok: false,
      error: expect.stringMatching(/^this file is not JSON \(.+\)$/),
    });
  });

  it('finds nothing wrong with valid JSON', () => {
    for (const valid of ['{}', ' [1, -2.5e3, "\\u00e9", true, null] ', fixture('charles')]) {
      expect(jsonSyntaxError(valid)).toBeUndefined();
    }
  });
});
