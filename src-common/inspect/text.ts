/**
 * Bytes to text for display: base64 as the API sends bodies, UTF-8 when the bytes are, otherwise
 * the message's declared charset or windows-1252 (every byte maps to something, nothing is lost
 * from view), and long lines cut into pieces a DOM can lay out.
 */

/** Base64 (as `flows.bodyPart` answers) to bytes. */
export function fromBase64(base64: string): Uint8Array {
  // Chromium 140+ decodes natively, several times faster than the loop below.
  const native = (Uint8Array as unknown as { fromBase64?: (s: string) => Uint8Array }).fromBase64;
  if (native) return native.call(Uint8Array, base64);
  const binary = atob(base64);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

/** Bytes to base64 (a `data:` URL for an image), in slices so a large body does not overflow. */
export function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

export interface DecodedText {
  text: string;
  /** The encoding used: `utf-8`, or the fallback. */
  encoding: string;
  /** The bytes were not valid in `charset` (or UTF-8) and a fallback was used. */
  fallback: boolean;
}

/**
 * Decodes `bytes`; `cut` says the bytes may stop mid-character (only a part of the body is
 * loaded), so a sequence left open at the very end is not counted as invalid.
 */
export function decodeText(bytes: Uint8Array, charset?: string, cut = false): DecodedText {
  const wanted = (charset ?? 'utf-8').toLowerCase();
  if (wanted !== 'utf-8' && wanted !== 'utf8') {
    try {
      return { text: new TextDecoder(wanted).decode(bytes), encoding: wanted, fallback: false };
    } catch {
      // An unknown label: try UTF-8 as if none was given.
    }
  }
  try {
    const decoder = new TextDecoder('utf-8', { fatal: true });
    const text = decoder.decode(bytes, { stream: cut });
    return { text, encoding: 'utf-8', fallback: false };
  } catch {
    return {
      text: new TextDecoder('windows-1252').decode(bytes),
      encoding: 'windows-1252',
      fallback: true,
    };
  }
}

/**
 * Where the display lines of `text` are, as `[start, end]` pairs of character offsets: split at
 * line breaks (a `\r` before the `\n` left out), and a line longer than `max` characters cut into
 * pieces, since a minified 8 MB file is one line no layout engine enjoys. Yields now and then so
 * a caller without a worker can give the event loop a turn.
 */
export function* lineBoundsSteps(text: string, max = 1000): Generator<void, Uint32Array> {
  let out = new Uint32Array(1024);
  let n = 0;
  const push = (start: number, end: number): void => {
    if (n + 2 > out.length) {
      const grown = new Uint32Array(out.length * 2);
      grown.set(out);
      out = grown;
    }
    out[n++] = start;
    out[n++] = end;
  };
  let start = 0;
  let lines = 0;
  while (start <= text.length) {
    if (++lines % 20_000 === 0) yield;
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const stop = end > start && text.charCodeAt(end - 1) === 13 ? end - 1 : end;
    if (stop - start <= max) push(start, stop);
    else for (let i = start; i < stop; i += max) push(i, Math.min(stop, i + max));
    start = end + 1;
  }
  return out.subarray(0, n);
}

/** The display lines of `text` as strings (see `lineBoundsSteps`). */
export function displayLines(text: string, max = 1000): string[] {
  const steps = lineBoundsSteps(text, max);
  let step = steps.next();
  while (!step.done) step = steps.next();
  const bounds = step.value;
  const out: string[] = [];
  for (let i = 0; i < bounds.length; i += 2) out.push(text.slice(bounds[i], bounds[i + 1]));
  return out;
}
