/**
 * Reading WebSocket traffic (RFC 6455) from copies of the relayed bytes, with permessage-deflate
 * (RFC 7692) undone. Nothing here writes to a socket: the relay forwards every chunk before it
 * is parsed, so a slow or failed parse never holds bytes back.
 *
 * Three layers: `FrameParser` cuts one direction's bytes into frames (pure framing, synchronous);
 * `MessageReader` assembles frames into messages, inflating compressed ones through a zlib stream
 * (off the main thread) and handing messages on in the order they completed; `WsSession` holds
 * both directions of a connection, its message limit and its close.
 */
import { isUtf8 } from 'node:buffer';
import zlib from 'node:zlib';
import {
  parseDeflateParams,
  type WebSocketSummary,
  type WsMessage,
} from '../../src-common/websocket';

/** Payload bytes kept per message; past it `data` holds the start and `truncated` is set. */
export const DEFAULT_WS_MESSAGE_CAP = 256 * 1024;
/** Decompressed bytes Loupe produces per message before giving up on it (a bomb stops here). */
export const DEFAULT_WS_INFLATE_CAP = 16 * 1024 * 1024;
/** Messages kept per connection; later ones are only counted. */
export const DEFAULT_WS_MAX_MESSAGES = 5000;

export type FrameEvent =
  | { type: 'head'; fin: boolean; rsv1: boolean; opcode: number; length: number }
  /** Payload bytes, unmasked. May be a view of the pushed chunk: copy to keep beyond the call. */
  | { type: 'payload'; data: Buffer }
  | { type: 'end' }
  /** The bytes are not WebSocket framing (any more); the parser reads nothing after this. */
  | { type: 'error'; message: string };

const isControl = (opcode: number): boolean => opcode >= 8;
const KNOWN_OPCODES = new Set([0, 1, 2, 8, 9, 10]);

/**
 * Incremental frame parser for one direction. `push` takes bytes split anywhere and returns what
 * they completed. `masked` is what the RFC requires of this direction: client frames are masked,
 * server frames are not.
 */
export class FrameParser {
  private head = Buffer.alloc(14);
  private headLen = 0;
  /** Payload bytes still to come in the current frame; -1 while reading a head. */
  private remaining = -1;
  private mask: Buffer | undefined;
  private maskOffset = 0;
  private failed = false;

  constructor(
    private readonly masked: boolean,
    private readonly rsv1Allowed: boolean,
  ) {}

  push(chunk: Buffer): FrameEvent[] {
    const events: FrameEvent[] = [];
    let at = 0;
    while (!this.failed && at < chunk.length) {
      if (this.remaining < 0) {
        const need = this.headNeeded();
        const take = Math.min(need - this.headLen, chunk.length - at);
        chunk.copy(this.head, this.headLen, at, at + take);
        this.headLen += take;
        at += take;
        // The first two bytes say how long the head is; read again until all of it is here.
        if (this.headLen < this.headNeeded()) continue;
        const event = this.readHead();
        events.push(event);
        if (event.type === 'error') {
          this.failed = true;
          break;
        }
        if (this.remaining === 0) this.endFrame(events);
        continue;
      }
      const take = Math.min(this.remaining, chunk.length - at);
      const data = chunk.subarray(at, at + take);
      at += take;
      this.remaining -= take;
      events.push({ type: 'payload', data: this.mask ? this.unmask(data) : data });
      if (this.remaining === 0) this.endFrame(events);
    }
    return events;
  }

  private headNeeded(): number {
    if (this.headLen < 2) return 2;
    const len7 = this.head[1]! & 0x7f;
    const ext = len7 === 126 ? 2 : len7 === 127 ? 8 : 0;
    return 2 + ext + (this.head[1]! & 0x80 ? 4 : 0);
  }

  private readHead(): FrameEvent {
    const b0 = this.head[0]!;
    const b1 = this.head[1]!;
    const fin = (b0 & 0x80) !== 0;
    const rsv1 = (b0 & 0x40) !== 0;
    const opcode = b0 & 0x0f;
    const masked = (b1 & 0x80) !== 0;
    const len7 = b1 & 0x7f;
    let length = len7;
    let at = 2;
    if (len7 === 126) {
      length = this.head.readUInt16BE(2);
      at = 4;
    } else if (len7 === 127) {
      const high = this.head.readUInt32BE(2);
      if (high & 0x80000000) return error('a 64-bit frame length has its top bit set');
      // Past 2^53 a length is no longer exact in a JS number; no real frame comes near.
      if (high > 0x1fffff) return error('a frame longer than 2^53 bytes');
      length = high * 2 ** 32 + this.head.readUInt32BE(6);
      at = 10;
    }
    if (b0 & 0x30) return error('RSV2 or RSV3 is set, but no extension using them was agreed');
    if (rsv1 && !this.rsv1Allowed) {
      return error('RSV1 (compression) is set, but permessage-deflate was not agreed');
    }
    if (!KNOWN_OPCODES.has(opcode)) return error(`opcode ${opcode} is reserved`);
    if (isControl(opcode) && !fin) return error(`a control frame (opcode ${opcode}) is fragmented`);
    if (isControl(opcode) && length > 125) {
      return error(
        `a control frame (opcode ${opcode}) carries ${length} bytes; at most 125 are allowed`,
      );
    }
    if (masked !== this.masked) {
      return error(
        this.masked
          ? 'a client frame is not masked'
          : 'a server frame is masked (servers must not mask)',
      );
    }
    this.mask = masked ? Buffer.from(this.head.subarray(at, at + 4)) : undefined;
    this.maskOffset = 0;
    this.remaining = length;
    this.headLen = 0;
    return { type: 'head', fin, rsv1, opcode, length };
  }

  private unmask(data: Buffer): Buffer {
    const out = Buffer.allocUnsafe(data.length);
    const mask = this.mask!;
    for (let i = 0; i < data.length; i++) out[i] = data[i]! ^ mask[(this.maskOffset + i) & 3]!;
    this.maskOffset = (this.maskOffset + data.length) & 3;
    return out;
  }

  private endFrame(events: FrameEvent[]): void {
    events.push({ type: 'end' });
    this.remaining = -1;
  }
}

function error(message: string): FrameEvent {
  return { type: 'error', message };
}

export interface ReaderOptions {
  messageCap?: number;
  inflateCap?: number;
  /** permessage-deflate as it applies to the sender of this direction; absent when not agreed. */
  deflate?: { noContextTakeover: boolean; windowBits: number };
}

/** A message being assembled from its frames (or a control frame). */
interface Assembly {
  opcode: number;
  compressed: boolean;
  wireSize: number;
  size: number;
  parts: Buffer[];
  kept: number;
  truncated: boolean;
  time: number;
  error?: string;
  /** Set once complete; the message waits in the queue until those before it are done. */
  done: boolean;
}

/** One zlib stream and the messages written to it whose output is still coming, oldest first. */
interface Inflation {
  stream: zlib.InflateRaw;
  fifo: Assembly[];
  dead: boolean;
}

/** The deflate block that a sender removes from each message's end (RFC 7692 §7.2.1). */
const TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);

export interface ReaderSink {
  message(msg: WsMessage, close?: { code?: number; reason: string }): void;
  /** The direction stopped being readable; words say why. */
  error(message: string): void;
}

/**
 * One direction's messages. `push` never throws and never waits; compressed messages complete
 * when zlib is done with them, and every message reaches the sink in the order it completed on
 * the wire.
 */
export class MessageReader {
  private readonly parser: FrameParser;
  private readonly messageCap: number;
  private readonly inflateCap: number;
  private frame: { fin: boolean; opcode: number } | undefined;
  private message: Assembly | undefined;
  private control: Assembly | undefined;
  private inflation: Inflation | undefined;
  /** A message was not fully inflated while context takeover is on: later ones cannot be. */
  private contextLost = false;
  private readonly queue: Assembly[] = [];
  private idle: (() => void)[] = [];
  private failed = false;

  constructor(
    readonly direction: 'send' | 'receive',
    private readonly sink: ReaderSink,
    private readonly opts: ReaderOptions = {},
  ) {
    this.parser = new FrameParser(direction === 'send', opts.deflate !== undefined);
    this.messageCap = opts.messageCap ?? DEFAULT_WS_MESSAGE_CAP;
    this.inflateCap = Math.max(opts.inflateCap ?? DEFAULT_WS_INFLATE_CAP, this.messageCap);
  }

  push(chunk: Buffer): void {
    if (this.failed) return;
    try {
      for (const event of this.parser.push(chunk)) {
        this.onEvent(event);
        if (this.failed) return;
      }
    } catch (err) {
      this.fail(`Loupe could not read this traffic: ${(err as Error).message}`);
    }
  }

  /** Resolves when every message already complete on the wire has reached the sink. */
  settled(): Promise<void> {
    if (this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  /** Frees the zlib streams; messages still inflating are dropped. */
  dispose(): void {
    this.failed = true;
    this.inflation?.stream.destroy();
    this.inflation = undefined;
    this.queue.length = 0;
    this.drain();
  }

  private onEvent(event: FrameEvent): void {
    switch (event.type) {
      case 'error':
        return this.fail(event.message);
      case 'head':
        return this.onHead(event);
      case 'payload': {
        const asm = this.current();
        asm.wireSize += event.data.length;
        if (asm.compressed) this.inflateWrite(asm, event.data);
        else this.keep(asm, event.data);
        return;
      }
      case 'end': {
        const frame = this.frame!;
        this.frame = undefined;
        if (isControl(frame.opcode)) {
          this.complete(this.control!);
          this.control = undefined;
        } else if (frame.fin) {
          const asm = this.message!;
          this.message = undefined;
          if (asm.compressed) this.inflateEnd(asm);
          else this.complete(asm);
        }
      }
    }
  }

  private onHead(head: Extract<FrameEvent, { type: 'head' }>): void {
    const { opcode, rsv1 } = head;
    this.frame = { fin: head.fin, opcode };
    if (isControl(opcode)) {
      if (rsv1) return this.fail(`a control frame (opcode ${opcode}) has RSV1 set`);
      this.control = this.assembly(opcode, false);
      return;
    }
    if (opcode === 0) {
      if (!this.message)
        return this.fail('a continuation frame arrived with no message to continue');
      if (rsv1) return this.fail('a continuation frame has RSV1 set (only a first frame may)');
      return;
    }
    if (this.message) {
      return this.fail('a new message began before the fragmented one before it ended');
    }
    this.message = this.assembly(opcode, rsv1);
    if (rsv1) this.inflateStart(this.message);
  }

  private current(): Assembly {
    return isControl(this.frame!.opcode) ? this.control! : this.message!;
  }

  private assembly(opcode: number, compressed: boolean): Assembly {
    return {
      opcode,
      compressed,
      wireSize: 0,
      size: 0,
      parts: [],
      kept: 0,
      truncated: false,
      time: 0,
      done: false,
    };
  }

  /** Counts payload bytes and keeps them up to the cap (copied: the caller's buffer is shared). */
  private keep(asm: Assembly, data: Buffer): void {
    asm.size += data.length;
    const room = this.messageCap - asm.kept;
    if (data.length > room) asm.truncated = true;
    if (room <= 0) return;
    const part = data.length <= room ? data : data.subarray(0, room);
    asm.parts.push(Buffer.from(part));
    asm.kept += part.length;
  }

  private inflateStart(asm: Assembly): void {
    const deflate = this.opts.deflate!;
    if (this.contextLost) {
      asm.error =
        'Not decompressed: an earlier message in this direction could not be, and the compression context carries over between messages.';
      return;
    }
    if (!this.inflation || deflate.noContextTakeover) this.inflation = this.newInflation();
    this.inflation.fifo.push(asm);
  }

  private newInflation(): Inflation {
    // zlib turns a window of 8 bits into 9 for raw deflate, so a sender agreeing to 8 uses 9.
    const windowBits = Math.max(9, this.opts.deflate!.windowBits);
    const inf: Inflation = { stream: zlib.createInflateRaw({ windowBits }), fifo: [], dead: false };
    inf.stream.on('data', (out: Buffer) => {
      const asm = inf.fifo[0];
      if (!asm || inf.dead) return;
      this.keep(asm, out);
      if (asm.size >= this.inflateCap) {
        asm.truncated = true;
        this.killInflation(
          inf,
          asm,
          `Decompression stopped at ${asm.size} bytes (the inflate cap): a likely decompression bomb.`,
        );
      }
    });
    inf.stream.on('error', (err) => {
      this.killInflation(inf, inf.fifo[0], `The compressed payload is corrupt: ${err.message}.`);
    });
    return inf;
  }

  private inflateWrite(asm: Assembly, data: Buffer): void {
    const inf = this.inflationOf(asm);
    if (inf) inf.stream.write(data);
  }

  private inflateEnd(asm: Assembly): void {
    asm.time = Date.now();
    this.queue.push(asm);
    const inf = this.inflationOf(asm);
    if (!inf) return this.complete(asm);
    inf.stream.write(TAIL);
    inf.stream.flush(zlib.constants.Z_SYNC_FLUSH, () => {
      if (inf.dead || inf.fifo[0] !== asm) return;
      inf.fifo.shift();
      if (this.opts.deflate!.noContextTakeover) inf.stream.close();
      this.complete(asm);
    });
  }

  /** The live zlib stream this message is being inflated by, if it still is. */
  private inflationOf(asm: Assembly): Inflation | undefined {
    const inf = this.inflation;
    return inf && !inf.dead && inf.fifo.includes(asm) ? inf : undefined;
  }

  /** Stops a zlib stream: the message at fault keeps what it had, those after it get words. */
  private killInflation(inf: Inflation, culprit: Assembly | undefined, words: string): void {
    if (inf.dead) return;
    inf.dead = true;
    inf.stream.destroy();
    if (this.inflation === inf) this.inflation = undefined;
    if (!this.opts.deflate!.noContextTakeover) this.contextLost = true;
    for (const asm of inf.fifo) {
      if (asm === culprit) asm.error = words;
      else {
        asm.error =
          'Not decompressed: an earlier message in this direction could not be, and the compression context carries over between messages.';
      }
      // Those whose last frame is in are complete now; one still arriving completes at its end.
      if (this.queue.includes(asm)) this.complete(asm);
    }
    inf.fifo.length = 0;
  }

  private complete(asm: Assembly): void {
    if (asm.done) return;
    asm.done = true;
    if (!asm.time) asm.time = Date.now();
    if (!this.queue.includes(asm)) this.queue.push(asm);
    this.drain();
  }

  private drain(): void {
    while (this.queue[0]?.done) {
      const asm = this.queue.shift()!;
      const payload = Buffer.concat(asm.parts);
      this.sink.message(...this.toMessage(asm, payload));
    }
    if (this.queue.length === 0 && this.idle.length) {
      const waiting = this.idle;
      this.idle = [];
      for (const resolve of waiting) resolve();
    }
  }

  private toMessage(
    asm: Assembly,
    payload: Buffer,
  ): [WsMessage, { code?: number; reason: string }?] {
    const msg: WsMessage = {
      direction: this.direction,
      time: asm.time,
      opcode: asm.opcode,
      size: asm.size,
      wireSize: asm.wireSize,
      compressed: asm.compressed,
    };
    if (asm.truncated) msg.truncated = true;
    // A message with no output and an error was not read at all: no data rather than ''.
    const unread = asm.error !== undefined && asm.kept === 0;
    if (asm.error) msg.error = asm.error;
    if (asm.opcode === 8) {
      if (payload.length === 1) msg.error = 'A close frame of 1 byte: a close code needs 2.';
      const code = payload.length >= 2 ? payload.readUInt16BE(0) : undefined;
      const reason = payload.subarray(2).toString('utf8');
      msg.data = reason;
      return [msg, { ...(code !== undefined ? { code } : {}), reason }];
    }
    if (unread) return [msg];
    // Text is text even when cut mid-character by the cap; binary, or broken text, is base64.
    const asText = asm.opcode === 2 ? false : asm.truncated || isUtf8(payload);
    if (asText) msg.data = payload.toString('utf8');
    else {
      msg.data = payload.toString('base64');
      msg.encoding = 'base64';
      if (asm.opcode === 1) msg.error ??= 'A text message that is not valid UTF-8.';
    }
    return [msg];
  }

  private fail(words: string): void {
    if (this.failed) return;
    this.failed = true;
    this.message = undefined;
    this.control = undefined;
    this.sink.error(words);
  }
}

export interface WsSessionOptions extends Omit<ReaderOptions, 'deflate'> {
  /** The 101's `Sec-WebSocket-Extensions`. */
  extensions?: string;
  maxMessages?: number;
  onMessage(msg: WsMessage): void;
}

/** Both directions of one WebSocket connection. */
export class WsSession {
  /** The connection as read so far; mutated as messages arrive. */
  readonly summary: WebSocketSummary;
  private readonly send: MessageReader;
  private readonly receive: MessageReader;
  private kept = 0;
  private readonly maxMessages: number;

  constructor(private readonly opts: WsSessionOptions) {
    this.summary = {
      messagesDropped: 0,
      ...(opts.extensions ? { extensions: opts.extensions } : {}),
    };
    this.maxMessages = opts.maxMessages ?? DEFAULT_WS_MAX_MESSAGES;
    const deflate = parseDeflateParams(opts.extensions);
    const caps = {
      ...(opts.messageCap !== undefined ? { messageCap: opts.messageCap } : {}),
      ...(opts.inflateCap !== undefined ? { inflateCap: opts.inflateCap } : {}),
    };
    this.send = new MessageReader('send', this.sink('client'), {
      ...caps,
      ...(deflate
        ? {
            deflate: {
              noContextTakeover: deflate.clientNoContextTakeover,
              windowBits: deflate.clientMaxWindowBits,
            },
          }
        : {}),
    });
    this.receive = new MessageReader('receive', this.sink('server'), {
      ...caps,
      ...(deflate
        ? {
            deflate: {
              noContextTakeover: deflate.serverNoContextTakeover,
              windowBits: deflate.serverMaxWindowBits,
            },
          }
        : {}),
    });
  }

  /** Bytes the client sent (client→server). */
  fromClient(chunk: Buffer): void {
    this.send.push(chunk);
  }

  /** Bytes the server sent (server→client). */
  fromServer(chunk: Buffer): void {
    this.receive.push(chunk);
  }

  /** Resolves once every message complete on the wire has been handed on. */
  async settled(): Promise<void> {
    await Promise.all([this.send.settled(), this.receive.settled()]);
  }

  dispose(): void {
    this.send.dispose();
    this.receive.dispose();
  }

  private sink(side: 'client' | 'server'): ReaderSink {
    const label = side === 'client' ? 'client→server' : 'server→client';
    return {
      message: (msg, close) => {
        if (close && this.summary.closedBy === undefined) {
          this.summary.closedBy = side;
          if (close.code !== undefined) this.summary.closeCode = close.code;
          if (close.reason) this.summary.closeReason = close.reason;
        }
        if (this.kept >= this.maxMessages) {
          this.summary.messagesDropped++;
          return;
        }
        this.kept++;
        this.opts.onMessage(msg);
      },
      error: (words) => {
        const line = `Loupe stopped reading ${label} messages: ${words}.`;
        this.summary.error = this.summary.error ? `${this.summary.error} ${line}` : line;
      },
    };
  }
}
