/** Hex dump rows as `xxd` and every hex editor lay them out: offset, 16 bytes, their ASCII. */

export const HEX_ROW_BYTES = 16;

export interface HexRow {
  /** Offset of the row's first byte, 8 hex digits (more past 4 GiB). */
  offset: string;
  /** Two digits per byte, a wider gap after the eighth. */
  hex: string;
  /** Printable ASCII as itself, anything else as a dot. */
  ascii: string;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Row `row` of `bytes`, whose first byte is at `base` in the body. */
export function hexRow(bytes: Uint8Array, row: number, base = 0): HexRow {
  const start = row * HEX_ROW_BYTES;
  const end = Math.min(bytes.length, start + HEX_ROW_BYTES);
  let hex = '';
  let ascii = '';
  for (let i = start; i < start + HEX_ROW_BYTES; i++) {
    if (i > start) hex += i - start === 8 ? '  ' : ' ';
    if (i < end) {
      const b = bytes[i]!;
      hex += HEX[b];
      ascii += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.';
    } else hex += '  ';
  }
  return { offset: (base + start).toString(16).padStart(8, '0'), hex, ascii };
}

export function hexRowCount(length: number): number {
  return Math.ceil(length / HEX_ROW_BYTES);
}

/** The rows as `xxd`-style text (for copying a dump). */
export function hexDump(bytes: Uint8Array, base = 0): string {
  const out: string[] = [];
  for (let r = 0; r < hexRowCount(bytes.length); r++) {
    const { offset, hex, ascii } = hexRow(bytes, r, base);
    out.push(`${offset}  ${hex}  ${ascii}`);
  }
  return out.join('\n');
}
