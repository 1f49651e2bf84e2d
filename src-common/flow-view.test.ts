import { describe, expect, it } from 'vitest';
import {
  flowAuthority,
  flowCategory,
  flowContentType,
  flowDuration,
  flowHost,
  flowLook,
  flowPath,
  flowProtocol,
  formatBytes,
  formatClock,
  formatDuration,
} from './flow-view';
import {
  makeFlow,
  makeRequest,
  makeResponse,
  makeTunnel,
} from '../src-main/test-support/factories';

const withType = (type: string) =>
  makeFlow({ response: makeResponse({ headers: [['Content-Type', type]] }) });

describe('flow-view', () => {
  it.each([
    [
      'http://api.example.test/items?page=2',
      'api.example.test',
      'api.example.test',
      '/items?page=2',
    ],
    ['https://Api.Example.test:443/', 'api.example.test', 'api.example.test', '/'],
    ['http://shop.test:8080/cart', 'shop.test', 'shop.test:8080', '/cart'],
    ['http://[::1]:3000/x', '::1', '[::1]:3000', '/x'],
  ])('%s → host %s, authority %s, path %s', (url, host, authority, path) => {
    const flow = makeFlow({ request: makeRequest({ url }) });
    expect(flowHost(flow)).toBe(host);
    expect(flowAuthority(flow)).toBe(authority);
    expect(flowPath(flow)).toBe(path);
  });

  it('reads tunnels by their target', () => {
    const tunnel = makeTunnel({ target: { host: 'Bank.test', port: 8443 } });
    expect(flowHost(tunnel)).toBe('bank.test');
    expect(flowAuthority(tunnel)).toBe('Bank.test:8443');
    expect(flowPath(tunnel)).toBe('');
    expect(flowDuration(tunnel)).toBe(250);
    expect(flowProtocol(tunnel)).toBe('TLS tunnel');
  });

  it.each([
    ['application/json; charset=utf-8', 'json'],
    ['application/problem+json', 'json'],
    ['text/html', 'doc'],
    ['application/xml', 'xml'],
    ['image/svg+xml', 'image'],
    ['text/javascript', 'js'],
    ['application/x-www-form-urlencoded', 'form'],
    ['text/css', 'css'],
    ['font/woff2', 'font'],
    ['video/mp4', 'media'],
    ['application/octet-stream', 'other'],
  ])('%s is %s', (type, category) => {
    expect(flowCategory(withType(type))).toBe(category);
  });

  it('strips parameters from the content type', () => {
    expect(flowContentType(withType('Application/JSON; charset=utf-8'))).toBe('application/json');
    expect(flowContentType(makeFlow({ response: undefined }))).toBeUndefined();
  });

  it.each([
    [makeFlow(), 'complete'],
    [makeFlow({ state: 'pending', response: undefined }), 'pending'],
    [
      makeFlow({ state: 'error', error: { code: 'dns_failed', message: 'x', phase: 'connect' } }),
      'error',
    ],
    [makeTunnel({ tags: ['bypassed'] }), 'bypassed'],
    [
      makeTunnel({
        state: 'error',
        error: { code: 'tls_handshake_failed', message: 'x', phase: 'tunnel' },
      }),
      'failed-handshake',
    ],
  ] as const)('look %#: %s', (flow, look) => {
    expect(flowLook(flow)).toBe(look);
  });

  it('names the client leg protocol with TLS', () => {
    const h2 = makeFlow({
      request: makeRequest({ httpVersion: 'HTTP/2.0' }),
      tls: { client: { version: 'TLSv1.3' } },
    });
    expect(flowProtocol(h2)).toBe('h2 · TLS 1.3');
    expect(flowProtocol(makeFlow())).toBe('HTTP/1.1');
  });

  it.each([
    [0, '0 B'],
    [512, '512 B'],
    [1024, '1.0 KB'],
    [1280, '1.3 KB'],
    [34 * 1024 * 1024, '34 MB'],
  ])('formatBytes(%d) = %s', (n, text) => expect(formatBytes(n)).toBe(text));

  it.each([
    [0, '0 ms'],
    [340.4, '340 ms'],
    [1240, '1.24 s'],
    [12_500, '12.5 s'],
    [125_000, '2 min 5 s'],
  ])('formatDuration(%d) = %s', (ms, text) => expect(formatDuration(ms)).toBe(text));

  it('formats clock time with milliseconds', () => {
    expect(formatClock(new Date(2026, 0, 2, 3, 4, 5, 6).getTime())).toBe('03:04:05.006');
  });
});
