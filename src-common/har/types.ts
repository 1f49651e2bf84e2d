/**
 * HAR 1.2 (http://www.softwareishard.com/blog/har-12-spec/) as Loupe writes it. Loupe's own
 * additions start with `_`, as the spec allows for custom fields; readers ignore what they do
 * not know.
 */
import type { ClientHelloSummary, TlsInfo } from '../flow';

export interface HarNameValue {
  name: string;
  value: string;
}

export interface HarCookie extends HarNameValue {
  path?: string;
  domain?: string;
  /** ISO 8601, from `Expires` or, taking precedence as browsers do, `Max-Age`. */
  expires?: string;
  httpOnly?: boolean;
  secure?: boolean;
}

export interface HarPostData {
  mimeType: string;
  text: string;
  /** Decoded fields of an `application/x-www-form-urlencoded` body, in order. */
  params?: HarNameValue[];
  /** Set when `text` is base64 because the body is not UTF-8 (not in HAR 1.2; as for content). */
  encoding?: 'base64';
  comment?: string;
  /** Capture kept only the start of the body; `text` is that start. */
  _truncated?: true;
}

export interface HarContent {
  /** Bytes of the body with Content-Encoding undone where known, else as sent. */
  size: number;
  /** Bytes saved by Content-Encoding (decoded − wire size), where the decoded size is known. */
  compression?: number;
  mimeType: string;
  text?: string;
  encoding?: 'base64';
  comment?: string;
  /** `text` is only the start of the body (the capture cap or the export's decoding cap). */
  _truncated?: true;
}

export interface HarRequest {
  method: string;
  url: string;
  httpVersion: string;
  cookies: HarCookie[];
  headers: HarNameValue[];
  queryString: HarNameValue[];
  postData?: HarPostData;
  /** HTTP/1.x head bytes up to and including the blank line; -1 for HTTP/2 and tunnels. */
  headersSize: number;
  /** Body bytes as sent on the wire. */
  bodySize: number;
  comment?: string;
  /** The request target as received, when it is not a URL a HAR may carry (refused requests). */
  _url?: string;
}

export interface HarResponse {
  status: number;
  statusText: string;
  httpVersion: string;
  cookies: HarCookie[];
  headers: HarNameValue[];
  content: HarContent;
  redirectURL: string;
  headersSize: number;
  bodySize: number;
  comment?: string;
}

export interface HarTimings {
  blocked: number;
  dns: number;
  /** Includes `ssl`, as HAR defines it. */
  connect: number;
  send: number;
  wait: number;
  receive: number;
  ssl: number;
}

export interface HarEntry {
  /** ISO 8601 with milliseconds. */
  startedDateTime: string;
  /** Sum of the non-negative timings except `ssl` (already inside `connect`). */
  time: number;
  request: HarRequest;
  response: HarResponse;
  cache: Record<string, never>;
  timings: HarTimings;
  /** The upstream IP address, without brackets for IPv6. */
  serverIPAddress?: string;
  /** The upstream connection id: entries sharing one reused a keep-alive connection. */
  connection?: string;
  comment?: string;
  /** The flow id in Loupe. */
  _loupeId: string;
  /** What the entry records: an HTTP exchange, or a tunnel written as its CONNECT. */
  _loupeKind: 'http' | 'tunnel';
  _error?: { code: string; message: string };
  _tunnel?: { protocol: 'tls' | 'unknown'; bytesUp: number; bytesDown: number; reason?: string };
  /** TLS on both legs of a decrypted exchange: versions, ciphers, ALPN, SNI, server chain. */
  _tls?: TlsInfo;
  /** What the client offered in its ClientHello (tunnels and failed handshakes). */
  _clientHello?: ClientHelloSummary;
  _tags?: string[];
  /**
   * What the export had to leave out of this entry (a part past its limit, a body it could not
   * read), in words. The entry is otherwise whole. Always its last field.
   */
  _truncated?: string;
}

export interface HarCreator {
  name: string;
  version: string;
}

export interface HarLog {
  log: {
    version: '1.2';
    creator: HarCreator;
    /** After the fields above, so a streaming writer can put the entries in between. */
    entries: HarEntry[];
    /** Flows the export could not write at all, in words; after the entries. */
    comment?: string;
  };
}
