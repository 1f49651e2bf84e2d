/**
 * Backpressure through the interception, in all four combinations of client protocol (h2 or
 * http/1.1) and server protocol: a stream whose reader stops must stop its writer on the other
 * leg. With one peer not reading, only socket buffers and HTTP/2 flow-control windows (a few MB
 * over the loopback hops) may fill, never the proxy; the 32 MiB limit is the body budget a path
 * that buffers without bound runs into.
 */
import http from 'node:http';
import https from 'node:https';
import type http2 from 'node:http2';
import type { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fillUntilStuck } from '../test-support/payloads';
import { cleanup, proxyHarness, type Harness } from '../test-support/servers';
import {
  h2Upstream,
  h2ViaProxy,
  httpsUpstream,
  testPki,
  tlsThroughProxy,
  type TestPki,
} from '../test-support/tls';
import { deadline, deferred } from '../test-support/wait';

let loupe: TestPki;
let origin: TestPki;

beforeEach(async () => {
  loupe = await testPki();
  origin = await testPki();
});
afterEach(cleanup);

const limit = 32 * 1024 * 1024;
const chunk = Buffer.alloc(64 * 1024, 1);

function intercepting(): Promise<Harness> {
  return proxyHarness({
    tls: loupe.minter,
    trustedCa: [origin.ca.certPem],
    resolve: [
      ['h1.test', '127.0.0.1'],
      ['h2.test', '127.0.0.1'],
    ],
  });
}

/** What both servers' compatibility APIs offer the handlers here. */
type Req = { pause(): unknown };
type Res = Writable & { writeHead(status: number): unknown };

async function upstream(kind: 'h1' | 'h2', handler: (req: Req, res: Res) => void): Promise<number> {
  if (kind === 'h2') return (await h2Upstream(origin, handler as never)).port;
  return (await httpsUpstream(origin, handler as never)).port;
}

/**
 * A request through the proxy: a GET, or a POST whose body stays open for the caller to write.
 * `onResponse` gets the response stream.
 */
async function open(
  client: 'h1' | 'h2',
  proxyPort: number,
  authority: string,
  method: 'GET' | 'POST',
  onResponse: (res: { pause(): unknown }) => void,
): Promise<Writable> {
  if (client === 'h2') {
    const session = await h2ViaProxy(proxyPort, authority, loupe.ca.certPem);
    const stream: http2.ClientHttp2Stream = session.request(
      { ':method': method, ':path': '/' },
      { endStream: method === 'GET' },
    );
    stream.on('error', () => undefined);
    stream.once('response', () => onResponse(stream));
    return stream;
  }
  const host = authority.replace(/:\d+$/, '');
  const { socket } = await tlsThroughProxy(proxyPort, authority, {
    ca: loupe.ca.certPem,
    servername: host,
    ALPNProtocols: ['http/1.1'],
  });
  const req = https.request({
    method,
    host,
    path: '/',
    headers: method === 'POST' ? { 'Content-Length': String(4 * limit) } : {},
    createConnection: () => socket,
    agent: undefined,
  } as https.RequestOptions);
  req.on('error', () => undefined);
  req.once('response', (res: http.IncomingMessage) => onResponse(res));
  if (method === 'GET') req.end();
  return req;
}

describe('backpressure through the interception', () => {
  for (const client of ['h1', 'h2'] as const) {
    for (const server of ['h1', 'h2'] as const) {
      it(`client ${client} ↔ server ${server}: stops the server within a few MB when the client stops reading`, async () => {
        const accepted = deferred<number>();
        const port = await upstream(server, (_req, res) => {
          res.writeHead(200);
          void fillUntilStuck(res, chunk, limit).then(accepted.resolve);
        });
        const h = await intercepting();
        const body = await open(client, h.proxy.port, `${server}.test:${port}`, 'GET', (res) =>
          res.pause(),
        );
        try {
          expect(await deadline(accepted.promise, 'the server to be stuck writing')).toBeLessThan(
            limit,
          );
        } finally {
          body.destroy();
        }
      });

      it(`client ${client} ↔ server ${server}: stops the client within a few MB when the server stops reading`, async () => {
        const port = await upstream(server, (req) => req.pause());
        const h = await intercepting();
        const body = await open(client, h.proxy.port, `${server}.test:${port}`, 'POST', () => {
          throw new Error('the server never answers');
        });
        try {
          expect(await fillUntilStuck(body, chunk, limit)).toBeLessThan(limit);
        } finally {
          body.destroy();
        }
      });
    }
  }
});
