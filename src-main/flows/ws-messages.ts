/**
 * WebSocket message payloads as capture keeps them: outside the flow, in one body per connection
 * (so the body store's memory budget and spilling apply to them), each message naming its bytes
 * there (`WsMessage.stored`). Readers of a whole flow (the API's `flows.get`, the HAR writer)
 * get the messages' `data` back with `withMessageData`.
 */
import type { Flow } from '../../src-common/flow';
import type { WsMessage } from '../../src-common/websocket';

/** Reads a body by id: the BodyStore, or anything that serves its bodies. */
export interface MessageBodies {
  read(bodyId: string): Promise<Buffer>;
}

export interface MessageDataOptions {
  /**
   * Fill no more messages once this many characters of `data` are filled (the message that
   * passes it is filled, so a reader applying the same limit sees where it is passed).
   */
  maxChars?: number;
}

/**
 * `flow` with the `data` of its WebSocket messages read from `bodies`; the flow itself when its
 * messages carry their data already (an imported one) or it has none. Never throws: a body that
 * cannot be read leaves the messages without data, saying why in their `error`.
 */
export async function withMessageData(
  flow: Flow,
  bodies: MessageBodies,
  opts: MessageDataOptions = {},
): Promise<Flow> {
  if (flow.kind !== 'http' || !flow.websocket?.bodyId) return flow;
  const ws = flow.websocket;
  let bytes: Buffer;
  try {
    bytes = await bodies.read(flow.websocket.bodyId);
  } catch (err) {
    const words = `Loupe could not read this payload from its store: ${(err as Error).message}.`;
    const messages = ws.messages.map((m) => (m.stored ? { ...m, error: m.error ?? words } : m));
    return { ...flow, websocket: { ...ws, messages } };
  }
  const max = opts.maxChars ?? Infinity;
  let chars = 0;
  const fill = (m: WsMessage): WsMessage => {
    const end = m.stored ? m.stored.offset + m.stored.length : 0;
    // A body cleared while its connection went on no longer has the earlier bytes.
    if (!m.stored || chars > max || end > bytes.length) return m;
    const data = bytes.toString(m.encoding === 'base64' ? 'base64' : 'utf8', m.stored.offset, end);
    chars += data.length;
    return { ...m, data };
  };
  return { ...flow, websocket: { ...ws, messages: ws.messages.map(fill) } };
}
