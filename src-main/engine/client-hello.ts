/**
 * Reads a TLS ClientHello from the first bytes of a connection, before anything is decided: the
 * server name (SNI), the application protocols offered (ALPN) and the TLS versions offered. The
 * handshake message may span several records and arrive in any number of TCP segments; the
 * caller buffers and asks again until the answer is not `more`.
 */

export interface ClientHello {
  /** The SNI host name, lower case, when the client sent one. */
  serverName?: string;
  /** ALPN protocols in the client's order; empty when it offered none. */
  alpn: string[];
  /** Versions offered, highest first: `TLSv1.3`, `TLSv1.2`… (from supported_versions, else the legacy field). */
  versions: string[];
}

export type HelloResult =
  { kind: 'more' } | { kind: 'hello'; hello: ClientHello } | { kind: 'invalid'; reason: string };

/** Largest ClientHello accepted (post-quantum key shares make them 2 KB or more; 64 KiB is ample). */
export const MAX_HELLO_BYTES = 64 * 1024;

const VERSION_NAMES: Record<number, string> = {
  0x0304: 'TLSv1.3',
  0x0303: 'TLSv1.2',
  0x0302: 'TLSv1.1',
  0x0301: 'TLSv1',
  0x0300: 'SSLv3',
};

const isGrease = (v: number): boolean => (v & 0x0f0f) === 0x0a0a && v >> 8 === (v & 0xff);

/** Parses the ClientHello at the start of `data`. */
export function parseClientHello(data: Buffer): HelloResult {
  // Gather the handshake bytes out of consecutive handshake records.
  const parts: Buffer[] = [];
  let have = 0;
  let offset = 0;
  let needed = -1;
  while (needed < 0 || have < needed) {
    if (offset + 5 > data.length) break;
    if (data[offset] !== 0x16) {
      return { kind: 'invalid', reason: 'the connection did not start with a TLS handshake' };
    }
    const major = data[offset + 1]!;
    if (major !== 3) return { kind: 'invalid', reason: 'not a TLS record (unknown version)' };
    const len = data.readUInt16BE(offset + 3);
    if (len === 0 || len > 16384 + 2048) {
      return { kind: 'invalid', reason: 'a TLS record of impossible length' };
    }
    if (offset + 5 + len > data.length) break;
    parts.push(data.subarray(offset + 5, offset + 5 + len));
    have += len;
    offset += 5 + len;
    if (needed < 0 && have >= 4) {
      const first = Buffer.concat(parts);
      if (first[0] !== 1)
        return { kind: 'invalid', reason: 'the first handshake message is not a ClientHello' };
      needed = 4 + first.readUIntBE(1, 3);
      if (needed > MAX_HELLO_BYTES)
        return { kind: 'invalid', reason: 'the ClientHello is larger than 64 KiB' };
    }
  }
  if (needed < 0 || have < needed) {
    if (data.length >= MAX_HELLO_BYTES) {
      return { kind: 'invalid', reason: 'no complete ClientHello in the first 64 KiB' };
    }
    return { kind: 'more' };
  }
  try {
    return { kind: 'hello', hello: readHello(Buffer.concat(parts).subarray(4, needed)) };
  } catch {
    return { kind: 'invalid', reason: 'the ClientHello is malformed' };
  }
}

function readHello(b: Buffer): ClientHello {
  let p = 0;
  const need = (n: number): void => {
    if (p + n > b.length) throw new RangeError('short');
  };
  need(2 + 32);
  const legacy = b.readUInt16BE(p);
  p += 2 + 32;
  need(1);
  p += 1 + b[p]!; // session id
  need(2);
  p += 2 + b.readUInt16BE(p); // cipher suites
  need(1);
  p += 1 + b[p]!; // compression methods
  const hello: ClientHello = { alpn: [], versions: [] };
  if (p === b.length) {
    hello.versions = [VERSION_NAMES[legacy] ?? `0x${legacy.toString(16)}`];
    return hello;
  }
  need(2);
  const end = p + 2 + b.readUInt16BE(p);
  p += 2;
  if (end > b.length) throw new RangeError('short');
  while (p + 4 <= end) {
    const type = b.readUInt16BE(p);
    const len = b.readUInt16BE(p + 2);
    const body = b.subarray(p + 4, p + 4 + len);
    if (body.length !== len) throw new RangeError('short');
    p += 4 + len;
    if (type === 0 && len >= 2) {
      // server_name: a list of (type, name); type 0 is a host name.
      let q = 2;
      while (q + 3 <= body.length) {
        const nameType = body[q]!;
        const nameLen = body.readUInt16BE(q + 1);
        const name = body.subarray(q + 3, q + 3 + nameLen);
        q += 3 + nameLen;
        if (nameType === 0 && name.length === nameLen) {
          hello.serverName = name.toString('latin1').toLowerCase();
          break;
        }
      }
    } else if (type === 16 && len >= 2) {
      let q = 2;
      while (q < body.length) {
        const n = body[q]!;
        const proto = body.subarray(q + 1, q + 1 + n);
        q += 1 + n;
        if (proto.length === n && n > 0) hello.alpn.push(proto.toString('latin1'));
      }
    } else if (type === 43 && len >= 1) {
      for (let q = 1; q + 1 < body.length && q <= body[0]!; q += 2) {
        const v = body.readUInt16BE(q);
        if (!isGrease(v)) hello.versions.push(VERSION_NAMES[v] ?? `0x${v.toString(16)}`);
      }
    }
  }
  if (hello.versions.length === 0)
    hello.versions = [VERSION_NAMES[legacy] ?? `0x${legacy.toString(16)}`];
  return hello;
}
