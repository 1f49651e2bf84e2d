import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, proxyHarness } from '../test-support/servers';

let upstream: http.Server | undefined;

afterEach(async () => {
  await cleanup();
  upstream?.closeAllConnections();
  await new Promise<void>((resolve) => (upstream ? upstream.close(() => resolve()) : resolve()));
  upstream = undefined;
});

/** An upstream that upgrades `Upgrade: echo` requests and echoes every byte, prefixed. */
async function echoUpstream(): Promise<number> {
  upstream = http.createServer((_req, res) => {
    res.writeHead(426, { 'Content-Type': 'text/plain' });
    res.end('upgrade required');
  });
  upstream.on('upgrade', (req, socket) => {
    if (req.headers.upgrade !== 'echo') {
      socket.end(
        'HTTP/1.1 400 Bad Request\r\nContent-Length: 8\r\nConnection: close\r\n\r\ndeclined',
      );
      return;
    }
    socket.write(
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n',
    );
    socket.on('data', (d: Buffer) => socket.write(`echo:${d}`));
    // Upgraded sockets of an http.Server are half-open: end ours when the peer ends.
    socket.on('end', () => socket.end());
  });
  await new Promise<void>((resolve) => upstream!.listen(0, '127.0.0.1', resolve));
  return (upstream.address() as net.AddressInfo).port;
}

describe('protocol upgrade relay', () => {
  it('relays a 101 upgrade both ways and records the handshake with payload byte counts', async () => {
    const port = await echoUpstream();
    const h = await proxyHarness();
    const socket = net.connect(h.proxy.port, '127.0.0.1');
    socket.write(
      `GET http://127.0.0.1:${port}/chat HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n`,
    );
    let received = '';
    await new Promise<void>((resolve) => {
      socket.on('data', (d: Buffer) => {
        received += d;
        if (received.endsWith('\r\n\r\n')) socket.write('ping');
        if (received.includes('echo:ping')) resolve();
      });
    });
    expect(received.startsWith('HTTP/1.1 101 Switching Protocols\r\n')).toBe(true);
    socket.end();
    await new Promise((resolve) => socket.on('close', resolve));
    const [ex] = await h.waitFor(1);
    expect(ex!.response?.status).toBe(101);
    expect(ex!.tags).toContain('upgrade');
    expect(ex!.request.bodySize).toBe(4);
    expect(ex!.response?.bodySize).toBe('echo:ping'.length);
  });

  it('relays a declined upgrade as an ordinary response and closes', async () => {
    const port = await echoUpstream();
    const h = await proxyHarness();
    const socket = net.connect(h.proxy.port, '127.0.0.1');
    socket.write(
      `GET http://127.0.0.1:${port}/ HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: other\r\n\r\n`,
    );
    let received = '';
    socket.on('data', (d: Buffer) => (received += d));
    await new Promise((resolve) => socket.on('close', resolve));
    expect(received).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(received.endsWith('declined')).toBe(true);
    const [ex] = await h.waitFor(1);
    expect(ex!.response?.status).toBe(400);
  });

  it('answers 502 with words when the upgrade target is down', async () => {
    const h = await proxyHarness();
    const socket = net.connect(h.proxy.port, '127.0.0.1');
    socket.write(
      'GET http://127.0.0.1:1/ HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n',
    );
    let received = '';
    socket.on('data', (d: Buffer) => (received += d));
    await new Promise((resolve) => socket.on('close', resolve));
    expect(received).toMatch(/^HTTP\/1\.1 502 Bad Gateway\r\n/);
    expect(received).toContain('refused the connection');
    const [ex] = await h.waitFor(1);
    expect(ex!.error?.code).toBe('connection_refused');
  });
});
