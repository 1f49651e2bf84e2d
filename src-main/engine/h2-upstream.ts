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
    // A stream ended by its session's end says more as that.
    const session = this.session;
    if (session.destroyed || session.closed) {
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
