/**
 * The headless mode's UI: an HTTP server on 127.0.0.1 that serves the built renderer and carries
 * the API over a WebSocket at `/api`. A random per-run token guards both the page and the socket
 * (the URL printed as `ui listening on http://127.0.0.1:PORT/?token=…`); `Host` must name this
 * server (DNS rebinding) and `Origin`, when sent, must be this server (CSRF, cross-site
 * WebSockets). Every call goes through the same validating dispatcher as Electron's IPC.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { Transform, type Duplex } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  EVENT_CHANNEL,
  type ApiEvent,
  type ApiReply,
  type WireMessage,
} from '../../src-common/api/contract';
import { parseWireCall } from '../../src-common/api/validate';
import { createApi, createDispatcher, createEventHub } from '../services/api';
import { MAX_IMPORT_BYTES } from '../services/har-service';
import type { Session } from '../services/session';

export interface UiServerOptions {
  session: Session;
  /** 0 picks a free port. */
  port: number;
  /** The folder of the built renderer (index.html and its assets). */
  rendererDir: string;
  /** Fixed token for tests; a random one otherwise. */
  token?: string;
  /** The largest HAR the page may upload (`POST /upload`); MAX_IMPORT_BYTES by default. */
  maxUploadBytes?: number;
  /** How much one API socket may have queued and unread; MAX_BUFFERED by default. */
  maxBufferedBytes?: number;
  /** Told when the server closes an API socket itself (for logs and tests). */
  onClientClosed?: (closed: ClientClosed) => void;
}

/** An API socket the server closed: why, and how many bytes were still queued to it then. */
export interface ClientClosed {
  code: number;
  reason: string;
  buffered: number;
}

export interface UiServer {
  /** `http://127.0.0.1:PORT/?token=…` */
  readonly url: string;
  readonly port: number;
  readonly token: string;
  close(): Promise<void>;
}

/** The headers every answer carries: nothing may frame, sniff or leak the token onwards. */
const SECURITY_HEADERS = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
    "font-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.map': 'application/json',
  '.woff2': 'font/woff2',
};

/**
 * A WebSocket with more than this queued and unread (events and replies) is too slow to follow,
 * or is not reading; it is closed (1013) and nothing more is built for it.
 */
const MAX_BUFFERED = 64 * 1024 * 1024;
const MAX_MESSAGE = 1024 * 1024;

/** Array results longer than this are serialised in slices, yielding to traffic in between. */
const SLICE = 2000;

/**
 * JSON for a reply. A whole session's list (100,000 flows are about 90 MB of JSON and a second of
 * CPU) is serialised a slice at a time with the event loop free in between, so the proxy keeps
 * forwarding while a UI (re)loads; undefined once `wanted()` turns false (the client is gone).
 */
async function serialise(
  message: { id: number } & ApiReply,
  wanted: () => boolean,
): Promise<string | undefined> {
  if (!message.ok || !Array.isArray(message.result) || message.result.length <= SLICE) {
    return JSON.stringify(message);
  }
  const list: unknown[] = message.result;
  const parts: string[] = [];
  for (let i = 0; i < list.length; i += SLICE) {
    parts.push(JSON.stringify(list.slice(i, i + SLICE)).slice(1, -1));
    await new Promise<void>((r) => setImmediate(r));
    if (!wanted()) return undefined;
  }
  return `{"id":${message.id},"ok":true,"result":[${parts.join(',')}]}`;
}

/**
 * Where the built renderer is: `LOUPE_RENDERER_DIR` when set, else `out/renderer` next to the
 * sources or the bundled main.
 */
export function rendererDir(): string {
  if (process.env.LOUPE_RENDERER_DIR) return resolve(process.env.LOUPE_RENDERER_DIR);
  const here = fileURLToPath(new URL('.', import.meta.url));
  for (const up of ['../../out/renderer', '../renderer']) {
    const dir = resolve(here, up);
    if (existsSync(join(dir, 'index.html'))) return dir;
  }
  return resolve(here, '../../out/renderer');
}

function sameToken(given: string | null, token: string): boolean {
  if (given === null) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Starts the UI server; rejects when the port is taken or the renderer is not built. */
export async function startUiServer(opts: UiServerOptions): Promise<UiServer> {
  const root = resolve(opts.rendererDir);
  if (!existsSync(join(root, 'index.html'))) {
    throw new Error(`the UI is not built (no ${join(root, 'index.html')}); run npm run build`);
  }
  const token = opts.token ?? randomBytes(24).toString('base64url');
  const events = createEventHub(opts.session);
  const api = createApi(opts.session, events);
  const dispatch = createDispatcher(api);
  const maxUpload = opts.maxUploadBytes ?? MAX_IMPORT_BYTES;
  const maxBuffered = opts.maxBufferedBytes ?? MAX_BUFFERED;
  let port = 0;

  /** Why a request is refused, or undefined when it may proceed. */
  const refusal = (req: IncomingMessage, originRequired: boolean): string | undefined => {
    const allowed = [`127.0.0.1:${port}`, `localhost:${port}`];
    if (!allowed.includes(req.headers.host ?? '')) {
      return `Host ${JSON.stringify(req.headers.host ?? '')} is not this server; open http://127.0.0.1:${port}/`;
    }
    const origin = req.headers.origin;
    if (origin === undefined ? originRequired : !allowed.some((a) => origin === `http://${a}`)) {
      return `Origin ${JSON.stringify(origin ?? '')} may not use this server`;
    }
    return undefined;
  };

  const send = (
    res: ServerResponse,
    status: number,
    body: string,
    type = 'text/plain; charset=utf-8',
  ): void => {
    res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': type });
    res.end(body);
  };

  const json = (res: ServerResponse, status: number, body: unknown): void =>
    send(res, status, JSON.stringify(body), 'application/json; charset=utf-8');

  /**
   * `POST /upload?token=…`: a HAR the page is about to open (`har.import` names the upload id it
   * gets back). Streamed to a file in the data directory, never held in memory; a body over the
   * cap is cut off and its file removed. Like the API, it needs the token and this server's
   * Origin (a page elsewhere cannot post to it).
   */
  const upload = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const denied = refusal(req, true);
    if (denied) return json(res, 403, { error: denied });
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (!sameToken(url.searchParams.get('token'), token)) {
      return json(res, 401, { error: 'the token is missing or wrong' });
    }
    const tooBig = `the file is larger than ${Math.floor(maxUpload / 1024 / 1024)} MB, the most Loupe opens`;
    if (Number(req.headers['content-length'] ?? 0) > maxUpload) {
      res.setHeader('Connection', 'close');
      return json(res, 413, { error: tooBig });
    }
    const target = await api.files.newUpload();
    let received = 0;
    const cap = new Transform({
      transform(chunk: Buffer, _enc, done) {
        received += chunk.length;
        done(received > maxUpload ? new Error(tooBig) : null, chunk);
      },
    });
    // The request is piped, not part of the pipeline: a failed write must not destroy the
    // socket before the answer saying why is sent.
    req.on('close', () => {
      if (!req.complete) cap.destroy(new Error('the browser stopped sending'));
    });
    req.pipe(cap);
    try {
      await pipeline(cap, createWriteStream(target.path, { mode: 0o600 }));
    } catch (err) {
      req.unpipe(cap);
      await api.files.dropUpload(target.id);
      if (res.destroyed) return;
      const status = received > maxUpload ? 413 : 400;
      const error =
        status === 413 ? tooBig : `the upload did not arrive whole: ${(err as Error).message}`;
      // Whatever the client still sends is not read: the connection ends with the answer.
      res.setHeader('Connection', 'close');
      res.on('finish', () => req.socket.destroy());
      return json(res, status, { error });
    }
    json(res, 200, { uploadId: target.id });
  };

  /** `GET /download/<jobId>?token=…`: a finished headless export, as an attachment. */
  const download = async (req: IncomingMessage, res: ServerResponse, jobId: string) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (!sameToken(url.searchParams.get('token'), token)) {
      return send(res, 401, 'the token is missing or wrong\n');
    }
    const file = api.files.download(jobId);
    const size = file && (await stat(file.path).catch(() => undefined))?.size;
    if (!file || size === undefined) {
      return send(res, 404, 'No such export here (only the last few are kept); export again.\n');
    }
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': size,
      'Content-Disposition': `attachment; filename="${file.name.replace(/[^\w.-]/g, '_')}"`,
    });
    if (req.method === 'HEAD') return void res.end();
    await pipeline(createReadStream(file.path), res);
  };

  const serve = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const denied = refusal(req, false);
    if (denied) return send(res, 403, `${denied}\n`);
    const route = (req.url ?? '/').split('?')[0]!;
    if (route === '/upload') {
      if (req.method !== 'POST') return send(res, 405, 'POST only\n');
      return upload(req, res);
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'GET only\n');
    const wanted = /^\/download\/([A-Za-z0-9_-]{1,64})$/.exec(route);
    if (wanted) return download(req, res, wanted[1]!);
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    let path: string;
    try {
      path = decodeURIComponent(url.pathname);
    } catch {
      return send(res, 400, 'the path is not valid percent-encoding\n');
    }
    if (path === '/' || path === '/index.html') {
      // The page is the door to the API: it needs the token, so a link elsewhere cannot open it.
      if (!sameToken(url.searchParams.get('token'), token)) {
        return send(
          res,
          403,
          'This Loupe UI needs the token printed by loupe headless (the "ui listening on" line).\n',
        );
      }
      path = '/index.html';
    }
    const file = resolve(root, `.${path}`);
    if (!file.startsWith(root + sep)) return send(res, 404, 'not found\n');
    try {
      if (!(await stat(file)).isFile()) return send(res, 404, 'not found\n');
      const body = await readFile(file);
      res.writeHead(200, {
        ...SECURITY_HEADERS,
        'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream',
        'Content-Length': body.length,
      });
      res.end(req.method === 'HEAD' ? undefined : body);
    } catch {
      send(res, 404, 'not found\n');
    }
  };

  const server = createServer((req, res) => {
    serve(req, res).catch(() => {
      if (!res.headersSent) send(res, 500, 'internal error\n');
      else res.destroy();
    });
  });
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE });

  const refuseUpgrade = (socket: Duplex, status: number, text: string): void => {
    const reason = status === 401 ? 'Unauthorized' : status === 404 ? 'Not Found' : 'Forbidden';
    socket.end(
      `HTTP/1.1 ${status} ${reason}\r\nContent-Type: text/plain; charset=utf-8\r\n` +
        `Connection: close\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`,
    );
  };

  server.on('upgrade', (req, socket, head) => {
    socket.on('error', () => socket.destroy());
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname !== '/api') return refuseUpgrade(socket, 404, 'not found\n');
    const denied = refusal(req, true);
    if (denied) return refuseUpgrade(socket, 403, `${denied}\n`);
    if (!sameToken(url.searchParams.get('token'), token)) {
      return refuseUpgrade(socket, 401, 'the token is missing or wrong\n');
    }
    wss.handleUpgrade(req, socket, head, (ws) => attach(ws));
  });

  const attach = (ws: WebSocket): void => {
    let unsubscribe: (() => void) | undefined;
    /**
     * Everything queued to the client and not yet written out counts against the cap, events and
     * replies alike, except the largest reply on its way: a session's whole list may exceed the
     * cap by itself, and a UI that asked for it is not falling behind.
     */
    let repliesOnTheirWay = 0;
    let largestReply = 0;
    /** The server closes the socket and forgets the client: no events, no replies, no calls. */
    const shut = (code: number, reason: string): void => {
      unsubscribe?.();
      unsubscribe = undefined;
      opts.onClientClosed?.({ code, reason, buffered: ws.bufferedAmount });
      ws.close(code, reason);
    };
    /** Whether anything more may be built or sent for this client; closes one past the cap. */
    const keepingUp = (): boolean => {
      if (ws.readyState !== ws.OPEN) return false;
      if (ws.bufferedAmount - largestReply <= maxBuffered) return true;
      shut(1013, 'the UI fell too far behind; reconnect to resume');
      return false;
    };
    const reply = (text: string): void => {
      if (!keepingUp()) return;
      repliesOnTheirWay += 1;
      largestReply = Math.max(largestReply, text.length);
      ws.send(text, () => {
        repliesOnTheirWay -= 1;
        if (repliesOnTheirWay === 0) largestReply = 0;
      });
    };
    unsubscribe = events.subscribe((payload: ApiEvent) => {
      if (keepingUp()) ws.send(JSON.stringify({ event: EVENT_CHANNEL, payload }));
    });
    ws.on('message', (data, isBinary) => {
      // Asked of a client already past the cap, a call is not even started.
      if (!keepingUp()) return;
      const parsed = isBinary ? undefined : parseWireCall(data.toString());
      if (!parsed?.ok) {
        shut(1008, parsed ? parsed.message : 'binary messages are not part of the API');
        return;
      }
      const { id, channel, args } = parsed.call;
      void dispatch(channel, args).then(async (answer) => {
        if (!keepingUp()) return;
        let text: string | undefined;
        try {
          text = await serialise({ id, ...answer }, () => ws.readyState === ws.OPEN);
        } catch (err) {
          // A reply too large to serialise (a huge session's list) must not end the process.
          const message: WireMessage = {
            id,
            ok: false,
            error: {
              code: 'unavailable',
              message: `the reply could not be sent: ${(err as Error).message}`,
            },
          };
          text = JSON.stringify(message);
        }
        if (text !== undefined) reply(text);
      });
    });
    ws.on('close', () => unsubscribe?.());
    ws.on('error', () => ws.terminate());
  };

  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(opts.port, '127.0.0.1', () => {
      server.off('error', reject);
      resolveListen();
    });
  });
  port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/?token=${token}`,
    port,
    token,
    async close() {
      for (const client of wss.clients) client.terminate();
      wss.close();
      events.dispose();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await api.dispose();
    },
  };
}
