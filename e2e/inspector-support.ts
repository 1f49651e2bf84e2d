/**
 * An upstream for the inspector specs: a gzip-encoded JSON answer with headers in a known order,
 * a real PNG, binary bytes, an 8 MiB JSON document, an echo of whatever request arrives (for the
 * cURL round trip) and a WebSocket echo. Plus a minimal WebSocket client that goes through the
 * proxy with hand-made frames, since `ws` speaks only directly to a server.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import zlib from 'node:zlib';
import { WebSocketServer } from 'ws';

export interface Received {
  method: string;
  url: string;
  rawHeaders: string[];
  body: Buffer;
}

/** The headers of /gzip-json, in the order the server sends them. */
export const GZIP_HEADERS: [string, string][] = [
  ['X-Zulu-First', 'one'],
  ['Content-Type', 'application/json; charset=utf-8'],
  ['X-Alpha-Second', 'two'],
  ['Content-Encoding', 'gzip'],
  ['x-MiXeD-Case', 'three'],
];

export const GZIP_DOC = { greeting: 'hello from gzip', nested: { list: [1, 2, 3], flag: true } };

/** A PNG chunk: length, type, data, CRC. */
function pngChunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(zlib.crc32(body) >>> 0);
  return Buffer.concat([len, body, crc]);
}

/** A real `w`×`h` RGB PNG, red. */
export function makePng(w: number, h: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  const row = Buffer.concat([Buffer.from([0]), Buffer.alloc(w * 3, 0)]);
  for (let x = 0; x < w; x++) row[1 + x * 3] = 255;
  const raw = Buffer.concat(Array.from({ length: h }, () => row));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', zlib.deflateSync(raw)),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A JSON document of about `bytes` bytes, its last item's id known. */
export function bigJson(bytes: number): { text: string; lastId: number } {
  const items: string[] = [];
  let size = 2;
  let id = 0;
  while (size < bytes) {
    const item = JSON.stringify({ id, name: `item ${id}`, pad: 'x'.repeat(40) });
    items.push(item);
    size += item.length + 1;
    id++;
  }
  return { text: `[${items.join(',')}]`, lastId: id - 1 };
}

export const BIG = bigJson(8 * 1024 * 1024);
export const BINARY = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

export interface InspectorUpstream {
  port: number;
  received: Received[];
  close(): Promise<void>;
}

export async function startInspectorUpstream(): Promise<InspectorUpstream> {
  const received: Received[] = [];
  const png = makePng(3, 2);
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      received.push({ method: req.method!, url: req.url!, rawHeaders: req.rawHeaders, body });
      const path = req.url!.split('?')[0];
      if (path === '/gzip-json') {
        const gz = zlib.gzipSync(JSON.stringify(GZIP_DOC));
        res.writeHead(200, 'OK', [...GZIP_HEADERS.flat(), 'Content-Length', String(gz.length)]);
        res.end(gz);
      } else if (path === '/pixel.png') {
        res.writeHead(200, { 'Content-Type': 'image/png' });
        res.end(png);
      } else if (path === '/binary') {
        res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
        res.end(BINARY);
      } else if (path === '/big.json') {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(BIG.text);
      } else {
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        res.end(`echo ${req.method} ${req.url} ${body.length}`);
      }
    });
  });
  const wss = new WebSocketServer({ server, path: '/ws' });
  wss.on('connection', (socket) => {
    socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    received,
    close: () =>
      new Promise<void>((r) => {
        for (const client of wss.clients) client.terminate();
        wss.close();
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** One masked client frame (RFC 6455 §5.2), payload under 64 KiB. */
function clientFrame(opcode: number, payload: Buffer): Buffer {
  const mask = randomBytes(4);
  const head =
    payload.length < 126
      ? Buffer.from([0x80 | opcode, 0x80 | payload.length])
      : Buffer.from([0x80 | opcode, 0x80 | 126, payload.length >> 8, payload.length & 0xff]);
  const masked = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]!));
  return Buffer.concat([head, mask, masked]);
}

/**
 * Opens `ws://host:port/ws` through the proxy (absolute-form GET with Upgrade), sends `messages`
 * (strings as text, Buffers as binary), waits for as many echoes, and closes.
 */
export function webSocketThroughProxy(
  proxyPort: number,
  target: string,
  messages: (string | Buffer)[],
): Promise<void> {
  return new Promise((resolve, reject) => {
    const url = new URL(target);
    const req = http.request({
      host: '127.0.0.1',
      port: proxyPort,
      path: `http://${url.host}${url.pathname}`,
      headers: {
        Host: url.host,
        Upgrade: 'websocket',
        Connection: 'Upgrade',
        'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
        'Sec-WebSocket-Version': '13',
      },
    });
    req.on('error', reject);
    req.on('response', (res) => reject(new Error(`no upgrade: ${res.statusCode}`)));
    req.on('upgrade', (_res, socket) => {
      let got = Buffer.alloc(0);
      let echoes = 0;
      socket.on('data', (d: Buffer) => {
        got = Buffer.concat([got, d]);
        // Unmasked server frames, payloads under 126 bytes here.
        while (got.length >= 2 && got.length >= 2 + (got[1]! & 0x7f)) {
          got = got.subarray(2 + (got[1]! & 0x7f));
          echoes++;
        }
        if (echoes === messages.length) {
          socket.end(clientFrame(8, Buffer.from([0x03, 0xe8])));
        }
      });
      socket.on('close', () => resolve());
      socket.on('error', reject);
      for (const m of messages) {
        socket.write(typeof m === 'string' ? clientFrame(1, Buffer.from(m)) : clientFrame(2, m));
      }
    });
    req.end();
  });
}
