// WebSocket capture behind the real engine: a real WebSocket server (node:http 'upgrade' and a
// small frame codec written here, independent of engine/ws-frames.ts), a raw client speaking
// through the proxy, capture into a flow store, and the HAR written from it. It lives with the
// addons because the engine's folder may not import capture or the flow store.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import zlib from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { HttpFlow } from '../../src-common/flow';
import type { HarWebSocketMessage } from '../../src-common/har/export';
import type { WsMessage } from '../../src-common/websocket';
import { startProxy, type RunningProxy } from '../engine/index';
import { BodyStore } from '../flows/body-store';
import { FlowStore } from '../flows/flow-store';
import { writeHarFile } from '../flows/har-file';
import { withMessageData } from '../flows/ws-messages';
import { validateHar } from '../test-support/har-schema';
import { until } from '../test-support/wait';
import { createCapture, type Capture } from './capture';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const TAIL = Buffer.from([0, 0, 0xff, 0xff]);

interface Frame {
  fin: boolean;
  rsv1: boolean;
  opcode: number;
  payload: Buffer;
}

function encode(
  opcode: number,
  payload: Buffer,
  o: { mask: boolean; fin?: boolean; rsv1?: boolean },
): Buffer {
  const b0 = (o.fin === false ? 0 : 0x80) | (o.rsv1 ? 0x40 : 0) | opcode;
  const len = payload.length;
  const head =
    len < 126
      ? Buffer.from([b0, len])
      : len < 65536
        ? Buffer.from([b0, 126, len >> 8, len & 0xff])
        : Buffer.concat([Buffer.from([b0, 127]), Buffer.alloc(8)]);
  if (len >= 65536) head.writeBigUInt64BE(BigInt(len), 2);
  if (!o.mask) return Buffer.concat([head, payload]);
  head[1]! |= 0x80;
  const key = randomBytes(4);
  const body = Buffer.from(payload);
  for (let i = 0; i < body.length; i++) body[i]! ^= key[i & 3]!;
  return Buffer.concat([head, key, body]);
}

/** Buffers bytes and returns the frames they complete. */
class Decoder {
  private buf = Buffer.alloc(0);
  push(chunk: Buffer): Frame[] {
    this.buf = Buffer.concat([this.buf, chunk]);
    const out: Frame[] = [];
    for (;;) {
      if (this.buf.length < 2) return out;
      const b1 = this.buf[1]!;
      let len = b1 & 0x7f;
      let at = 2;
      if (len === 126) [len, at] = [this.buf.length >= 4 ? this.buf.readUInt16BE(2) : -1, 4];
      else if (len === 127)
        [len, at] = [this.buf.length >= 10 ? Number(this.buf.readBigUInt64BE(2)) : -1, 10];
      const masked = (b1 & 0x80) !== 0;
      const start = at + (masked ? 4 : 0);
      if (len < 0 || this.buf.length < start + len) return out;
      const payload = Buffer.from(this.buf.subarray(start, start + len));
      if (masked) for (let i = 0; i < len; i++) payload[i]! ^= this.buf[at + (i & 3)]!;
      const b0 = this.buf[0]!;
      out.push({ fin: (b0 & 0x80) !== 0, rsv1: (b0 & 0x40) !== 0, opcode: b0 & 0x0f, payload });
      this.buf = this.buf.subarray(start + len);
    }
  }
}

/** One zlib stream kept across messages (context takeover), used one message at a time. */
function zlibPipe(stream: zlib.DeflateRaw | zlib.InflateRaw): (input: Buffer) => Promise<Buffer> {
  let parts: Buffer[] = [];
  let chain = Promise.resolve();
  stream.on('data', (d: Buffer) => parts.push(d));
  return (input) => {
    const run = chain.then(
      () =>
        new Promise<Buffer>((resolve) => {
          stream.write(input);
          stream.flush(zlib.constants.Z_SYNC_FLUSH, () => {
            const out = Buffer.concat(parts);
            parts = [];
            resolve(out);
          });
        }),
    );
    chain = run.then(() => undefined);
    return run;
  };
}

function compressor(): {
  compress(b: Buffer): Promise<Buffer>;
  inflate(b: Buffer): Promise<Buffer>;
} {
  const deflate = zlibPipe(zlib.createDeflateRaw());
  const inflate = zlibPipe(zlib.createInflateRaw());
  return {
    compress: async (b) => (await deflate(b)).subarray(0, -4),
    inflate: (b) => inflate(Buffer.concat([b, TAIL])),
  };
}

/** Bytes each side of the upstream's WebSocket saw after the handshake. */
interface ServerConn {
  received: Buffer[];
  sent: Buffer[];
}

let dir: string;
let server: http.Server;
let serverPort: number;
let conns: ServerConn[];
let proxy: RunningProxy;
let flows: FlowStore;
let bodies: BodyStore;
let capture: Capture;

/**
 * An echo server: data messages come back as one frame (compressed when the client offered
 * permessage-deflate), pings get pongs, a close is answered with the same code and ends the
 * connection.
 */
function startServer(): Promise<void> {
  conns = [];
  server = http.createServer((_req, res) => res.writeHead(426).end());
  server.on('upgrade', (req, socket: net.Socket, head: Buffer) => {
    const accept = createHash('sha1')
      .update(`${req.headers['sec-websocket-key']}${GUID}`)
      .digest('base64');
    const deflate = /permessage-deflate/.test(req.headers['sec-websocket-extensions'] ?? '');
    socket.write(
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        `Sec-WebSocket-Accept: ${accept}\r\n` +
        (deflate ? 'Sec-WebSocket-Extensions: permessage-deflate\r\n' : '') +
        '\r\n',
    );
    const conn: ServerConn = { received: [], sent: [] };
    conns.push(conn);
    const z = compressor();
    const send = (bytes: Buffer): void => {
      conn.sent.push(bytes);
      socket.write(bytes);
    };
    let chain = Promise.resolve();
    let message: Frame[] = [];
    const decoder = new Decoder();
    const onBytes = (chunk: Buffer): void => {
      conn.received.push(chunk);
      for (const f of decoder.push(chunk)) {
        chain = chain.then(async () => {
          if (f.opcode === 9) return send(encode(10, f.payload, { mask: false }));
          if (f.opcode === 8) {
            send(encode(8, f.payload, { mask: false }));
            socket.end();
            return;
          }
          message.push(f);
          if (!f.fin) return;
          const [first] = message;
          let payload: Buffer = Buffer.concat(message.map((m) => m.payload));
          message = [];
          if (first!.rsv1) payload = await z.inflate(payload);
          const out = deflate ? await z.compress(payload) : payload;
          send(encode(first!.opcode, out, { mask: false, rsv1: deflate }));
        });
      }
    };
    if (head.length) onBytes(head);
    socket.on('data', onBytes);
    socket.on('error', () => undefined);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      serverPort = (server.address() as net.AddressInfo).port;
      resolve();
    }),
  );
}

/** A WebSocket client through the proxy (absolute-form upgrade), recording the bytes it moved. */
async function connect(extensions?: string): Promise<{
  socket: net.Socket;
  sent: Buffer[];
  received: Buffer[];
  frames: Frame[];
  responseHead: string;
  send(opcode: number, payload: Buffer | string, o?: { fin?: boolean; rsv1?: boolean }): void;
  waitFrames(n: number): Promise<void>;
}> {
  const socket = net.connect(proxy.port, '127.0.0.1');
  socket.write(
    `GET http://127.0.0.1:${serverPort}/chat HTTP/1.1\r\nHost: 127.0.0.1:${serverPort}\r\n` +
      'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n' +
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\n` +
      (extensions ? `Sec-WebSocket-Extensions: ${extensions}\r\n` : '') +
      '\r\n',
  );
  const sent: Buffer[] = [];
  const received: Buffer[] = [];
  const frames: Frame[] = [];
  const decoder = new Decoder();
  let head = Buffer.alloc(0);
  const responseHead = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      const rest = head.subarray(end + 4);
      socket.on('data', (d: Buffer) => {
        received.push(d);
        frames.push(...decoder.push(d));
      });
      if (rest.length) {
        received.push(rest);
        frames.push(...decoder.push(rest));
      }
      resolve(head.subarray(0, end).toString('latin1'));
    };
    socket.on('data', onData);
    socket.on('error', reject);
  });
  return {
    socket,
    sent,
    received,
    frames,
    responseHead,
    send(opcode, payload, o = {}) {
      const bytes = encode(opcode, Buffer.from(payload), { mask: true, ...o });
      sent.push(bytes);
      socket.write(bytes);
    },
    waitFrames: (n) =>
      until(
        `${n} frames back`,
        (notify) => {
          socket.on('data', notify);
          return () => socket.off('data', notify);
        },
        () => frames.length >= n,
      ),
  };
}

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'loupe-ws-'));
  await startServer();
  proxy = await startProxy();
  flows = new FlowStore();
  bodies = new BodyStore({ dir });
  capture = createCapture({ hooks: proxy.hooks, flows, bodies });
});

afterEach(async () => {
  capture.dispose();
  await proxy.close();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await bodies.close();
  rmSync(dir, { recursive: true, force: true });
});

/**
 * The one flow, once its connection has closed and capture has it complete, with its messages'
 * payloads read back from the body store as the API serves them.
 */
async function finishedFlow(): Promise<HttpFlow> {
  await until(
    'the flow to be complete',
    (notify) => flows.subscribe(notify),
    () => flows.list()[0]?.state === 'complete',
  );
  return (await withMessageData(flows.list()[0]!, bodies)) as HttpFlow;
}

const summary = (m: WsMessage): [string, number, string | undefined] => [
  m.direction,
  m.opcode,
  m.data,
];

describe('WebSocket capture through the proxy', () => {
  it('captures text, binary, a 70 KB message, fragments and ping/pong both ways, bytes unchanged', async () => {
    const ws = await connect();
    expect(ws.responseHead).toMatch(/^HTTP\/1\.1 101 /);
    const big = 'abcdefghij'.repeat(7000);
    const binary = randomBytes(300);
    ws.send(1, 'hello');
    ws.send(2, binary);
    ws.send(1, big);
    ws.send(1, 'frag', { fin: false });
    ws.send(9, 'ping in between');
    ws.send(0, 'mented');
    await ws.waitFrames(5);
    ws.send(8, Buffer.concat([Buffer.from([0x03, 0xe8]), Buffer.from('done')]));
    await new Promise((resolve) => ws.socket.on('close', resolve));

    const flow = await finishedFlow();
    expect(flow.response?.status).toBe(101);
    const record = flow.websocket!;
    expect(record).toMatchObject({
      closeCode: 1000,
      closeReason: 'done',
      closedBy: 'client',
      messagesDropped: 0,
    });
    const send = record.messages.filter((m) => m.direction === 'send').map(summary);
    const receive = record.messages.filter((m) => m.direction === 'receive').map(summary);
    expect(send).toEqual([
      ['send', 1, 'hello'],
      ['send', 2, binary.toString('base64')],
      ['send', 1, big],
      ['send', 9, 'ping in between'],
      ['send', 1, 'fragmented'],
      ['send', 8, 'done'],
    ]);
    expect(receive).toEqual([
      ['receive', 1, 'hello'],
      ['receive', 2, binary.toString('base64')],
      ['receive', 1, big],
      ['receive', 10, 'ping in between'],
      ['receive', 1, 'fragmented'],
      ['receive', 8, 'done'],
    ]);
    const bigMessage = record.messages.find((m) => m.size === 70_000)!;
    expect(bigMessage).toMatchObject({ wireSize: 70_000, compressed: false });
    expect(bigMessage.truncated).toBeUndefined();

    // Every byte either way arrived exactly as it was sent.
    const conn = conns[0]!;
    expect(Buffer.concat(conn.received)).toEqual(Buffer.concat(ws.sent));
    expect(Buffer.concat(ws.received)).toEqual(Buffer.concat(conn.sent));

    // HAR: Chrome DevTools' WebSocket fields, time in seconds.
    const file = join(dir, 'out.har');
    await writeHarFile(file, flows.list(), bodies, { creatorVersion: 'test' });
    const har = JSON.parse(readFileSync(file, 'utf8')) as {
      log: { entries: { _resourceType?: string; _webSocketMessages?: HarWebSocketMessage[] }[] };
    };
    expect(validateHar(har)).toEqual([]);
    const entry = har.log.entries[0]!;
    expect(entry._resourceType).toBe('websocket');
    const messages = entry._webSocketMessages!;
    expect(messages).toHaveLength(record.messages.length);
    expect(messages[0]).toEqual({
      type: 'send',
      time: record.messages[0]!.time / 1000,
      opcode: 1,
      data: 'hello',
    });
    expect(Math.abs(messages[0]!.time - Date.now() / 1000)).toBeLessThan(60);
    expect(messages.find((m) => m.type === 'receive' && m.opcode === 2)?.data).toBe(
      binary.toString('base64'),
    );
  });

  it('decompresses a permessage-deflate conversation that keeps its context', async () => {
    const ws = await connect('permessage-deflate; client_max_window_bits');
    expect(ws.responseHead).toMatch(/Sec-WebSocket-Extensions: permessage-deflate/i);
    const z = compressor();
    const texts = [
      'the same words again and again and again',
      'the same words again and again and again, and once more',
      JSON.stringify({
        items: Array.from({ length: 200 }, (_, i) => ({ id: i, name: `item ${i}` })),
      }),
    ];
    for (const text of texts) ws.send(1, await z.compress(Buffer.from(text)), { rsv1: true });
    ws.send(2, await z.compress(Buffer.alloc(5000, 9)), { rsv1: true });
    ws.send(1, 'not compressed');
    await ws.waitFrames(5);
    ws.send(8, Buffer.from([0x0f, 0xa0]));
    await new Promise((resolve) => ws.socket.on('close', resolve));

    const flow = await finishedFlow();
    const record = flow.websocket!;
    expect(record.extensions).toBe('permessage-deflate');
    expect(record.closeCode).toBe(4000);
    for (const direction of ['send', 'receive'] as const) {
      const list = record.messages.filter((m) => m.direction === direction);
      expect(list.map((m) => [m.opcode, m.compressed, m.error])).toEqual([
        [1, true, undefined],
        [1, true, undefined],
        [1, true, undefined],
        [2, true, undefined],
        // The echo compresses everything it sends.
        [1, direction === 'receive', undefined],
        [8, false, undefined],
      ]);
      expect(list.slice(0, 3).map((m) => m.data)).toEqual(texts);
      expect(Buffer.from(list[3]!.data!, 'base64')).toEqual(Buffer.alloc(5000, 9));
      expect(list[3]!.size).toBe(5000);
      expect(list[3]!.wireSize).toBeLessThan(100);
      expect(list[4]!.data).toBe('not compressed');
    }
    const conn = conns[0]!;
    expect(Buffer.concat(conn.received)).toEqual(Buffer.concat(ws.sent));
    expect(Buffer.concat(ws.received)).toEqual(Buffer.concat(conn.sent));
  });
});
