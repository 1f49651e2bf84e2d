import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { fillUntilStuck } from '../test-support/payloads';
import { cleanup, httpUpstream, proxyHarness } from '../test-support/servers';
import { deadline, deferred } from '../test-support/wait';

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

describe('upgrade backpressure', () => {
  // The 32 MiB body budget: with the client not reading, only socket buffers (a few MB over two
  // loopback hops) may fill, never the proxy.
  const limit = 32 * 1024 * 1024;
  const chunk = Buffer.alloc(64 * 1024, 1);

  /** A raw client asking `port` for a WebSocket through the proxy; it reads nothing. */
  function askForWebSocket(proxyPort: number, port: number): net.Socket {
    const socket = net.connect(proxyPort, '127.0.0.1');
    socket.on('error', () => undefined);
    socket.pause();
    socket.write(
      `GET http://127.0.0.1:${port}/ HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
    );
    return socket;
  }

  /** An upstream that accepts WebSocket upgrades and hands each upgraded socket to `onSocket`. */
  async function webSocketUpstream(onSocket: (socket: net.Socket) => void): Promise<number> {
    const { server, port } = await httpUpstream((_req, res) => res.end());
    server.on('upgrade', (_req, socket: net.Socket) => {
      socket.on('error', () => undefined);
      socket.write(
        'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n',
      );
      onSocket(socket);
    });
    return port;
  }

  /** One unmasked binary WebSocket frame of 64 KiB, as a server sends them. */
  const frame = Buffer.concat([Buffer.from([0x82, 0x7e, 0xff, 0xfb]), Buffer.alloc(65531, 1)]);

  it('stops the server within a few MB when the client stops reading a WebSocket', async () => {
    const accepted = deferred<number>();
    const port = await webSocketUpstream((s) => {
      void fillUntilStuck(s, frame, limit).then(accepted.resolve);
    });
    const h = await proxyHarness();
    // Messages are read from a copy of the relay: that must not read ahead of the client.
    const messages = deferred();
    h.proxy.hooks.on('wsMessage', () => messages.resolve());
    const socket = askForWebSocket(h.proxy.port, port);
    try {
      expect(await deadline(accepted.promise, 'the server to be stuck writing')).toBeLessThan(
        limit,
      );
      await deadline(messages.promise, 'a message read from the relay');
    } finally {
      socket.destroy();
    }
  });

  it('stops the client within a few MB when the server stops reading a WebSocket', async () => {
    const port = await webSocketUpstream((s) => s.pause());
    const h = await proxyHarness();
    const socket = askForWebSocket(h.proxy.port, port);
    socket.resume();
    await deadline(once(socket, 'data'), 'the 101 to reach the client');
    try {
      expect(await fillUntilStuck(socket, chunk, limit)).toBeLessThan(limit);
    } finally {
      socket.destroy();
    }
  });

  it('stops the server within a few MB when the client stops reading a declined upgrade', async () => {
    const accepted = deferred<number>();
    // No 'upgrade' listener: Node answers the upgrade request as an ordinary one.
    const { port } = await httpUpstream((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
      void fillUntilStuck(res, chunk, limit).then(accepted.resolve);
    });
    const h = await proxyHarness();
    const socket = askForWebSocket(h.proxy.port, port);
    try {
      expect(await deadline(accepted.promise, 'the server to be stuck writing')).toBeLessThan(
        limit,
      );
    } finally {
      socket.destroy();
    }
  });

  it('ends the server’s declined answer when the client goes away', async () => {
    const gone = deferred();
    const { port } = await httpUpstream((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
      res.write(chunk);
      res.once('close', () => gone.resolve());
    });
    const h = await proxyHarness();
    const socket = askForWebSocket(h.proxy.port, port);
    socket.resume();
    await deadline(once(socket, 'data'), 'the declined answer to reach the client');
    socket.destroy();
    await deadline(gone.promise, 'the server’s response to be closed');
    const [ex] = await h.waitFor(1);
    expect(ex!.response?.status).toBe(200);
    expect(ex!.error?.code).toBe('client_aborted');
  });

  it('closes the client and ends the exchange when the server resets in the middle of a declined answer', async () => {
    const { port } = await httpUpstream((req, res) => {
      // Half of what Content-Length promises, then a reset.
      res.writeHead(200, {
        'Content-Type': 'application/octet-stream',
        'Content-Length': String(chunk.length * 2),
      });
      res.write(chunk, () => req.socket.resetAndDestroy());
    });
    const h = await proxyHarness();
    const socket = askForWebSocket(h.proxy.port, port);
    socket.resume();
    await deadline(once(socket, 'close'), 'the client to be closed');
    const [ex] = await h.waitFor(1);
    expect(ex!.response?.status).toBe(200);
    expect(ex!.error).toMatchObject({ code: 'upstream_reset', phase: 'response' });
    expect(ex!.error?.message).toMatch(/in the middle of the response/);
  });
});
