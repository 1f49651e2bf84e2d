/**
 * HTTP/2 to servers. Loupe offers `h2` and `http/1.1` to every HTTPS server and remembers, per
 * origin, what it chose; an h2 origin gets one pooled session that carries every request to it,
 * whatever protocol the client speaks. `H2Request` gives an HTTP/2 stream the surface of
 * `http.ClientRequest` that the exchange code uses (events `socket`, `continue`, `response`,
 * `finish`, `error`, `close`; `write`, `end`, `addTrailers`, `setTimeout`, `destroy`), and the
 * response the surface of `http.IncomingMessage` (status, raw headers and trailers in order,
 * `complete`), so HTTP/1.1 and HTTP/2 clients are forwarded by the same code. Sessions run on
 * the TLS socket natively; one that nghttp2 has silently given up on is found by `Liveness`.
 */
import { EventEmitter } from 'node:events';
import http2 from 'node:http2';
import { performance } from 'node:perf_hooks';
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

/** Code of the error that ends a session nghttp2 has given up on (see `Liveness`). */
export const H2_PROTOCOL_BROKEN = 'UPSTREAM_H2_PROTOCOL';

/**
 * How long a stream waits for its response head before its session is probed. Most answers
 * come sooner; a session nghttp2 has given up on is found this long after the request.
 */
const PROBE_AFTER_MS = 300;
/**
 * The least time between two probes of a session. It doubles with each PING acknowledged, up to
 * the cap, and starts again when a response head arrives: servers count PINGs that come without
 * traffic (gRPC's answer too many with GOAWAY ENHANCE_YOUR_CALM). A PING not acknowledged keeps
 * it short, so a session that broke just after a probe is found by the next.
 */
const PROBE_EVERY_MS = 5_000;
const PROBE_EVERY_MAX_MS = 60_000;
/** How long a probe's PING must stay unsent, with nothing being written, to count. */
const CONFIRM_MS = 200;

/**
 * Finds a session that nghttp2 has given up on. When a server breaks the protocol for the whole
 * connection (body data before the response head, a frame on a stream that is not open),
 * nghttp2 sends GOAWAY, then ignores all input and writes nothing more, and Node reports none
 * of it: every stream on the session would wait for its timeout. So while a stream waits for
 * its response head, the session is sent a PING now and then. A working session writes it at
 * once (Node flushes the session on the next turn of the event loop, before JS immediates); a
 * dead one keeps it queued. A slow server is no sign: it has the PING written all the same. Nor
 * is a congested link: the PING waits behind a write still in flight, and no verdict is given
 * while one is.
 */
class Liveness {
  private readonly waiting = new Set<{ since: number }>();
  private timer?: NodeJS.Timeout;
  private lastProbe = -Infinity;
  private gap = PROBE_EVERY_MS;
  /** Whether the last PING sent is still waiting for its acknowledgement. */
  private unanswered = false;

  constructor(
    private readonly session: http2.ClientHttp2Session,
    private readonly socket: TLSSocket,
  ) {}

  /** A stream starts waiting for its response head; call the result when it stops waiting. */
  wait(): () => void {
    const waiter = { since: performance.now() };
    this.waiting.add(waiter);
    this.schedule();
    return () => {
      if (!this.waiting.delete(waiter) || this.waiting.size > 0) return;
      clearTimeout(this.timer);
      this.timer = undefined;
    };
  }

  /** A response head arrived: the session is answering, so probes need not back off. */
  answered(): void {
    this.gap = PROBE_EVERY_MS;
  }

  /** When the next probe is due; undefined while no stream waits. */
  private due(): number | undefined {
    // Sets iterate in insertion order: the first waiter is the one waiting longest.
    const oldest = this.waiting.values().next().value;
    if (!oldest) return undefined;
    return Math.max(oldest.since + PROBE_AFTER_MS, this.lastProbe + this.gap);
  }

  private schedule(): void {
    const due = this.due();
    if (this.timer || due === undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      // The gap may have grown since this timer was set.
      if ((this.due() ?? Infinity) <= performance.now()) this.probe();
      else this.schedule();
    }, due - performance.now());
    this.timer.unref();
  }

  private probe(): void {
    const { session, socket } = this;
    if (session.destroyed || session.closed) return;
    this.lastProbe = performance.now();
    this.schedule();
    // Another PING would only queue up behind the last one and reach the server in a burst.
    if (this.unanswered && writing(socket)) return;
    const written = socket.bytesWritten;
    const sent = session.ping((err) => {
      if (err) return;
      this.unanswered = false;
      this.gap = Math.min(this.gap * 2, PROBE_EVERY_MAX_MS);
    });
    // Not sent: too many PINGs unanswered (Node's limit), or the session is still connecting.
    if (!sent) return;
    this.unanswered = true;
    const stuck = (): boolean =>
      this.unanswered &&
      !session.destroyed &&
      socket.bytesWritten === written &&
      (session.state.outboundQueueSize ?? 0) > 0 &&
      !writing(socket);
    setImmediate(() => {
      if (!stuck()) return;
      setTimeout(() => {
        if (!stuck()) return;
        session.destroy(
          Object.assign(
            new Error(
              "Loupe's HTTP/2 session with it stopped answering (the server most likely sent a frame out of order, such as body data before the response head)",
            ),
            { code: H2_PROTOCOL_BROKEN },
          ),
        );
      }, CONFIRM_MS).unref();
    });
  }
}

/**
 * Whether a write to `socket` is still in flight. A session writes to the TLS handle natively,
 * past the socket's JS buffer (`writableLength` stays 0), so this asks the handle, as Node's own
 * socket timeout does before calling a socket idle. An unknown handle counts as writing: no
 * verdict rather than a wrong one.
 */
function writing(socket: TLSSocket): boolean {
  const handle = (socket as unknown as { _handle?: { writeQueueSize?: unknown } })._handle;
  return typeof handle?.writeQueueSize !== 'number' || handle.writeQueueSize > 0;
}

const watched = new WeakMap<http2.ClientHttp2Session, Liveness>();

function livenessOf(session: http2.ClientHttp2Session, socket: TLSSocket): Liveness {
  let liveness = watched.get(session);
  if (!liveness) watched.set(session, (liveness = new Liveness(session, socket)));
  return liveness;
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
    const liveness = livenessOf(session, socket);
    const waited = liveness.wait();
    stream.once('close', waited);
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
        waited();
        liveness.answered();
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
