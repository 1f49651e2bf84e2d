import { spawn } from 'node:child_process';
import net from 'node:net';
import tls from 'node:tls';
import { describe, expect, it } from 'vitest';
import { needTool } from '../test-support/tools';
import { parseClientHello } from './client-hello';

/** The first bytes a real client sends to a server (here a socket that only listens). */
function capture(connect: (port: number) => void): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const server = net.createServer((s) => {
      let got = Buffer.alloc(0);
      s.on('data', (d: Buffer) => {
        got = Buffer.concat([got, d]);
        if (parseClientHello(got).kind !== 'more') {
          resolve(got);
          s.destroy();
          server.close();
        }
      });
    });
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => connect((server.address() as net.AddressInfo).port));
  });
}

const nodeHello = (opts: tls.ConnectionOptions): Promise<Buffer> =>
  capture((port) => {
    const c = tls.connect({ host: '127.0.0.1', port, ...opts });
    c.on('error', () => undefined);
  });

describe('ClientHello', () => {
  it('reads SNI, ALPN and versions from Node’s client', async () => {
    const hello = await nodeHello({
      servername: 'API.Example.test',
      ALPNProtocols: ['h2', 'http/1.1'],
    });
    expect(parseClientHello(hello)).toEqual({
      kind: 'hello',
      hello: {
        serverName: 'api.example.test',
        alpn: ['h2', 'http/1.1'],
        versions: ['TLSv1.3', 'TLSv1.2'],
      },
    });
  });

  it('has no server name for a client connecting to an address', async () => {
    const hello = await nodeHello({ maxVersion: 'TLSv1.2' });
    const r = parseClientHello(hello);
    expect(r.kind).toBe('hello');
    if (r.kind === 'hello') {
      expect(r.hello.serverName).toBeUndefined();
      expect(r.hello.alpn).toEqual([]);
    }
  });

  it('reads curl’s hello', async (t) => {
    needTool(t, 'curl');
    const hello = await capture((port) => {
      const child = spawn('curl', [
        '-sk',
        '--max-time',
        '3',
        '--resolve',
        `curl.test:${port}:127.0.0.1`,
        `https://curl.test:${port}/`,
      ]);
      child.on('error', () => undefined);
    });
    const r = parseClientHello(hello);
    expect(r).toMatchObject({ kind: 'hello', hello: { serverName: 'curl.test' } });
    if (r.kind === 'hello') expect(r.hello.alpn).toContain('http/1.1');
  });

  it('asks for more at every split of a hello, then reads it whole', async () => {
    const hello = await nodeHello({ servername: 'split.test' });
    for (let i = 0; i < hello.length; i++) {
      expect(parseClientHello(hello.subarray(0, i)).kind, `at ${i}`).toBe('more');
    }
    expect(parseClientHello(hello).kind).toBe('hello');
  });

  it('reads a hello split over several TLS records', async () => {
    const hello = await nodeHello({ servername: 'records.test', ALPNProtocols: ['http/1.1'] });
    const body = hello.subarray(5, 5 + hello.readUInt16BE(3));
    const records = [];
    for (let i = 0; i < body.length; i += 50) {
      const part = body.subarray(i, i + 50);
      const head = Buffer.from([0x16, 3, 1, 0, 0]);
      head.writeUInt16BE(part.length, 3);
      records.push(head, part);
    }
    expect(parseClientHello(Buffer.concat(records))).toMatchObject({
      kind: 'hello',
      hello: { serverName: 'records.test', alpn: ['http/1.1'] },
    });
  });

  it('refuses what is not a ClientHello, in words', () => {
    expect(parseClientHello(Buffer.from('GET / HTTP/1.1\r\n'))).toEqual({
      kind: 'invalid',
      reason: 'the connection did not start with a TLS handshake',
    });
    expect(parseClientHello(Buffer.from([0x16, 3, 1, 0, 4, 2, 0, 0, 0]))).toMatchObject({
      kind: 'invalid',
      reason: 'the first handshake message is not a ClientHello',
    });
    expect(parseClientHello(Buffer.from([0x16, 3, 1, 0, 8, 1, 0, 0, 4, 3, 3, 0, 0]))).toMatchObject(
      {
        kind: 'invalid',
        reason: 'the ClientHello is malformed',
      },
    );
    expect(parseClientHello(Buffer.from([0x16, 9, 1, 0, 4]))).toMatchObject({ kind: 'invalid' });
  });
});
