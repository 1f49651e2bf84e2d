/**
 * `flows.bodyPart`: a range of a body, decoded per its Content-Encoding or as sent, for the
 * inspector's on-demand chunked reading. A body is decoded once (up to a cap) and its decoded
 * bytes kept in a small LRU bounded by bytes, so reading a 16 MiB body in 1 MiB parts decodes it
 * once, not sixteen times.
 */
import { MAX_BODY_PART, type BodyPart, type BodyPartRequest } from '../../src-common/api/contract';
import { headerValue } from '../../src-common/flow';
import { codingsToUndo, decodeBody } from '../flows/decode';
import { ApiFailure } from './api-failure';
import type { FoundBody } from './har-service';

export interface BodyParts {
  read(bodyId: string, body: FoundBody, request: BodyPartRequest): Promise<BodyPart>;
  /** Forgets cached decoded bodies (after a clear). */
  clear(): void;
}

export interface BodyPartsOptions {
  /** Decoded bytes produced per body at most; past it the view is `truncated`. */
  maxDecoded?: number;
  /** Bytes of views kept between calls, in all. */
  cacheBytes?: number;
}

export const DEFAULT_MAX_DECODED = 64 * 1024 * 1024;
export const DEFAULT_CACHE_BYTES = 128 * 1024 * 1024;

/** One way of looking at a body: its bytes as served, and what the reply says about them. */
interface View {
  bytes: Buffer;
  truncated: boolean;
  decodedFrom?: string;
  decodeError?: string;
  /** The captured size the view was made from: a body still arriving grows past it. */
  captured: number;
}

export function createBodyParts(opts: BodyPartsOptions = {}): BodyParts {
  const maxDecoded = opts.maxDecoded ?? DEFAULT_MAX_DECODED;
  const cacheBytes = opts.cacheBytes ?? DEFAULT_CACHE_BYTES;
  /** Views by `bodyId` plus the kind; a Map iterates in insertion order, oldest first. */
  const cache = new Map<string, View>();
  /** Views being made, so parallel parts of one body share one decode. */
  const making = new Map<string, Promise<View>>();
  let cached = 0;

  const forget = (key: string): void => {
    const view = cache.get(key);
    if (!view) return;
    cache.delete(key);
    cached -= view.bytes.length;
  };

  const remember = (key: string, view: View): void => {
    forget(key);
    // A view larger than the whole cache is served once and not kept.
    if (view.bytes.length > cacheBytes) return;
    cache.set(key, view);
    cached += view.bytes.length;
    for (const old of cache.keys()) {
      if (cached <= cacheBytes) break;
      forget(old);
    }
  };

  /** The bytes to serve: decoded when `undo`, else as stored. */
  async function makeView(body: FoundBody, undo: boolean): Promise<View> {
    const wire = await body.read();
    const captured = body.info.captured;
    const coding = headerValue(body.headers, 'content-encoding');
    if (!undo) return { bytes: wire, truncated: body.info.truncated, captured };
    const result = await decodeBody(wire, coding, {
      maxOutput: maxDecoded,
      partialInput: body.info.truncated,
    });
    if (!result.ok) {
      return {
        bytes: wire,
        truncated: body.info.truncated,
        decodeError: `${result.error}; these are the bytes as sent`,
        captured,
      };
    }
    return {
      bytes: result.body,
      truncated: result.truncated,
      decodedFrom: codingsToUndo(coding).reverse().join(', '),
      captured,
    };
  }

  async function viewOf(bodyId: string, body: FoundBody, decoded: boolean): Promise<View> {
    // With nothing to undo both views are the stored bytes: keep them once.
    const undo =
      decoded &&
      !body.alreadyDecoded &&
      codingsToUndo(headerValue(body.headers, 'content-encoding')).length > 0;
    const key = `${bodyId}\u0000${undo ? 'decoded' : 'wire'}`;
    const hit = cache.get(key);
    if (hit && hit.captured === body.info.captured) {
      // Touch: most recently used goes last.
      cache.delete(key);
      cache.set(key, hit);
      return hit;
    }
    let pending = making.get(key);
    if (!pending) {
      pending = makeView(body, undo).finally(() => making.delete(key));
      making.set(key, pending);
      const view = await pending;
      remember(key, view);
      return view;
    }
    return pending;
  }

  return {
    async read(bodyId, body, request) {
      const { offset, length, decoded } = request;
      if (!(length >= 1 && length <= MAX_BODY_PART)) {
        throw new ApiFailure('invalid_argument', `a part is 1 to ${MAX_BODY_PART} bytes`);
      }
      const view = await viewOf(bodyId, body, decoded);
      const total = view.bytes.length;
      if (offset > total) {
        throw new ApiFailure(
          'invalid_argument',
          `offset ${offset} is past the end of the body (${total} bytes)`,
        );
      }
      const part: BodyPart = {
        base64: view.bytes.subarray(offset, offset + length).toString('base64'),
        offset,
        total,
        truncated: view.truncated,
      };
      if (view.decodedFrom) part.decodedFrom = view.decodedFrom;
      if (view.decodeError) part.decodeError = view.decodeError;
      return part;
    },
    clear() {
      cache.clear();
      cached = 0;
    },
  };
}
