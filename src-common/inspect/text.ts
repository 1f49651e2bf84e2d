/**
 * Bytes to text for display: base64 as the API sends bodies, UTF-8 when the bytes are, otherwise
 * the message's declared charset or windows-1252 (every byte maps to something, nothing is lost
 * from view), and long lines cut into pieces a DOM can lay out.
 */

/** Base64 (as `flows.bodyPart` answers) to bytes. */
export function fromBase64(base64: string): Uint8Array {
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
 * Text as display lines: split at line breaks, and a line longer than `max` characters cut into
 * pieces (a minified 8 MB file is one line no layout engine enjoys).
 */
export function displayLines(text: string, max = 1000): string[] {
  const out: string[] = [];
  let start = 0;
  while (start <= text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    let line = text.slice(start, end);
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (line.length <= max) out.push(line);
    else for (let i = 0; i < line.length; i += max) out.push(line.slice(i, i + max));
    start = end + 1;
  }
  return out;
}
