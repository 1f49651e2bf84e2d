/**
 * HTTP/2 to servers. Loupe offers `h2` and `http/1.1` to every HTTPS server and remembers, per
 * origin, what it chose; an h2 origin gets one pooled session that carries every request to it,
 * whatever protocol the client speaks. `H2Request` gives an HTTP/2 stream the surface of
 * `http.ClientRequest` that the exchange code uses (events `socket`, `continue`, `response`,
 * `finish`, `error`, `close`; `write`, `end`, `addTrailers`, `setTimeout`, `destroy`), and the
 * response the surface of `http.IncomingMessage` (status, raw headers and trailers in order,
 * `complete`), so HTTP/1.1 and HTTP/2 clients are forwarded by the same code.
 */
import { EventEmitter } from 'node:events';
import http2 from 'node:http2';
import { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { HeaderPair } from '../../src-common/flow';

/** Header fields HTTP/2 forbids (RFC 9113 §8.2.2); `host` becomes `:authority`. */
const CONNECTION_SPECIFIC = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'host',
  'http2-settings',
]);

/** RST_STREAM and GOAWAY codes by number (RFC 9113 §7), for messages in words. */
const H2_ERRORS = new Map<number, string>(
  [
    'NO_ERROR',
    'PROTOCOL_ERROR',
    'INTERNAL_ERROR',
    'FLOW_CONTROL_ERROR',
    'SETTINGS_TIMEOUT',
    'STREAM_CLOSED',
    'FRAME_SIZE_ERROR',
    'REFUSED_STREAM',
    'CANCEL',
    'COMPRESSION_ERROR',
    'CONNECT_ERROR',
    'ENHANCE_YOUR_CALM',
    'INADEQUATE_SECURITY',
    'HTTP_1_1_REQUIRED',
  ].map((name, code) => [code, name]),
);

export function h2ErrorName(code: number): string {
  return H2_ERRORS.get(code) ?? `code ${code}`;
}

/** Code of the error that ends a session whose server broke the protocol (see h2Transport). */
export const H2_PROTOCOL_BROKEN = 'UPSTREAM_H2_PROTOCOL';

/** nghttp2's reasons for ending a session, in words, where a server is known to provoke them. */
const BROKEN_REASONS: readonly [RegExp, string][] = [
  [/^DATA: stream not opened/, 'it sent body data before the response head'],
];

/**
 * The stream an HTTP/2 session to a server runs on: the TLS connection, with the frames the
 * session writes watched. When a server breaks the protocol for the whole connection (DATA
 * before HEADERS, a malformed frame), nghttp2 answers with GOAWAY and stops reading, and Node
 * reports nothing: every stream on the session would wait for its timeout. That GOAWAY is the
 * one sign, so `onBroken` gets it, in words, on the next turn of the event loop (not inside
 * the session's own write).
 */
export function h2Transport(socket: TLSSocket, onBroken: (err: Error) => void): Duplex {
  // Node does this for the sockets it runs sessions on directly (RFC 9113 §9.2.1).
  socket.disableRenegotiation();
  const scan = goawayScanner((code, debug) => {
    const reason = BROKEN_REASONS.find(([pattern]) => pattern.test(debug))?.[1];
    const said = debug ? `nghttp2: ${debug}` : `GOAWAY ${h2ErrorName(code)}`;
    const err = Object.assign(
      new Error(`${reason ?? 'it sent what HTTP/2 does not allow'} (${said})`),
      { code: H2_PROTOCOL_BROKEN },
    );
    setImmediate(() => onBroken(err));
  });
  const transport = new Duplex({
    read: () => void socket.resume(),
    write: (chunk: Buffer, _encoding, done) => {
      scan(chunk);
      if (socket.write(chunk)) done();
      else socket.once('drain', () => done());
    },
    final: (done) => {
      socket.end();
      done();
    },
    destroy: (err, done) => {
      socket.destroy(err ?? undefined);
      done(err);
    },
  });
  socket.on('data', (chunk: Buffer) => {
    if (!transport.push(chunk)) socket.pause();
  });
  socket.once('end', () => transport.push(null));
  socket.once('error', (err) => transport.destroy(err));
  socket.once('close', () => transport.destroy());
  return transport;
}

/**
 * Follows the frames of a client's side of an HTTP/2 connection (after its 24-byte preface)
 * across writes, calling `onGoaway` for each GOAWAY that carries an error code.
 */
function goawayScanner(onGoaway: (code: number, debug: string) => void): (chunk: Buffer) => void {
  let skip = 24;
  let head = Buffer.alloc(0);
  let goaway: Buffer[] | undefined;
  return (chunk) => {
    let at = 0;
    while (at < chunk.length) {
      if (skip > 0) {
        const n = Math.min(skip, chunk.length - at);
        goaway?.push(chunk.subarray(at, at + n));
        skip -= n;
        at += n;
        if (skip === 0 && goaway) {
          const payload = Buffer.concat(goaway);
          goaway = undefined;
          const code = payload.length >= 8 ? payload.readUInt32BE(4) : 0;
          if (code !== http2.constants.NGHTTP2_NO_ERROR) {
            onGoaway(code, payload.subarray(8).toString('latin1'));
          }
        }
        continue;
      }
      const n = Math.min(9 - head.length, chunk.length - at);
      head = Buffer.concat([head, chunk.subarray(at, at + n)]);
      at += n;
      if (head.length < 9) return;
      skip = head.readUIntBE(0, 3);
      if (head[3] === GOAWAY_FRAME && skip >= 8) goaway = [];
      head = Buffer.alloc(0);
    }
  };
}

const GOAWAY_FRAME = 0x7;

/** Ordered pairs as an HTTP/2 header object: names lower-cased, repeated names as arrays. */
export function h2Headers(pairs: readonly HeaderPair[]): http2.OutgoingHttpHeaders {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of pairs) {
    const lower = name.toLowerCase();
    if (lower.startsWith(':') || CONNECTION_SPECIFIC.has(lower)) continue;
    // `te` may only carry "trailers" in HTTP/2.
    if (lower === 'te' && value.trim().toLowerCase() !== 'trailers') continue;
    const had = out[lower];
    if (had === undefined) out[lower] = value;
    else if (Array.isArray(had)) had.push(value);
    else out[lower] = [had, value];
  }
  return out;
}

/** The response of an HTTP/2 stream, shaped like the IncomingMessage fields the proxy reads. */
export type H2Response = http2.ClientHttp2Stream & {
  statusCode: number;
  statusMessage: string;
  httpVersion: string;
  rawHeaders: string[];
  rawTrailers: string[];
  complete: boolean;
};

/** One request on an HTTP/2 session, with the surface of `http.ClientRequest` forward() uses. */
export class H2Request extends EventEmitter {
  reusedSocket: boolean;
  maxHeadersCount = 0;
  private readonly stream: http2.ClientHttp2Stream;
  private trailers?: HeaderPair[];
  private failed = false;

  constructor(
    private readonly session: http2.ClientHttp2Session,
    socket: TLSSocket,
    reused: boolean,
    method: string,
    authority: string,
    path: string,
    headers: readonly HeaderPair[],
  ) {
    super();
    this.reusedSocket = reused;
    const h2 = h2Headers(headers);
    h2[':method'] = method;
    h2[':authority'] = authority;
    h2[':scheme'] = 'https';
    h2[':path'] = path;
    this.stream = session.request(h2, { endStream: false, waitForTrailers: true });
    const stream = this.stream;
    process.nextTick(() => this.emit('socket', socket));
    stream.on('headers', (headers) => {
      if (headers[':status'] === 100) this.emit('continue');
    });
    stream.once(
      'response',
      (
        headers: http2.IncomingHttpHeaders & http2.IncomingHttpStatusHeader,
        _flags: number,
        raw: string[],
      ) => {
        const rawHeaders: string[] = [];
        for (let i = 0; i + 1 < raw.length; i += 2) {
          if (!raw[i]!.startsWith(':')) rawHeaders.push(raw[i]!, raw[i + 1]!);
        }
        const res = Object.assign(stream, {
          statusCode: Number(headers[':status']),
          statusMessage: '',
          httpVersion: '2.0',
          rawHeaders,
          rawTrailers: [] as string[],
          complete: false,
        }) as H2Response;
        stream.once('trailers', (trailers) => {
          const flat: string[] = [];
          for (const [k, v] of Object.entries(trailers)) {
            if (k.startsWith(':')) continue;
            for (const one of Array.isArray(v) ? v : [v]) flat.push(k, String(one));
          }
          res.rawTrailers = flat;
        });
        stream.once('end', () => (res.complete = true));
        this.emit('response', res);
      },
    );
    stream.on('wantTrailers', () => {
      // An empty trailer section ends the request as plainly as END_STREAM on the last DATA
      // frame would; close() would reset the whole stream, response included.
      stream.sendTrailers(this.trailers?.length ? h2Headers(this.trailers) : {});
    });
    stream.on('drain', () => this.emit('drain'));
    stream.once('finish', () => this.emit('finish'));
    stream.on('error', (err: NodeJS.ErrnoException) => this.fail(err));
    stream.once('close', () => {
      const code = stream.rstCode ?? 0;
      if (
        !this.failed &&
        code !== http2.constants.NGHTTP2_NO_ERROR &&
        !(stream as Partial<H2Response>).complete
      ) {
        this.fail(
          Object.assign(
            new Error(`the server reset the HTTP/2 stream (RST_STREAM ${h2ErrorName(code)})`),
            { code: 'ERR_HTTP2_STREAM_RESET' },
          ),
        );
      }
      this.emit('close');
    });
  }

  private fail(err: NodeJS.ErrnoException): void {
    if (this.failed) return;
    this.failed = true;
    // A stream ended by its session's end says more as that, unless the server broke it.
    const session = this.session;
    if ((session.destroyed || session.closed) && err.code !== H2_PROTOCOL_BROKEN) {
      err = Object.assign(new Error('the server closed the HTTP/2 connection'), {
        code: 'ERR_HTTP2_SESSION_CLOSED',
      });
    }
    this.emit('error', err);
  }

  write(chunk: Buffer): boolean {
    return this.stream.write(chunk);
  }

  addTrailers(pairs: HeaderPair[]): void {
    this.trailers = pairs;
  }

  end(): void {
    this.stream.end();
  }

  setTimeout(ms: number, onTimeout: () => void): this {
    this.stream.setTimeout(ms, onTimeout);
    return this;
  }

  destroy(err?: Error): this {
    if (!this.stream.destroyed) this.stream.close(http2.constants.NGHTTP2_CANCEL);
    if (err) this.fail(err as NodeJS.ErrnoException);
    return this;
  }
}
