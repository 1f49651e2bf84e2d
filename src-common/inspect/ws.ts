/** WebSocket messages for the inspector's list: what kind each is and its payload to show. */
import type { WsMessage } from '../websocket';
import { fromBase64 } from './text';

const OPCODES: Record<number, string> = {
  1: 'text',
  2: 'binary',
  8: 'close',
  9: 'ping',
  10: 'pong',
};

/** `text`, `binary`, `close`, `ping`, `pong`, or `opcode N`. */
export function opcodeName(opcode: number): string {
  return OPCODES[opcode] ?? `opcode ${opcode}`;
}

export type WsPayload =
  | { kind: 'text'; text: string }
  | { kind: 'binary'; bytes: Uint8Array }
  | { kind: 'none'; reason: string };

/** The payload as the list shows it: text as text, binary as bytes (for hex). */
export function wsPayload(m: WsMessage): WsPayload {
  if (m.data === undefined) {
    return { kind: 'none', reason: m.error ?? 'the payload was not kept' };
  }
  if (m.encoding === 'base64') return { kind: 'binary', bytes: fromBase64(m.data) };
  return { kind: 'text', text: m.data };
}

/** A one-line preview of a payload, at most `max` characters. */
export function wsPreview(m: WsMessage, max = 200): string {
  const p = wsPayload(m);
  if (p.kind === 'none') return p.reason;
  if (p.kind === 'binary') {
    const hex = Array.from(p.bytes.subarray(0, Math.ceil(max / 3)), (b) =>
      b.toString(16).padStart(2, '0'),
    ).join(' ');
    return hex.length > max ? hex.slice(0, max) : hex;
  }
  const flat = p.text.replace(/\s+/g, ' ');
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}
