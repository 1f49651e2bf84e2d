import { once } from 'node:events';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  cleanup,
  deadPort,
  httpUpstream,
  proxyHarness,
  rawRequest,
  rawUpstream,
} from '../test-support/servers';
import { fillUntilStuck } from '../test-support/payloads';
import { deadline, deferred, tunnelsClosed } from '../test-support/wait';

afterEach(cleanup);

describe('CONNECT tunnels', () => {
  it('relays a non-TLS tunnel raw and records it as a tunnel flow with byte counts', async () => {
    const { port } = await httpUpstream((_req, res) => res.end('inside the tunnel'));
    const h = await proxyHarness();
    const text = await rawRequest(
      h.proxy.port,
      `CONNECT 127.0.0.1:${port} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
    );
    expect(text.endsWith('inside the tunnel')).toBe(true);
    await tunnelsClosed(h, 1);
    const t = h.tunnels[0]!;
    expect(t).toMatchObject({
      protocol: 'unknown',
      target: { host: '127.0.0.1', port, address: '127.0.0.1' },
    });
    expect(t.bytesUp).toBeGreaterThan(30);
    expect(t.bytesDown).toBeGreaterThan(100);
    expect(t.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('recognises TLS in a tunnel it does not decrypt', async () => {
    const { port } = await rawUpstream((s) => s.once('data', () => s.end()));
    const h = await proxyHarness();
    // The first bytes of a TLS ClientHello record.
    await rawRequest(
      h.proxy.port,
      Buffer.concat([
        Buffer.from(`CONNECT 127.0.0.1:${port} HTTP/1.1\r\nHost: x\r\n\r\n`),
        Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5]),
      ]),
    );
    await tunnelsClosed(h, 1);
    expect(h.tunnels[0]!.protocol).toBe('tls');
    expect(h.tunnels[0]!.reason).toContain('without decryption');
  });

  it('tags a tunnel to a host on the bypass list and says why it was not decrypted', async () => {
    const { port } = await rawUpstream((s) => s.once('data', () => s.end()));
    const h = await proxyHarness({
      resolve: [['bank.loupe.test', '127.0.0.1']],
      isBypassed: (host) => host === 'bank.loupe.test',
    });
    await rawRequest(
      h.proxy.port,
      Buffer.concat([
        Buffer.from(`CONNECT bank.loupe.test:${port} HTTP/1.1\r\nHost: x\r\n\r\n`),
        Buffer.from([0x16, 0x03, 0x01, 0x00, 0x01, 0]),
      ]),
    );
    await tunnelsClosed(h, 1);
    expect(h.tunnels[0]!.tags).toContain('bypassed');
    expect(h.tunnels[0]!.reason).toBe('On the SSL bypass list: relayed without decryption.');
  });

  it('answers CONNECT to a dead port with 502 and records the error', async () => {
    const port = await deadPort();
    const h = await proxyHarness();
    const text = await rawRequest(
      h.proxy.port,
      `CONNECT 127.0.0.1:${port} HTTP/1.1\r\nHost: x\r\n\r\n`,
    );
    expect(text).toMatch(/^HTTP\/1\.1 502 Bad Gateway/);
    expect(text).toContain('refused the connection');
    await tunnelsClosed(h, 1);
    expect(h.tunnels[0]!.error?.code).toBe('connection_refused');
  });

  it('answers CONNECT to an unresolvable host with 502 and dns_failed', async () => {
    const h = await proxyHarness();
    const text = await rawRequest(
      h.proxy.port,
      'CONNECT no-such-host.invalid:443 HTTP/1.1\r\nHost: x\r\n\r\n',
    );
    expect(text).toMatch(/^HTTP\/1\.1 502 Bad Gateway/);
    expect(text).toContain('no-such-host.invalid could not be resolved');
    await tunnelsClosed(h, 1);
    expect(h.tunnels[0]!.error).toMatchObject({ code: 'dns_failed', phase: 'connect' });
  });

  it('relays what is left in both directions after the client half-closes', async () => {
    // The upstream answers only once it has seen the end of the client's data (as `nc -N` or a
    // line protocol would): the tunnel must pass the FIN on and still relay the answer back.
    const { port } = await rawUpstream((s) => {
      let got = '';
      s.on('data', (d: Buffer) => (got += d));
      s.on('end', () => s.end(`you said ${got}`));
    });
    const h = await proxyHarness();
    const socket = net.connect({ port: h.proxy.port, host: '127.0.0.1', allowHalfOpen: true });
    let text = '';
    socket.on('data', (d: Buffer) => {
      text += d;
      if (text === 'HTTP/1.1 200 Connection Established\r\n\r\n') socket.end('hello');
    });
    socket.write(`CONNECT 127.0.0.1:${port} HTTP/1.1\r\nHost: x\r\n\r\n`);
    await new Promise((resolve) => socket.on('close', resolve));
    expect(text).toBe('HTTP/1.1 200 Connection Established\r\n\r\nyou said hello');
    await tunnelsClosed(h, 1);
    expect(h.tunnels[0]).toMatchObject({ bytesUp: 5, bytesDown: 14 });
    expect(h.tunnels[0]!.error).toBeUndefined();
  });

  it('refuses a malformed CONNECT target', async () => {
    const h = await proxyHarness();
    const text = await rawRequest(h.proxy.port, 'CONNECT nonsense HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(text).toMatch(/^HTTP\/1\.1 400 Bad Request/);
    expect(text).toContain('host:port');
  });
});

describe('raw tunnel backpressure', () => {
  // With one peer not reading, only socket buffers (a few MB over two loopback hops) fill, never
  // the proxy: each direction of the splice reads no faster than the other side drains.
  const limit = 32 * 1024 * 1024;
  const chunk = Buffer.alloc(64 * 1024, 1);

  /** A socket through a CONNECT tunnel of the proxy to 127.0.0.1:`port`, once it is answered. */
  async function tunnelTo(proxyPort: number, port: number): Promise<net.Socket> {
    const socket = net.connect(proxyPort, '127.0.0.1');
    socket.on('error', () => undefined);
    socket.write(`CONNECT 127.0.0.1:${port} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
    const [head] = (await once(socket, 'data')) as [Buffer];
    expect(head.toString('latin1')).toMatch(/^HTTP\/1\.1 200 /);
    return socket;
  }

  it('stops the client within a few MB when the server stops reading', async () => {
    const { port } = await rawUpstream((s) => s.pause());
    const h = await proxyHarness();
    const socket = await tunnelTo(h.proxy.port, port);
    try {
      expect(await fillUntilStuck(socket, chunk, limit)).toBeLessThan(limit);
    } finally {
      socket.destroy();
    }
  });

  it('stops the server within a few MB when the client stops reading', async () => {
    const accepted = deferred<number>();
    const { port } = await rawUpstream((s) => {
      fillUntilStuck(s, chunk, limit).then(accepted.resolve, accepted.reject);
    });
    const h = await proxyHarness();
    const socket = await tunnelTo(h.proxy.port, port);
    socket.pause();
    try {
      expect(await deadline(accepted.promise, 'the server to be stuck writing')).toBeLessThan(
        limit,
      );
    } finally {
      socket.destroy();
    }
  });
});
