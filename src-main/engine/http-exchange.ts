/**
 * Forwards one HTTP/1.x request to its upstream and the response back, streaming both bodies,
 * keeping header case and order, and reporting every step on the hooks. One exchange failing
 * never affects another: every error ends in a flow error and, where the client can still be
 * answered, a 502/504 with words.
 */
import http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { FlowError, HeaderPair } from '../../src-common/flow';
import { errorBody, statusFor, upstreamError } from './errors';
import {
  forwardHeaders,
  responseRecord,
  stripAltSvcH3,
  toFlat,
  toPairs,
  withHost,
} from './headers';
import type { Exchange } from './hooks';
import type { EngineContext } from './context';
import { H2Request } from './h2-upstream';
import { bareHost, originForm, type Route, type UpstreamProxy } from './upstream';

/** Per-exchange bookkeeping that never leaves the engine. */
interface Clock {
  request?: number;
  socket?: number;
  lookup?: number;
  connect?: number;
  /** TLS handshake with the server completed. */
  secure?: number;
  sent?: number;
  firstByte?: number;
}

/**
 * Largest upstream response head accepted. Larger than the client-side limit: servers send big
 * Content-Security-Policy and Set-Cookie headers, and a proxy must not be stricter than browsers.
 */
const UPSTREAM_MAX_HEADER_SIZE = 256 * 1024;

const NO_BYTES = Buffer.alloc(0);

const ms = (a: number | undefined, b: number | undefined): number =>
  a === undefined || b === undefined ? -1 : Math.max(0, Math.round((b - a) * 1000) / 1000);

/**
 * Handles a request in absolute form (`GET http://host/path HTTP/1.1`) that is to be forwarded.
 * `target` is the parsed absolute URL.
 */
export function forward(
  ctx: EngineContext,
  ex: Exchange,
  req: IncomingMessage,
  res: ServerResponse,
  target: URL,
): void {
  const clock: Clock = {};
  let done = false;
  const h2Client = req.httpVersionMajor === 2;

  const finish = (error?: FlowError): void => {
    if (done) return;
    done = true;
    setTimings(ex, clock, performance.now());
    if (error) {
      ex.error = error;
      ctx.hooks.emit('error', ex);
    } else {
      ctx.hooks.emit('response', ex);
    }
  };

  const fail = (error: FlowError): void => {
    if (done) return;
    if (!res.headersSent) {
      const body = errorBody(error);
      const status = statusFor(error);
      // The reason is always given: a failed writeHead may have left a bad statusMessage behind.
      const head = {
        'Content-Type': 'text/plain; charset=utf-8',
        'Content-Length': Buffer.byteLength(body),
        'X-Loupe-Error': error.code,
      };
      if (h2Client) res.writeHead(status, head);
      else res.writeHead(status, http.STATUS_CODES[status] ?? '', head);
      res.end(body);
      // The rest of the request body, if any, is read and dropped so the connection stays usable.
      req.resume();
    } else {
      // The client already has part of the response: cut its connection so it sees the truncation.
      res.destroy();
    }
    finish(error);
  };

  const start = (): void => {
    const targetName = target.host;
    const secure = target.protocol === 'https:';
    ex.server = {
      host: bareHost(target.hostname),
      port: target.port ? Number(target.port) : secure ? 443 : 80,
    };
    clock.request = performance.now();
    if (secure) {
      // HTTPS: the origin's protocol (h2 or http/1.1) is learned on its first connection.
      ctx.upstream
        .route(ex.server.host, ex.server.port, ctx.options.upstreamTimeoutMs)
        .then(begin, (err: unknown) => {
          const via = ctx.upstream.proxyFor(ex.server!.host, ex.server!.port);
          fail(upstreamError(err, targetName, 'connect', via?.display));
        });
    } else {
      begin(undefined);
    }
  };

  const begin = (route: Route | undefined): void => {
    if (done) {
      if (route?.kind === 'h1') route.socket?.destroy();
      return;
    }
    const targetName = target.host;
    const secure = route !== undefined;
    if (route?.marks) {
      clock.socket = route.marks.start;
      clock.lookup = route.marks.lookup;
      clock.connect = route.marks.connect;
      clock.secure = route.marks.secure;
    }
    let upReq: http.ClientRequest;
    let via: UpstreamProxy | undefined;
    const path = originForm(ex.request.url, target);
    try {
      if (route?.kind === 'h2') {
        via = ctx.upstream.proxyFor(ex.server!.host, ex.server!.port);
        upReq = new H2Request(
          route.session,
          route.socket,
          route.reused,
          ex.request.method,
          target.host,
          path,
          forwardHeaders(ex.request.headers),
        ) as unknown as http.ClientRequest;
      } else {
        ({ req: upReq, via } = ctx.upstream.request(
          target,
          ex.request.method,
          withHost(forwardHeaders(ex.request.headers), target.host),
          {
            pooled: true,
            maxHeaderSize: UPSTREAM_MAX_HEADER_SIZE,
            path,
            ...(route?.socket ? { socket: route.socket } : {}),
          },
        ));
      }
    } catch (err) {
      // Node validates header names and values synchronously; a client can send values it rejects.
      fail({
        code: 'bad_request',
        message: `The request cannot be forwarded: ${(err as Error).message}.`,
        phase: 'request',
      });
      return;
    }
    if (via) ex.tags.push('upstream-proxy');
    // As on the listening side: no count limit that would silently drop response headers.
    upReq.maxHeadersCount = 0;
    upReq.setTimeout(ctx.options.upstreamTimeoutMs, () => {
      upReq.destroy(Object.assign(new Error('timed out'), { code: 'UPSTREAM_TIMEOUT' }));
    });

    upReq.once('socket', (socket) => {
      clock.socket ??= performance.now();
      ex.reused = upReq.reusedSocket;
      ex.upstreamConnectionId = ctx.upstream.connectionId(socket);
      if (socket.remoteAddress) ex.server = { ...ex.server!, address: socket.remoteAddress };
      const recordTls = (): void => {
        const upstream = ctx.upstream.tlsSummary(socket);
        if (upstream) ex.tls = { ...ex.tls, upstream };
      };
      if (route?.marks || route?.kind === 'h2') {
        // A connection made while learning the origin's protocol, or its h2 session.
        if (!route.marks) ex.reused = true;
        recordTls();
      } else if (!upReq.reusedSocket) {
        socket.once('lookup', () => (clock.lookup = performance.now()));
        socket.once('connect', () => {
          clock.connect = performance.now();
          if (socket.remoteAddress) ex.server = { ...ex.server!, address: socket.remoteAddress };
        });
        if (secure) {
          socket.once('secureConnect', () => {
            clock.secure = performance.now();
            // Through an upstream proxy the TCP connect is the proxy's; the handshake is ours.
            clock.connect ??= clock.socket;
            recordTls();
          });
        }
      } else if (secure) {
        recordTls();
      }
    });
    upReq.once('finish', () => (clock.sent = performance.now()));
    upReq.on('continue', () => {
      if (!res.headersSent) res.writeContinue();
    });
    upReq.once('error', (err) => {
      const connected = clock.connect !== undefined || ex.reused;
      const phase = clock.firstByte !== undefined ? 'response' : connected ? 'request' : 'connect';
      fail(upstreamError(err, targetName, phase, via?.display));
    });
    upReq.once('response', (upRes) => onResponse(upRes));
    // Node closes the request without an error for some answers it will not parse (a 101 to a
    // request that asked for no upgrade): the exchange must still end, with a reason.
    upReq.once('close', () => {
      if (!ex.response) {
        fail({
          code: 'malformed_response',
          message: `${targetName} answered with something other than an HTTP response (for example 101 Switching Protocols to a request that asked for no upgrade).`,
          phase: 'response',
        });
      }
    });

    // Request body: stream with backpressure; report each chunk.
    const tapRequest = ctx.hooks.has('requestBody');
    req.on('data', (chunk: Buffer) => {
      ex.request.bodySize += chunk.length;
      if (tapRequest) ctx.hooks.emit('requestBody', ex, chunk);
      if (!upReq.write(chunk)) {
        req.pause();
        upReq.once('drain', () => req.resume());
      }
    });
    req.once('end', () => {
      if (req.rawTrailers.length) {
        ex.request.trailers = toPairs(req.rawTrailers);
        upReq.addTrailers(ex.request.trailers);
      }
      ctx.hooks.emit('request', ex);
      upReq.end();
    });
    // Paused while a requestHeaders hook held it, if one did: a 'data' listener does not resume.
    req.resume();
    // The head goes out now, not with the first body byte: a body may be open but silent (a
    // streaming upload, a client awaiting 100 Continue). Node's HTTP/1.x request holds its head
    // for the first write, and an empty Buffer sends it alone, as latin1 (flushHeaders() and
    // write('') would encode it as UTF-8). An HTTP/2 stream sent its HEADERS when it opened.
    if (route?.kind !== 'h2') upReq.write(NO_BYTES);

    const onClientGone = (): void => {
      if (done) return;
      upReq.destroy();
      finish({
        code: 'client_aborted',
        message: h2Client
          ? 'The client cancelled the request (reset its HTTP/2 stream) before the exchange finished.'
          : 'The client closed the connection before the exchange finished.',
        phase: clock.firstByte !== undefined ? 'response' : 'request',
      });
    };
    if (h2Client) {
      // The stream, not the compatibility response, says when an HTTP/2 client went away.
      (req as unknown as { stream: NodeJS.EventEmitter }).stream.once('close', onClientGone);
    } else {
      res.once('close', () => {
        if (!res.writableFinished) onClientGone();
      });
    }

    const onResponse = (upRes: IncomingMessage): void => {
      clock.firstByte = performance.now();
      ex.response = responseRecord(upRes);
      const paused = ctx.hooks.emitPausable('responseHeaders', ex);
      if (paused) {
        upRes.pause();
        paused.then(
          () => relayResponse(upRes),
          (err: unknown) => fail(upstreamError(err, targetName, 'response')),
        );
      } else {
        relayResponse(upRes);
      }
    };

    const relayResponse = (upRes: IncomingMessage): void => {
      if (done) {
        upRes.destroy();
        return;
      }
      const response = ex.response!;
      let headers = forwardHeaders(response.headers, {
        // HTTP/1.0 has no chunked framing; HTTP/2 forbids the header (it frames by itself).
        dropTransferEncoding: req.httpVersion === '1.0' || h2Client,
      });
      if (ctx.stripAltSvcH3) {
        const stripped = stripAltSvcH3(headers);
        if (stripped !== headers) {
          headers = stripped;
          ex.tags.push('alt-svc-h3-stripped');
        }
      }
      // Node's parser accepts reason phrases its writer refuses (a DEL, say): relay the rest.
      const reason = response.statusText.replace(/[^\t\x20-\x7e\x80-\xff]/g, '');
      if (reason !== response.statusText) ex.tags.push('reason-phrase-cleaned');
      // The head goes out once the read that brought it has been parsed, with body bytes found
      // in that read or alone (an event stream or a long poll may send nothing more for
      // minutes). Until then a failure found in the same read (Content-Length in the trailers of
      // a chunked body, say) can still be answered with a 502; later ones can only cut.
      let headPending = true;
      const sendHead = (): boolean => {
        if (!headPending) return true;
        headPending = false;
        try {
          // HTTP/2 has no reason phrase.
          if (h2Client) res.writeHead(response.status, toFlat(headers));
          else res.writeHead(response.status, reason, toFlat(headers));
          return true;
        } catch (err) {
          // Node refuses to write some values its parser let through (e.g. a control character
          // in the reason phrase); the upstream's answer cannot be relayed as it is.
          upRes.destroy();
          fail({
            code: 'malformed_response',
            message: `${targetName} sent a response head that cannot be relayed: ${(err as Error).message}.`,
            phase: 'response',
          });
          return false;
        }
      };
      process.nextTick(() => {
        if (!headPending || done || !sendHead()) return;
        // Node's HTTP/1.x response holds the head for the first body write: an empty one sends
        // it alone (flushHeaders() would encode it as UTF-8, mangling latin1 header values).
        if (!h2Client) res.write(NO_BYTES);
      });
      const tapResponse = ctx.hooks.has('responseBody');
      upRes.on('data', (chunk: Buffer) => {
        if (!sendHead()) return;
        response.bodySize += chunk.length;
        if (tapResponse) ctx.hooks.emit('responseBody', ex, chunk);
        if (!res.write(chunk)) {
          upRes.pause();
          res.once('drain', () => upRes.resume());
        }
      });
      upRes.once('end', () => {
        if (!sendHead()) return;
        if (upRes.rawTrailers.length) {
          response.trailers = toPairs(upRes.rawTrailers);
          res.addTrailers(h2Client ? trailerObject(response.trailers) : response.trailers);
        }
        res.end();
        finish();
      });
      upRes.once('close', () => {
        if (!upRes.complete) {
          fail(
            upstreamError(
              Object.assign(new Error('reset'), { code: 'ECONNRESET' }),
              targetName,
              'response',
              via?.display,
            ),
          );
        }
      });
      upRes.resume();
    };
  };

  const paused = ctx.hooks.emitPausable('requestHeaders', ex);
  if (paused) {
    req.pause();
    paused.then(start, (err: unknown) => fail(upstreamError(err, target.host, 'request')));
  } else {
    start();
  }
}

/** Trailers as an object, for HTTP/2 responses (repeated names joined as HTTP allows). */
function trailerObject(pairs: readonly HeaderPair[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of pairs) {
    const lower = name.toLowerCase();
    out[lower] = out[lower] === undefined ? value : `${out[lower]}, ${value}`;
  }
  return out;
}

function setTimings(ex: Exchange, c: Clock, end: number): void {
  const connectStart = c.lookup ?? c.socket;
  // HAR: `connect` includes the TLS handshake, which `ssl` also reports on its own.
  const connected = c.secure ?? c.connect;
  ex.timings = {
    blocked: ms(c.request, c.socket),
    dns: ms(c.socket, c.lookup),
    connect: connected === undefined ? -1 : ms(connectStart, connected),
    ssl: c.secure === undefined ? -1 : ms(c.connect, c.secure),
    send: ms(connected ?? c.socket, c.sent ?? c.firstByte),
    wait: ms(c.sent ?? connected ?? c.socket, c.firstByte),
    receive: ms(c.firstByte, end),
  };
}
