import { describe, expect, it } from 'vitest';
import type { WsMessage } from '../../../src-common/websocket';
import { wsCutMark, wsCutSentence, wsCutSummary } from './ws-words';

const MiB = 1024 * 1024;
const message = (connectionCap?: 'cut' | 'none'): WsMessage => ({
  direction: 'receive',
  time: 0,
  opcode: 1,
  size: 10,
  wireSize: 4,
  compressed: true,
  ...(connectionCap ? { connectionCap } : {}),
  ...(connectionCap === 'cut' ? { data: 'aaaa', truncated: true } : {}),
  ...(connectionCap === undefined ? { data: 'aaaaaaaaaa' } : {}),
});

describe('the WebSocket tab says which messages the per-connection cap cut or left out', () => {
  it.each([
    [undefined, undefined, undefined],
    [
      'cut',
      'cut',
      'Only the start of this message was kept: this connection had reached its cap of 64 MB of kept message bytes (captureWebSocketCap in the settings). The traffic itself was not cut.',
    ],
    [
      'none',
      'not kept',
      'Not kept: this connection had reached its cap of 64 MB of kept message bytes (captureWebSocketCap in the settings); its size is still counted. The traffic itself was not cut.',
    ],
  ] as const)('a message with connectionCap %s: %s', (cap, mark, sentence) => {
    expect(wsCutMark(message(cap))).toBe(mark);
    expect(wsCutSentence(message(cap), 64 * MiB)).toBe(sentence);
  });

  it('counts them for the summary line, and says nothing when the cap was not reached', () => {
    const messages = [message(), message('cut'), message('none'), message('none')];
    expect(wsCutSummary({ messages, keptCap: 64 * MiB })).toBe(
      '1 cut, 2 not kept: past the 64 MB cap on kept bytes per connection',
    );
    expect(wsCutSummary({ messages: [message()], keptCap: 64 * MiB })).toBeUndefined();
  });
});
