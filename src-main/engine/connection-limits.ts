/**
 * The deadlines of a client connection while Loupe's HTTP servers read it (the request head, the
 * first request, keep-alive idle), kept on its socket. The tunnel limit lives with the splice.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { ClientLimits } from './context';
import { watchReads, type OnRead } from './http1-reads';

/** Where a client connection's limits are kept: on its socket, which HTTP/2 reaches by proxy. */
const LIMITS = Symbol('loupe.limits');
type LimitsCarrier = { [LIMITS]?: ConnectionLimits };

export function limitsOf(socket: unknown): ConnectionLimits | undefined {
  return socket ? (socket as LimitsCarrier)[LIMITS] : undefined;
}

/** Counts a request against its connection's limits; false when a limit already closed it. */
export function admitted(req: IncomingMessage, res: ServerResponse): boolean {
  return limitsOf(req.socket)?.admit(req, res) ?? true;
}

/** Bytes of a timed head kept to name its request in the flow. */
const HEAD_SAMPLE = 2048;

/**
 * The deadlines of one client connection while Loupe's HTTP servers read it. Its first request
 * must start within `firstRequestTimeoutMs`; an HTTP/1 head must be whole `headersTimeoutMs`
 * after its first byte (else `onHeadTimeout`, which answers 408); and with no exchange in flight
 * the connection is closed after `keepAliveTimeoutMs`. No deadline runs while an exchange is in
 * flight, so a hook holding one (a breakpoint) is never cut short. An upgrade or CONNECT takes
 * the socket out of HTTP: `release()` ends the deadlines, and only the tunnel limit applies.
 */
export class ConnectionLimits {
  /** Set once a deadline has closed the connection: a request parsed after it is not served. */
  private expired = false;
  private released = false;
  private timer: NodeJS.Timeout | undefined;
  private inFlight = 0;
  private last: IncomingMessage | undefined;
  /** The start of the head being timed; undefined while no head is. */
  private head: Buffer[] | undefined;
  private headSize = 0;
  private stopReads: (() => void) | undefined;

  constructor(
    private readonly socket: Socket,
    private readonly limits: ClientLimits,
    /** Closes the connection without a word (HTTP/2 replaces it with GOAWAY first). */
    public close: () => void,
    private readonly onHeadTimeout: (head: Buffer) => void,
  ) {
    (socket as LimitsCarrier)[LIMITS] = this;
    socket.once('close', () => this.release());
  }

  /** A connection that has sent nothing yet: its first request must start in time. */
  awaitFirst(): void {
    this.arm(this.limits.firstRequestTimeoutMs, () => this.expire());
  }

  /**
   * HTTP/1: times each head from its first byte, read while nothing is in flight. `first` is
   * the read the HTTP server was given the socket with (see watchReads).
   */
  timeHeads(first: Buffer): void {
    if (!this.released) this.stopReads = watchReads(this.socket, first, this.onRead);
  }

  admit(req: IncomingMessage, res: ServerResponse): boolean {
    if (this.expired) {
      res.destroy();
      return false;
    }
    this.head = undefined;
    clearTimeout(this.timer);
    this.inFlight++;
    this.last = req;
    res.once('close', () => {
      this.inFlight--;
      this.settle();
    });
    req.once('end', () => this.settle());
    return true;
  }

  release(): void {
    this.released = true;
    clearTimeout(this.timer);
    this.stopReads?.();
    this.stopReads = undefined;
  }

  /** Nothing in flight: no response still to send, no request body still to read. */
  private idle(): boolean {
    return this.inFlight === 0 && (this.last?.complete ?? true);
  }

  /** After an exchange: once the connection is idle, it waits for the next request. */
  private settle(): void {
    if (this.idle() && !this.head) this.arm(this.limits.keepAliveTimeoutMs, () => this.expire());
  }

  /** A read of the connection: bytes while nothing is in flight start or continue a head. */
  private readonly onRead: OnRead = (bytes) => {
    if (!this.idle()) return;
    if (!this.head) {
      this.head = [];
      this.headSize = 0;
      this.arm(this.limits.headersTimeoutMs, () => {
        const head = Buffer.concat(this.head ?? []);
        this.expired = true;
        this.release();
        this.onHeadTimeout(head);
      });
    }
    if (this.headSize < HEAD_SAMPLE) {
      const kept = bytes().subarray(0, HEAD_SAMPLE - this.headSize);
      this.head.push(kept);
      this.headSize += kept.length;
    }
  };

  private expire(): void {
    this.expired = true;
    this.release();
    this.close();
  }

  /** A limit of 0 never fires. */
  private arm(ms: number, fire: () => void): void {
    clearTimeout(this.timer);
    this.timer = ms > 0 && !this.released ? setTimeout(fire, ms) : undefined;
  }
}
