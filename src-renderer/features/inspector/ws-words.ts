/**
 * What the WebSocket tab says of messages that the connection's cap on kept bytes cut or left
 * out (`WsMessage.connectionCap`): a short mark for the list, a sentence for the payload pane and
 * the summary line.
 */
import { formatBytes } from '../../../src-common/flow-view';
import type { WebSocketRecord, WsMessage } from '../../../src-common/websocket';

const capWords = (keptCap: number | undefined): string =>
  keptCap === undefined
    ? 'its cap on kept message bytes'
    : `its cap of ${formatBytes(keptCap)} of kept message bytes`;

/** `cut` or `not kept` for a message the connection's cap reached, else undefined. */
export function wsCutMark(m: WsMessage): string | undefined {
  if (m.connectionCap === 'cut') return 'cut';
  if (m.connectionCap === 'none') return 'not kept';
  return undefined;
}

/** Why a message is cut or not kept by the connection's cap, in a sentence; else undefined. */
export function wsCutSentence(m: WsMessage, keptCap: number | undefined): string | undefined {
  const where = `this connection had reached ${capWords(keptCap)} (captureWebSocketCap in the settings)`;
  if (m.connectionCap === 'cut') {
    return `Only the start of this message was kept: ${where}. The traffic itself was not cut.`;
  }
  if (m.connectionCap === 'none') {
    return `Not kept: ${where}; its size is still counted. The traffic itself was not cut.`;
  }
  return undefined;
}

/** For the summary line: how many messages the cap cut or left out; undefined when none. */
export function wsCutSummary(
  ws: Pick<WebSocketRecord, 'messages' | 'keptCap'>,
): string | undefined {
  let cut = 0;
  let none = 0;
  for (const m of ws.messages) {
    if (m.connectionCap === 'cut') cut++;
    else if (m.connectionCap === 'none') none++;
  }
  if (cut + none === 0) return undefined;
  const parts = [cut ? `${cut} cut` : '', none ? `${none} not kept` : ''].filter(Boolean);
  const cap = ws.keptCap === undefined ? 'the cap' : `the ${formatBytes(ws.keptCap)} cap`;
  return `${parts.join(', ')}: past ${cap} on kept bytes per connection`;
}
