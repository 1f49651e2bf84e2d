import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { parseDeflateParams, type WsMessage } from '../../src-common/websocket';
import { FrameParser, WsSession, type WsSessionOptions } from './ws-frames';

interface FrameOpts {
  fin?: boolean;
  rsv1?: boolean;
  /** Client frames are masked (the RFC's rule); pass false to break it. */
  mask?: boolean;
  /** Raw first byte bits to add (RSV2 = 0x20, RSV3 = 0x10). */
  extraBits?: number;
}

/** One frame as a peer would write it; client frames masked with a fixed key. */
function frame(opcode: number, payload: Buffer | string, o: FrameOpts = {}): Buffer {
  const body = Buffer.from(payload);
  const masked = o.mask ?? false;
  const b0 = (o.fin === false ? 0 : 0x80) | (o.rsv1 ? 0x40 : 0) | (o.extraBits ?? 0) | opcode;
  let head: Buffer;
  if (body.length < 126) head = Buffer.from([b0, body.length]);
  else if (body.length < 65536) {
    head = Buffer.alloc(4);
    head[0] = b0;
    head[1] = 126;
    head.writeUInt16BE(body.length, 2);
  } else {
    head = Buffer.alloc(10);
    head[0] = b0;
    head[1] = 127;
    head.writeBigUInt64BE(BigInt(body.length), 2);
  }
  if (!masked) return Buffer.concat([head, body]);
  head[1]! |= 0x80;
  const key = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);
  const out = Buffer.from(body);
  for (let i = 0; i < out.length; i++) out[i]! ^= key[i & 3]!;
  return Buffer.concat([head, key, out]);
}

const client = (opcode: number, payload: Buffer | string, o: FrameOpts = {}): Buffer =>
  frame(opcode, payload, { mask: true, ...o });

/** What a permessage-deflate sender puts on the wire: raw deflate, sync-flushed, tail removed. */
function deflate(data: Buffer | string, opts: zlib.ZlibOptions = {}): Buffer {
  const out = zlib.deflateRawSync(data, { ...opts, finishFlush: zlib.constants.Z_SYNC_FLUSH });
  expect(out.subarray(-4)).toEqual(Buffer.from([0, 0, 0xff, 0xff]));
  return out.subarray(0, -4);
}

/** Runs bytes through a session (each array element pushed as one chunk) and collects it all. */
async function read(
  chunks: { client?: Buffer[]; server?: Buffer[] },
  opts: Partial<WsSessionOptions> = {},
): Promise<{ messages: WsMessage[]; session: WsSession }> {
  const messages: WsMessage[] = [];
  const session = new WsSession({ ...opts, onMessage: (m) => messages.push(m) });
  for (const c of chunks.client ?? []) session.fromClient(c);
  for (const c of chunks.server ?? []) session.fromServer(c);
  await session.settled();
  session.dispose();
  return { messages, session };
}

const pick = (m: WsMessage): Partial<WsMessage> => ({
  direction: m.direction,
  opcode: m.opcode,
  data: m.data,
  size: m.size,
  ...(m.encoding ? { encoding: m.encoding } : {}),
  ...(m.truncated ? { truncated: true } : {}),
});

const DEFLATE = 'permessage-deflate';

describe('FrameParser', () => {
  const cases: [string, Buffer, boolean, string][] = [
    ['unmasked text', frame(1, 'hello'), false, 'hello'],
    ['masked text', client(1, 'hello, server'), true, 'hello, server'],
    ['16-bit length', frame(2, 'x'.repeat(300)), false, 'x'.repeat(300)],
    ['64-bit length', client(2, 'y'.repeat(70_000)), true, 'y'.repeat(70_000)],
    ['empty payload', frame(9, ''), false, ''],
  ];
  it.each(cases)('reads %s split at every byte', (_name, bytes, masked, payload) => {
    // 70 KB at every split point is slow for nothing; its head and a few cuts cover it.
    const cuts =
      bytes.length > 1000
        ? [1, 2, 5, 9, 10, 13, 14, 15, 1000, bytes.length - 1]
        : Array.from({ length: bytes.length + 1 }, (_, i) => i);
    for (const cut of cuts) {
      const parser = new FrameParser(masked, false);
      const events = [...parser.push(bytes.subarray(0, cut)), ...parser.push(bytes.subarray(cut))];
      const heads = events.filter((e) => e.type === 'head');
      expect(heads).toHaveLength(1);
      const data = Buffer.concat(
        events.flatMap((e) => (e.type === 'payload' ? [e.data] : [])),
      ).toString();
      expect(data).toBe(payload);
      expect(events.at(-1)).toEqual({ type: 'end' });
    }
  });

  it('reads a frame pushed one byte at a time, masking offset carried across pushes', () => {
    const bytes = client(1, 'byte by byte, masked');
    const parser = new FrameParser(true, false);
    const events = [...bytes].flatMap((b) => parser.push(Buffer.from([b])));
    const data = Buffer.concat(events.flatMap((e) => (e.type === 'payload' ? [e.data] : [])));
    expect(data.toString()).toBe('byte by byte, masked');
  });

  const errors: [string, Buffer, boolean, boolean, RegExp][] = [
    ['an unmasked client frame', frame(1, 'x'), true, false, /client frame is not masked/],
    ['a masked server frame', client(1, 'x'), false, false, /server frame is masked/],
    ['a reserved opcode', frame(3, 'x'), false, false, /opcode 3 is reserved/],
    ['a fragmented ping', frame(9, 'x', { fin: false }), false, false, /fragmented/],
    ['a 126-byte ping', frame(9, 'p'.repeat(126)), false, false, /at most 125/],
    ['RSV1 without deflate', frame(1, 'x', { rsv1: true }), false, false, /not agreed/],
    ['RSV2', frame(1, 'x', { extraBits: 0x20 }), false, true, /RSV2 or RSV3/],
    [
      'a 64-bit length with its top bit set',
      Buffer.from([0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 1]),
      false,
      false,
      /top bit/,
    ],
  ];
  it.each(errors)('reports %s in words and reads nothing after', (_n, bytes, masked, rsv1, re) => {
    const parser = new FrameParser(masked, rsv1);
    const events = parser.push(bytes);
    expect(events).toEqual([{ type: 'error', message: expect.stringMatching(re) as string }]);
    expect(parser.push(frame(1, 'later'))).toEqual([]);
  });
});

describe('WsSession messages', () => {
  it('reads text, binary, ping, pong and close both ways, with directions and the close', async () => {
    const { messages, session } = await read({
      client: [
        client(1, 'hi'),
        client(2, Buffer.from([0, 1, 2, 255])),
        client(9, 'are you there'),
        client(8, Buffer.concat([Buffer.from([0x03, 0xe8]), Buffer.from('bye')])),
      ],
      server: [frame(1, 'héllo'), frame(10, 'are you there'), frame(8, Buffer.from([3, 0xe8]))],
    });
    expect(messages.map(pick)).toEqual([
      { direction: 'send', opcode: 1, data: 'hi', size: 2 },
      { direction: 'send', opcode: 2, data: 'AAEC/w==', size: 4, encoding: 'base64' },
      { direction: 'send', opcode: 9, data: 'are you there', size: 13 },
      { direction: 'send', opcode: 8, data: 'bye', size: 5 },
      { direction: 'receive', opcode: 1, data: 'héllo', size: 6 },
      { direction: 'receive', opcode: 10, data: 'are you there', size: 13 },
      { direction: 'receive', opcode: 8, data: '', size: 2 },
    ]);
    expect(session.summary).toEqual({
      messagesDropped: 0,
      closeCode: 1000,
      closeReason: 'bye',
      closedBy: 'client',
    });
    expect(messages.every((m) => m.time > 0 && m.compressed === false)).toBe(true);
  });

  it('assembles a fragmented message around an interleaved ping, split at every byte', async () => {
    const bytes = Buffer.concat([
      client(1, 'frag', { fin: false }),
      client(0, 'men', { fin: false }),
      client(9, 'ping!'),
      client(0, 'ted'),
    ]);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const { messages } = await read({ client: [bytes.subarray(0, cut), bytes.subarray(cut)] });
      expect(messages.map(pick)).toEqual([
        { direction: 'send', opcode: 9, data: 'ping!', size: 5 },
        { direction: 'send', opcode: 1, data: 'fragmented', size: 10 },
      ]);
      expect(messages[1]!.wireSize).toBe(10);
    }
  });

  it('keeps a message up to the cap, marks it truncated and still counts its size', async () => {
    const { messages } = await read(
      { server: [frame(1, 'z'.repeat(10_000)), frame(2, Buffer.alloc(3000, 7))] },
      { messageCap: 1024 },
    );
    expect(messages.map((m) => [m.size, m.data!.length, m.truncated])).toEqual([
      [10_000, 1024, true],
      [3000, Buffer.alloc(1024, 7).toString('base64').length, true],
    ]);
  });

  it('keeps at most maxMessages per connection and counts the rest as dropped', async () => {
    const { messages, session } = await read(
      {
        client: [1, 2, 3].map((n) => client(1, `c${n}`)),
        server: [frame(1, 's1'), frame(1, 's2')],
      },
      { maxMessages: 2 },
    );
    expect(messages.map((m) => m.data)).toEqual(['c1', 'c2']);
    expect(session.summary.messagesDropped).toBe(3);
  });

  const protocolErrors: [string, { client?: Buffer[]; server?: Buffer[] }, RegExp][] = [
    [
      'a continuation with nothing to continue',
      { server: [frame(0, 'x')] },
      /server→client messages: a continuation frame arrived with no message to continue/,
    ],
    [
      'a new message inside a fragmented one',
      { client: [client(1, 'a', { fin: false }), client(1, 'b')] },
      /client→server messages: a new message began before the fragmented one before it ended/,
    ],
    [
      'RSV1 on a continuation',
      { server: [frame(1, 'a', { fin: false }), frame(0, 'b', { rsv1: true })] },
      /continuation frame has RSV1 set/,
    ],
    ['an unmasked client frame', { client: [frame(1, 'x')] }, /client frame is not masked/],
  ];
  it.each(protocolErrors)('reports %s in words on the summary', async (_n, chunks, re) => {
    const rsv1 = chunks.server?.some((b) => (b[0]! & 0x40) !== 0);
    const { messages, session } = await read(chunks, rsv1 ? { extensions: DEFLATE } : {});
    expect(messages).toEqual([]);
    expect(session.summary.error).toMatch(re);
  });
});

describe('WsSession permessage-deflate', () => {
  it('inflates a compressed message split at every byte', async () => {
    const text = 'compress me, compress me, compress me please';
    const bytes = client(1, deflate(text), { rsv1: true });
    for (let cut = 0; cut <= bytes.length; cut++) {
      const { messages } = await read(
        { client: [bytes.subarray(0, cut), bytes.subarray(cut)] },
        { extensions: DEFLATE },
      );
      expect(messages.map(pick)).toEqual([
        { direction: 'send', opcode: 1, data: text, size: text.length },
      ]);
      expect(messages[0]).toMatchObject({ compressed: true, wireSize: bytes.length - 6 });
    }
  });

  it('inflates a compressed message fragmented over frames (RSV1 on the first only)', async () => {
    const body = deflate('a fragmented and compressed message'.repeat(20));
    const { messages } = await read(
      {
        server: [
          frame(1, body.subarray(0, 10), { fin: false, rsv1: true }),
          frame(9, 'mid'),
          frame(0, body.subarray(10)),
        ],
      },
      { extensions: DEFLATE },
    );
    // The ping completed first on the wire, so it comes first.
    expect(messages.map((m) => [m.opcode, m.data])).toEqual([
      [9, 'mid'],
      [1, 'a fragmented and compressed message'.repeat(20)],
    ]);
  });

  it('keeps the order of completion when a plain frame follows a compressed message', async () => {
    const { messages } = await read(
      { server: [frame(2, deflate(Buffer.alloc(200_000, 1)), { rsv1: true }), frame(9, 'after')] },
      { extensions: DEFLATE },
    );
    expect(messages.map((m) => [m.opcode, m.size])).toEqual([
      [2, 200_000],
      [9, 5],
    ]);
  });

  const first = 'the quick brown fox jumps over the lazy dog; '.repeat(4);
  const second = 'the quick brown fox jumps over the lazy dog again';
  // A compressor keeping its context may refer back into the previous message: deflating with
  // the previous message as dictionary produces exactly such a stream.
  const withContext = [
    frame(1, deflate(first), { rsv1: true }),
    frame(1, deflate(second, { dictionary: Buffer.from(first) }), { rsv1: true }),
  ];

  it('keeps the compression context between messages (context takeover)', async () => {
    expect(deflate(second, { dictionary: Buffer.from(first) }).length).toBeLessThan(
      deflate(second).length,
    );
    const { messages } = await read({ server: withContext }, { extensions: DEFLATE });
    expect(messages.map((m) => [m.data, m.error])).toEqual([
      [first, undefined],
      [second, undefined],
    ]);
  });

  it('starts each message afresh under server_no_context_takeover', async () => {
    const fresh = [
      frame(1, deflate(first), { rsv1: true }),
      frame(1, deflate(second), { rsv1: true }),
    ];
    const extensions = `${DEFLATE}; server_no_context_takeover`;
    const ok = await read({ server: fresh }, { extensions });
    expect(ok.messages.map((m) => m.data)).toEqual([first, second]);
    // A sender that (wrongly) kept its context is now unreadable: proof the context was reset.
    const broken = await read({ server: withContext }, { extensions });
    expect(broken.messages[1]).toMatchObject({ opcode: 1, compressed: true });
    expect(broken.messages[1]!.error).toMatch(/compressed payload is corrupt/);
    // The client's direction keeps its context: no_context_takeover was only the server's.
    const clientSide = await read(
      {
        client: [
          client(1, deflate(first), { rsv1: true }),
          client(1, deflate(second, { dictionary: Buffer.from(first) }), { rsv1: true }),
        ],
      },
      { extensions },
    );
    expect(clientSide.messages.map((m) => m.data)).toEqual([first, second]);
  });

  it('honours a negotiated window size', async () => {
    const text = 'windowed '.repeat(500);
    const { messages } = await read(
      { client: [client(1, deflate(text, { windowBits: 10 }), { rsv1: true })] },
      { extensions: `${DEFLATE}; client_max_window_bits=10` },
    );
    expect(messages[0]!.data).toBe(text);
  });

  it('stops a decompression bomb at the inflate cap and says so', async () => {
    const bomb = deflate(Buffer.alloc(64 * 1024 * 1024));
    expect(bomb.length).toBeLessThan(100_000);
    const started = Date.now();
    const { messages } = await read(
      {
        server: [
          frame(2, bomb, { rsv1: true }),
          frame(1, deflate('next'), { rsv1: true }),
          frame(1, 'plain'),
        ],
      },
      { extensions: DEFLATE, messageCap: 1024, inflateCap: 1024 * 1024 },
    );
    expect(Date.now() - started).toBeLessThan(2000);
    const [capped, next, plain] = messages;
    expect(capped).toMatchObject({ opcode: 2, truncated: true, compressed: true });
    expect(capped!.size).toBeGreaterThanOrEqual(1024 * 1024);
    expect(capped!.size).toBeLessThan(1024 * 1024 + 128 * 1024);
    expect(Buffer.from(capped!.data!, 'base64')).toEqual(Buffer.alloc(1024));
    expect(capped!.error).toMatch(/inflate cap.*decompression bomb/);
    // The context is lost with the bomb: later compressed messages cannot be read, plain ones can.
    expect(next!.data).toBeUndefined();
    expect(next!.error).toMatch(/earlier message in this direction could not be/);
    expect(plain!.data).toBe('plain');
  });

  it('reads on after a bomb when each message has its own context', async () => {
    const { messages } = await read(
      {
        server: [
          frame(2, deflate(Buffer.alloc(8 * 1024 * 1024)), { rsv1: true }),
          frame(1, deflate('next'), { rsv1: true }),
        ],
      },
      {
        extensions: `${DEFLATE}; server_no_context_takeover`,
        messageCap: 1024,
        inflateCap: 64 * 1024,
      },
    );
    expect(messages[0]!.error).toMatch(/decompression bomb/);
    expect(messages[1]!.data).toBe('next');
  });
});

describe('parseDeflateParams', () => {
  const cases: [string | undefined, ReturnType<typeof parseDeflateParams>][] = [
    [undefined, undefined],
    ['x-webkit-deflate-frame', undefined],
    [
      'permessage-deflate',
      {
        serverNoContextTakeover: false,
        clientNoContextTakeover: false,
        serverMaxWindowBits: 15,
        clientMaxWindowBits: 15,
      },
    ],
    [
      'foo, permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits="9"',
      {
        serverNoContextTakeover: true,
        clientNoContextTakeover: true,
        serverMaxWindowBits: 10,
        clientMaxWindowBits: 9,
      },
    ],
    [
      'Permessage-Deflate; server_max_window_bits=16',
      {
        serverNoContextTakeover: false,
        clientNoContextTakeover: false,
        serverMaxWindowBits: 15,
        clientMaxWindowBits: 15,
      },
    ],
  ];
  it.each(cases)('parses %s', (header, expected) => {
    expect(parseDeflateParams(header)).toEqual(expected);
  });
});
