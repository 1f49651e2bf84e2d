/**
 * Turns socket, DNS and parser failures into flow errors with stable codes and plain words, and
 * into the short explanatory response a client gets instead.
 */
import type { FlowError, FlowErrorCode } from '../../src-common/flow';
import { H2_PROTOCOL_BROKEN } from './h2-upstream';

interface SystemError extends Error {
  code?: string;
  hostname?: string;
  address?: string;
  port?: number;
  reason?: string;
}

/** Builds a FlowError for a failure while connecting to or talking with `target`. */
export function upstreamError(
  err: unknown,
  target: string,
  phase: FlowError['phase'],
  via?: string,
): FlowError {
  const e = err as SystemError;
  const code = e?.code ?? '';
  const where = via ? `${target} (through the upstream proxy ${via})` : target;
  const make = (c: FlowErrorCode, message: string): FlowError => ({
    code: c,
    message,
    phase,
    ...(code ? { detail: code } : {}),
  });
  switch (code) {
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_FAIL':
    case 'EAI_NODATA':
      return make(
        'dns_failed',
        `The name ${e.hostname ?? target} could not be resolved. Check the spelling and your DNS or VPN, or give the name an address in this computer's hosts file.`,
      );
    case 'ECONNREFUSED':
      return make(
        'connection_refused',
        `${where} refused the connection: nothing is listening on that port.`,
      );
    case 'ETIMEDOUT':
    case 'UPSTREAM_TIMEOUT':
      return make('upstream_timeout', `${where} did not answer in time.`);
    case 'ECONNRESET':
    case 'EPIPE':
      if (e.message === 'socket hang up' && phase !== 'connect') {
        return make('upstream_reset', `${where} closed the connection without answering.`);
      }
      return phase === 'connect'
        ? make('connection_failed', `${where} closed the connection before it was established.`)
        : make(
            'upstream_reset',
            `${where} reset the connection${phase === 'response' ? ' in the middle of the response' : ''}.`,
          );
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EADDRNOTAVAIL':
      return make('connection_failed', `${where} cannot be reached from this machine (${code}).`);
    case 'ERR_HTTP2_STREAM_ERROR':
    case 'ERR_HTTP2_STREAM_RESET': {
      const name = /NGHTTP2_([A-Z_0-9]+)|RST_STREAM ([A-Z_0-9]+)/.exec(e.message);
      return make(
        'upstream_reset',
        `${where} reset the HTTP/2 stream (RST_STREAM ${name?.[1] ?? name?.[2] ?? 'error'}).`,
      );
    }
    case 'ERR_HTTP2_GOAWAY_SESSION':
    case 'ERR_HTTP2_SESSION_ERROR':
    case 'ERR_HTTP2_SESSION_CLOSED':
      return make(
        'upstream_reset',
        `${where} closed the HTTP/2 connection in the middle of the exchange.`,
      );
    case H2_PROTOCOL_BROKEN:
      return make(
        'malformed_response',
        `${where} broke the HTTP/2 protocol: ${e.message}. Loupe closed its connection to the server.`,
      );
    case 'UPSTREAM_PROXY_FAILED':
      return make('upstream_proxy_failed', e.message);
    default: {
      const cert = certificateProblem(code, e.reason ?? e.message);
      if (cert) {
        return make(
          'upstream_certificate_invalid',
          `${where} presented a certificate Loupe does not trust: ${cert}. Loupe refused to continue, as a browser would. If you trust this server anyway, allow its invalid certificate in Loupe's settings for this host.`,
        );
      }
      if (
        code.startsWith('ERR_SSL_') ||
        code === 'EPROTO' ||
        code === 'ERR_TLS_HANDSHAKE_TIMEOUT'
      ) {
        const alert = /alert ([a-z ]+?)(?::|$)/i.exec(e.message)?.[1];
        return make(
          'connection_failed',
          alert
            ? `The TLS handshake with ${where} failed: the server refused it (alert ${alert.trim().replace(/^sslv3 |^tlsv1 /, '')}).`
            : `The TLS handshake with ${where} failed (${code}).`,
        );
      }
      if (code === 'HPE_HEADER_OVERFLOW') {
        return make(
          'malformed_response',
          `${where} sent a response head larger than Loupe accepts (256 KiB).`,
        );
      }
      if (
        (code === 'HPE_INVALID_CONTENT_LENGTH' || code === 'HPE_UNEXPECTED_CONTENT_LENGTH') &&
        phase === 'response'
      ) {
        // After the head, the parser is reading the trailer section of a chunked body.
        return make(
          'malformed_response',
          `${where} sent Content-Length in the trailers of a chunked response. HTTP forbids framing fields there, so Loupe treats the response as malformed.`,
        );
      }
      if (code.startsWith('HPE_')) {
        return make(
          'malformed_response',
          `${where} sent a response that is not valid HTTP/1.1 (${e.reason ?? code}).`,
        );
      }
      return make(
        phase === 'connect' ? 'connection_failed' : 'upstream_reset',
        `The connection to ${where} failed: ${e?.message ?? String(err)}.`,
      );
    }
  }
}

/** Words for an upstream certificate verification failure; undefined for other errors. */
export function certificateProblem(code: string, reason: string | undefined): string | undefined {
  switch (code) {
    case 'CERT_HAS_EXPIRED':
      return 'it has expired';
    case 'CERT_NOT_YET_VALID':
      return "it is not valid yet (check this computer's clock)";
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
      return 'it is self-signed';
    case 'SELF_SIGNED_CERT_IN_CHAIN':
      return 'its chain ends in a self-signed root that is not trusted';
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'UNABLE_TO_GET_ISSUER_CERT':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
      return "it was issued by an unknown authority (its issuer is not among the roots Loupe trusts; add the issuer to this computer's trusted certificates)";
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return `it is for another host name (${reason ?? 'hostname mismatch'})`;
    case 'CERT_REVOKED':
      return 'it has been revoked';
    case 'CERT_SIGNATURE_FAILURE':
    case 'CERT_UNTRUSTED':
    case 'CERT_REJECTED':
    case 'INVALID_CA':
    case 'INVALID_PURPOSE':
    case 'PATH_LENGTH_EXCEEDED':
      return `it failed verification (${code})`;
    default:
      return undefined;
  }
}

/** The HTTP status the client receives for a flow error that happened before any response. */
export function statusFor(error: FlowError): number {
  return error.code === 'upstream_timeout' ? 504 : error.code === 'bad_request' ? 400 : 502;
}

/** A short plain-text body explaining a failure to whoever reads the client's output. */
export function errorBody(error: FlowError): string {
  return `Loupe could not complete this request.\n\n${error.message}\n\n(error code: ${error.code})\n`;
}

/** `300` → `0.3 s`, `120000` → `120 s`. */
function seconds(ms: number): string {
  return `${Math.round(ms) / 1000} s`;
}

/** A request head that was not whole in time: the client is answered 408 with these words. */
export function headTimeoutError(ms: number): FlowError {
  return {
    code: 'bad_request',
    message: `The request head did not arrive whole within ${seconds(ms)} of its first byte, so Loupe answered 408 Request Timeout and closed the connection. The client stalled in the middle of its headers or sent them too slowly; the limit is requestHeadTimeoutSeconds in Loupe's settings.`,
    phase: 'request',
    detail: 'head_timeout',
  };
}

/** A tunnel or upgraded connection closed by the idle limit for tunnels and WebSockets. */
export function tunnelIdleError(
  ms: number,
  what: 'tunnel' | 'WebSocket' | 'connection',
): FlowError {
  return {
    code: 'tunnel_failed',
    message: `Loupe closed this ${what} after ${seconds(ms)} without a byte either way: the idle limit for tunnels and WebSockets, tunnelIdleTimeoutSeconds in Loupe's settings (0 turns it off).`,
    phase: what === 'tunnel' ? 'tunnel' : 'response',
    detail: 'idle_timeout',
  };
}
