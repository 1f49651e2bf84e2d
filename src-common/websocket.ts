/**
 * WebSocket messages as Loupe records them (RFC 6455), with permessage-deflate (RFC 7692)
 * undone. Plain data plus the pure parsing of the negotiated extension parameters, so the UI can
 * show what was agreed.
 *
 * Glossary
 * - message: one complete data message (text or binary, however many frames carried it) or one
 *   control frame (close, ping, pong).
 * - send / receive: client→server / server→client, as Chrome DevTools names them.
 * - wire size: payload bytes as framed, before decompression (frame heads not counted).
 */

export interface WsMessage {
  /** `send` is client→server, `receive` server→client. */
  direction: 'send' | 'receive';
  /** When the message completed (its last frame arrived), ms since the epoch. */
  time: number;
  /** 1 text, 2 binary, 8 close, 9 ping, 10 pong. */
  opcode: number;
  /** Payload bytes after decompression (counted up to the inflate cap, see `error`). */
  size: number;
  /** Payload bytes as framed on the wire. */
  wireSize: number;
  /** Sent with permessage-deflate (RSV1). */
  compressed: boolean;
  /**
   * The payload: text as text, binary as base64 (`encoding: 'base64'`); for a close frame the
   * reason (its code is in `WebSocketRecord.closeCode`); ping and pong as text when valid UTF-8.
   * Absent when the payload could not be read (see `error`).
   */
  data?: string;
  encoding?: 'base64';
  /** `data` holds only the start of the payload: a capture cap was reached. */
  truncated?: boolean;
  /**
   * The connection's cap on kept message bytes (`WebSocketRecord.keptCap`) was reached: `cut`,
   * only the start of this message was kept (`truncated` too); `none`, nothing of it was (no
   * `data`). Its size is counted either way.
   */
  connectionCap?: 'cut' | 'none';
  /**
   * Where the kept payload is while the flow is in Loupe's store: `length` bytes from `offset`
   * of the connection's body (`WebSocketRecord.bodyId`), the UTF-8 of `data`, or its bytes when
   * `encoding` is base64. A flow read through the API has `data` filled in from there.
   */
  stored?: { offset: number; length: number };
  /** Why the payload could not be read, or not all of it, in words. */
  error?: string;
}

export interface WebSocketRecord {
  /** In the order they completed in each direction. */
  messages: WsMessage[];
  /** From the first close frame, whichever side sent it. */
  closeCode?: number;
  closeReason?: string;
  closedBy?: 'client' | 'server';
  /** Messages past the per-connection limit: counted, not kept. */
  messagesDropped: number;
  /** Live capture: the body holding the kept payloads of every message, in order (see `stored`). */
  bodyId?: string;
  /** Live capture: payload bytes kept per connection at most (the `captureWebSocketCap` setting). */
  keptCap?: number;
  /** The 101's `Sec-WebSocket-Extensions`, as negotiated. */
  extensions?: string;
  /** Why capture stopped reading a direction (a protocol error), in words. Relaying goes on. */
  error?: string;
}

/** What the engine keeps of a live WebSocket: the record less its messages, which go out one by one. */
export type WebSocketSummary = Omit<WebSocketRecord, 'messages'>;

/** permessage-deflate parameters as the server accepted them in the 101. */
export interface DeflateParams {
  serverNoContextTakeover: boolean;
  clientNoContextTakeover: boolean;
  /** LZ77 window of the server's compressor, 8..15. */
  serverMaxWindowBits: number;
  /** LZ77 window of the client's compressor, 8..15. */
  clientMaxWindowBits: number;
}

/**
 * The permessage-deflate parameters of a `Sec-WebSocket-Extensions` response header, or
 * undefined when the extension was not accepted. A server accepts at most one offer, so the
 * first `permessage-deflate` element is the one in force.
 */
export function parseDeflateParams(header: string | undefined): DeflateParams | undefined {
  if (!header) return undefined;
  for (const element of header.split(',')) {
    const [name, ...params] = element.split(';').map((p) => p.trim());
    if (name?.toLowerCase() !== 'permessage-deflate') continue;
    const out: DeflateParams = {
      serverNoContextTakeover: false,
      clientNoContextTakeover: false,
      serverMaxWindowBits: 15,
      clientMaxWindowBits: 15,
    };
    for (const param of params) {
      const eq = param.indexOf('=');
      const key = (eq < 0 ? param : param.slice(0, eq)).trim().toLowerCase();
      const raw =
        eq < 0
          ? ''
          : param
              .slice(eq + 1)
              .trim()
              .replace(/^"(.*)"$/, '$1');
      const bits = /^\d+$/.test(raw) ? Number(raw) : NaN;
      const validBits = bits >= 8 && bits <= 15;
      if (key === 'server_no_context_takeover') out.serverNoContextTakeover = true;
      else if (key === 'client_no_context_takeover') out.clientNoContextTakeover = true;
      else if (key === 'server_max_window_bits' && validBits) out.serverMaxWindowBits = bits;
      else if (key === 'client_max_window_bits' && validBits) out.clientMaxWindowBits = bits;
    }
    return out;
  }
  return undefined;
}
