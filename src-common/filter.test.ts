import { describe, expect, it } from 'vitest';
import type { FlowLike } from './api/contract';
import { compileFilter, splitTerms } from './filter';
import {
  makeBody,
  makeFlow,
  makeRequest,
  makeResponse,
  makeTunnel,
} from '../src-main/test-support/factories';

const json = (status: number, size: number): ReturnType<typeof makeResponse> =>
  makeResponse({
    status,
    headers: [['Content-Type', 'application/json; charset=utf-8']],
    body: makeBody({ size, captured: size }),
  });

/** A small session covering every property; each row of the tables below names flows by key. */
const FLOWS: Record<string, FlowLike> = {
  getApi: makeFlow({
    request: makeRequest({ url: 'https://api.example.com/v1/items?page=2' }),
    response: json(200, 1500),
  }),
  postApi: makeFlow({
    request: makeRequest({
      method: 'POST',
      url: 'https://api.example.com/v1/login',
      headers: [['Authorization', 'Bearer x']],
    }),
    response: json(401, 80),
  }),
  cdnImage: makeFlow({
    request: makeRequest({ url: 'http://cdn.example.com/logo.png' }),
    response: makeResponse({
      status: 304,
      headers: [['Content-Type', 'image/png']],
      body: makeBody({ size: 2 * 1024 * 1024 }),
    }),
  }),
  serverError: makeFlow({
    request: makeRequest({ method: 'PUT', url: 'http://shop.test:8080/cart' }),
    response: makeResponse({ status: 503, headers: [['content-type', 'text/html']] }),
  }),
  refused: makeFlow({
    request: makeRequest({ url: 'http://down.test/' }),
    response: undefined,
    state: 'error',
    error: { code: 'connection_refused', message: 'refused', phase: 'connect' },
  }),
  pending: makeFlow({
    request: makeRequest({ url: 'https://slow.example.com/stream' }),
    response: undefined,
    state: 'pending',
  }),
  bypassed: makeTunnel({ target: { host: 'bank.test', port: 443 }, tags: ['bypassed'] }),
  pinned: makeTunnel({
    target: { host: 'pinned.app.test', port: 443 },
    state: 'error',
    error: { code: 'tls_handshake_failed', message: 'rejected', phase: 'tunnel' },
  }),
};

function matching(text: string): string[] {
  const filter = compileFilter(text);
  expect(filter.errors).toEqual([]);
  return Object.entries(FLOWS)
    .filter(([, flow]) => filter.test(flow))
    .map(([key]) => key);
}

describe('compileFilter', () => {
  it.each([
    ['', Object.keys(FLOWS)],
    ['   ', Object.keys(FLOWS)],
    ['login', ['postApi']],
    ['LOGIN', ['postApi']],
    ['-login', Object.keys(FLOWS).filter((k) => k !== 'postApi')],
    ['domain:api.example.com', ['getApi', 'postApi']],
    ['domain:api.*', ['getApi', 'postApi']],
    ['domain:*.example.com', ['getApi', 'postApi', 'cdnImage', 'pending']],
    ['-domain:cdn.example.com', Object.keys(FLOWS).filter((k) => k !== 'cdnImage')],
    ['host:bank.test', ['bypassed']],
    ['method:POST', ['postApi']],
    ['method:post', ['postApi']],
    ['method:CONNECT', ['bypassed', 'pinned']],
    ['status-code:4xx', ['postApi']],
    ['status-code:5XX', ['serverError']],
    ['status-code:304', ['cdnImage']],
    ['status:401', ['postApi']],
    ['-status-code:2xx', Object.keys(FLOWS).filter((k) => k !== 'getApi')],
    ['mime-type:application/json', ['getApi', 'postApi']],
    ['mime-type:image/*', ['cdnImage']],
    ['mime-type:json', ['getApi', 'postApi']],
    ['larger-than:1k', ['getApi', 'cdnImage', 'bypassed', 'pinned']],
    ['larger-than:1M', ['cdnImage']],
    ['larger-than:1.5MB', ['cdnImage']],
    ['smaller-than:100', ['postApi', 'serverError', 'refused', 'pending']],
    ['is:error', ['refused', 'pinned']],
    ['is:pending', ['pending']],
    ['is:paused', []],
    ['is:bypassed', ['bypassed']],
    ['is:failed', ['pinned']],
    ['is:tunnel', ['bypassed', 'pinned']],
    ['type:image', ['cdnImage']],
    ['type:doc', ['serverError']],
    ['scheme:https', ['getApi', 'postApi', 'pending']],
    ['path:/v1/*', ['getApi', 'postApi']],
    ['path:cart', ['serverError']],
    ['has-request-header:authorization', ['postApi']],
    ['has-response-header:Content-Type', ['getApi', 'postApi', 'cdnImage', 'serverError']],
    ['domain:api.example.com method:POST', ['postApi']],
    ['domain:*.example.com -method:GET', ['postApi']],
    ['domain:*.example.com -is:pending v1', ['getApi', 'postApi']],
    ['https://api.example.com/v1/login', ['postApi']],
    ['shop.test:8080', ['serverError']],
    ['"v1/items?page=2"', ['getApi']],
    ['url:"example.com/v1"', ['getApi', 'postApi']],
  ])('%j matches %j', (text, expected) => {
    expect(matching(text)).toEqual(expected);
  });

  it.each([
    ['methd:POST', /'methd:' is not a filter; try 'method:'/],
    ['status-code:abc', /status-code: takes a status such as 404/],
    ['status-code:', /needs a value/],
    ['larger-than:lots', /larger-than: takes a size/],
    ['is:sleeping', /is: takes one of error, pending/],
    ['type:spreadsheet', /type: takes one of json/],
    ['zzz:1', /'zzz:' is not a filter; try one of domain:/],
  ])('%j is reported in words and left out', (text, message) => {
    const filter = compileFilter(`${text} login`);
    expect(filter.errors).toHaveLength(1);
    expect(filter.errors[0]!.term).toBe(text);
    expect(filter.errors[0]!.message).toMatch(message);
    // The understood term still applies: a typo does not empty the table.
    expect(Object.values(FLOWS).filter(filter.test)).toEqual([FLOWS.postApi]);
  });

  it('is empty when nothing was understood', () => {
    expect(compileFilter('').empty).toBe(true);
    expect(compileFilter('nosuch:x').empty).toBe(true);
    expect(compileFilter('-').empty).toBe(true);
    expect(compileFilter('method:GET').empty).toBe(false);
  });
});

describe('splitTerms', () => {
  it.each([
    ['a b  c', ['a', 'b', 'c']],
    ['domain:x "two words" -y', ['domain:x', '"two words"', '-y']],
    ['url:"a b" c', ['url:"a b"', 'c']],
    ['"unterminated text', ['"unterminated text']],
  ])('%j → %j', (text, terms) => {
    expect(splitTerms(text)).toEqual(terms);
  });
});
