/**
 * Every request that can be answered is answered: odd versions, broken trailers, broken HTTP/2
 * framing and data after `Connection: close` end in a response (or a clean cut) and a finished
 * flow, never in silence.
 */
import tls from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import {
  cleanup,
  closeWithCleanup,
  httpUpstream,
  listen,
  proxyHarness,
  rawRequest,
  rawUpstream,
} from '../test-support/servers';
import { httpsViaProxy, testPki, type TestPki } from '../test-support/tls';
import { deadline, deferred } from '../test-support/wait';

afterEach(cleanup);

describe('answers', () => {
  it('answers an HTTP/2.0 request line on the plain port with 505', async () => {
    const up = await rawUpstream(() => undefined);
    const h = await proxyHarness();
    const text = await rawRequest(
      h.proxy.port,
      `GET http://127.0.0.1:${up.port}/ HTTP/2.0\r\nHost: x\r\n\r\n`,
    );
    expect(text).toMatch(/^HTTP\/1\.1 505 HTTP Version Not Supported\r\n/);
    expect(up.connections()).toBe(0);
    const [ex] = await h.waitFor(1);
    expect(ex!.error?.code).toBe('bad_request');
    expect(ex!.error?.message).toContain('HTTP/2.0');
    expect(text).toContain(ex!.error!.message);
  });

  describe('a chunked response with Content-Length in its trailers', () => {
    const head = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: Content-Length\r\n\r\n';
    const badTrailers = '0\r\nContent-Length: 5\r\n\r\n';

    it('gets a 502 in words when the trailers come in the same read as the head', async () => {
      // One write of a few bytes on loopback: one read for Loupe, parsed before the head goes out.
      const { port } = await rawUpstream((s) => s.once('data', () => s.end(head + badTrailers)));
      const h = await proxyHarness();
      const text = await rawRequest(
        h.proxy.port,
        `GET http://127.0.0.1:${port}/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
      );
      expect(text).toMatch(/^HTTP\/1\.1 502 /);
      const [ex] = await h.waitFor(1);
      expect(ex!.error?.code).toBe('malformed_response');
      expect(ex!.error?.message).toContain('Content-Length in the trailers');
      expect(text).toContain(ex!.error!.message);
    });

    it('is cut cleanly, with the reason on the flow, after the head alone was relayed', async () => {
      const relayed = deferred();
      const { port } = await rawUpstream((s) =>
        s.once('data', () => {
          // The trailers only once the client has seen the head.
          s.write(head);
          void relayed.promise.then(() => s.end(badTrailers));
        }),
      );
      const h = await proxyHarness();
      const text = await rawRequest(
        h.proxy.port,
        `GET http://127.0.0.1:${port}/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
        {
          until: (t) => {
            if (t.includes('\r\n\r\n')) relayed.resolve();
            return false;
          },
        },
      );
      expect(text).toMatch(/^HTTP\/1\.1 200 /);
      // Cut: the chunked body never ends, and no 502 follows the 200.
      expect(text.endsWith('\r\n\r\n')).toBe(true);
      expect(text).not.toContain('0\r\n\r\n');
      expect(text.match(/HTTP\/1\.1 /g)).toHaveLength(1);
      const [ex] = await h.waitFor(1);
      expect(ex!.error?.code).toBe('malformed_response');
      expect(ex!.error?.phase).toBe('response');
      expect(ex!.error?.message).toContain('Content-Length in the trailers');
      expect(ex!.response?.status).toBe(200);
    });

    it('is cut cleanly, with the reason on the flow, after the body was relayed', async () => {
      const body = 'hello';
      const relayed = deferred();
      const { port } = await rawUpstream((s) =>
        s.once('data', () => {
          // The body first, then the trailers only once the client has seen the body.
          s.write(`${head}${body.length.toString(16)}\r\n${body}\r\n`);
          void relayed.promise.then(() => s.end(badTrailers));
        }),
      );
      const h = await proxyHarness();
      const text = await rawRequest(
        h.proxy.port,
        `GET http://127.0.0.1:${port}/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
        {
          until: (t) => {
            if (t.includes(body)) relayed.resolve();
            return false;
          },
        },
      );
      expect(text).toMatch(/^HTTP\/1\.1 200 /);
      expect(text).toContain(body);
      // Cut: the chunked body never ends.
      expect(text).not.toContain('0\r\n\r\n');
      const [ex] = await h.waitFor(1);
      expect(ex!.error?.code).toBe('malformed_response');
      expect(ex!.error?.phase).toBe('response');
      expect(ex!.error?.message).toContain('Content-Length in the trailers');
      expect(ex!.response?.status).toBe(200);
    });
  });

  it('answers 502 within a second when an HTTP/2 server sends DATA before HEADERS', async () => {
    const loupe = await testPki();
    const origin = await testPki();
    const { port } = await dataFirstH2Server(origin);
    const h = await proxyHarness({
      tls: loupe.minter,
      trustedCa: [origin.ca.certPem],
      resolve: [['h2.test', '127.0.0.1']],
    });
    // The upstream timeout is 120 s; Loupe's probe finds the dead session within a second, so an
    // answer before the wait's 10 s deadline came from the probe (the bound is loose on purpose:
    // timing belongs in bench/). The second request shows the session was let go, not reused.
    for (const n of [1, 2]) {
      const res = await deadline(
        httpsViaProxy(h.proxy.port, `https://h2.test:${port}/`, loupe.ca.certPem),
        `the answer to request ${n} to a server that sends DATA before HEADERS`,
      );
      expect(res.status).toBe(502);
      const ex = (await h.waitFor(n))[n - 1]!;
      expect(ex.error?.code).toBe('malformed_response');
      expect(ex.error?.message).toContain('stopped answering');
      expect(ex.error?.message).toContain('body data before the response head');
      expect(res.body.toString()).toContain(ex.error!.message);
    }
  });

  it('answers the first of three pipelined Connection: close requests, then closes', async () => {
    const { port } = await httpUpstream((req, res) => res.end(`served ${req.url}`));
    const h = await proxyHarness();
    const one = (path: string): string =>
      `GET http://127.0.0.1:${port}${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`;
    const text = await rawRequest(h.proxy.port, one('/1') + one('/2') + one('/3'));
    expect(text).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(text.endsWith('served /1')).toBe(true);
    expect(text.match(/HTTP\/1\.1 /g)).toHaveLength(1);
    const [ex] = await h.waitFor(1);
    expect(ex!.error).toBeUndefined();
    expect(ex!.request.url).toBe(`http://127.0.0.1:${port}/1`);
    expect(h.done).toHaveLength(1);
  });
});

/**
 * An h2 server (raw frames over TLS) that answers each request stream with a DATA frame and no
 * HEADERS, which RFC 9113 §8.1 makes a malformed response.
 */
async function dataFirstH2Server(pki: TestPki): Promise<{ port: number }> {
  const server = tls.createServer(
    {
      ...pki.minter.credentialsFor('127.0.0.1'),
      ALPNProtocols: ['h2'],
      SNICallback: (name, done) => done(null, pki.minter.contextFor(name)),
    },
    (socket) => {
      socket.on('error', () => undefined);
      socket.write(frame(4, 0, 0, Buffer.alloc(0)));
      let buf = Buffer.alloc(0);
      let prefaceSeen = false;
      socket.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        if (!prefaceSeen) {
          if (buf.length < 24) return;
          buf = buf.subarray(24);
          prefaceSeen = true;
        }
        while (buf.length >= 9) {
          const length = buf.readUIntBE(0, 3);
          if (buf.length < 9 + length) return;
          const type = buf[3]!;
          const flags = buf[4]!;
          const stream = buf.readUInt32BE(5) & 0x7fffffff;
          buf = buf.subarray(9 + length);
          // SETTINGS without ACK: acknowledge. HEADERS: answer with DATA only.
          if (type === 4 && !(flags & 1)) socket.write(frame(4, 1, 0, Buffer.alloc(0)));
          if (type === 1) socket.write(frame(0, 1, stream, Buffer.from('data first')));
        }
      });
    },
  );
  const port = await listen(server, '127.0.0.1');
  closeWithCleanup(server);
  return { port };
}

/** One HTTP/2 frame (RFC 9113 §4.1). */
function frame(type: number, flags: number, stream: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream, 5);
  return Buffer.concat([head, payload]);
}
