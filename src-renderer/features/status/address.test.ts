import { describe, expect, it } from 'vitest';
import type { ProxyStatus, SystemInfo } from '../../../src-common/api/contract';
import { curlLine, proxyAddress, shortFingerprint } from './address';

const proxy = (host: string): ProxyStatus => ({ url: '', host, port: 8888, recording: true });
const system = (certPath: string, platform = 'linux'): SystemInfo => ({
  version: '0.1.0',
  platform,
  mode: 'headless',
  dataDir: '/d',
  ca: { certPath, fingerprint256: 'AB:CD:EF:01:23', downloadUrl: 'http://loupe.local/' },
});

describe('status words', () => {
  it('names a wildcard listener by the loopback address', () => {
    expect(proxyAddress(proxy('0.0.0.0'))).toBe('127.0.0.1:8888');
    expect(proxyAddress(proxy('127.0.0.1'))).toBe('127.0.0.1:8888');
    expect(proxyAddress(proxy('::1'))).toBe('[::1]:8888');
  });

  it('builds a curl line that a shell reads as intended', () => {
    expect(curlLine(proxy('127.0.0.1'), system('/home/u/.loupe/ca.pem'))).toBe(
      'curl -x http://127.0.0.1:8888 --cacert /home/u/.loupe/ca.pem https://example.com',
    );
    expect(curlLine(proxy('127.0.0.1'), system("/Users/o'n/App Support/ca.pem"))).toBe(
      "curl -x http://127.0.0.1:8888 --cacert '/Users/o'\\''n/App Support/ca.pem' https://example.com",
    );
    expect(curlLine(proxy('127.0.0.1'), system('C:\\Users\\A B\\ca.pem', 'win32'))).toContain(
      '--cacert "C:\\Users\\A B\\ca.pem"',
    );
    expect(curlLine(proxy('127.0.0.1'), undefined)).toBe(
      'curl -x http://127.0.0.1:8888 https://example.com',
    );
  });

  it('shortens a fingerprint to its first four octets', () => {
    expect(shortFingerprint('AB:CD:EF:01:23')).toBe('AB:CD:EF:01…');
  });
});
