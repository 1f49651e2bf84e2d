/**
 * The WebSocket tab: every message with its direction, time, size and type, and the selected
 * one's payload: text as text (JSON pretty-printed), binary as hex. Messages that the
 * connection's cap on kept bytes cut or left out say so in the list and in the payload pane.
 */
import { useMemo, useState } from 'react';
import type { HttpFlow } from '../../../src-common/flow';
import { formatBytes, formatClock } from '../../../src-common/flow-view';
import { hexDump } from '../../../src-common/inspect/hex';
import { prettyJson } from '../../../src-common/inspect/json';
import { opcodeName, wsPayload, wsPreview } from '../../../src-common/inspect/ws';
import type { WsMessage } from '../../../src-common/websocket';
import { docSlice } from './format-jobs';
import { Windowed } from './Windowed';
import { wsCutMark, wsCutSentence, wsCutSummary } from './ws-words';

const ROW = 22;
/** Payloads larger than this are shown as they are, not re-laid out as JSON. */
const PRETTY_LIMIT = 256 * 1024;

function Payload({ message, keptCap }: { message: WsMessage; keptCap: number | undefined }) {
  const cut = wsCutSentence(message, keptCap);
  const shown = useMemo(() => {
    const p = wsPayload(message);
    if (p.kind === 'none') return { text: cut ?? p.reason, note: true };
    if (p.kind === 'binary') return { text: hexDump(p.bytes.subarray(0, 64 * 1024)) };
    if (p.text.length <= PRETTY_LIMIT) {
      const pretty = prettyJson(p.text);
      if (pretty.ok && pretty.end.length > 1) {
        return { text: docSlice(pretty.chars, 0, pretty.chars.length) };
      }
    }
    return { text: p.text };
  }, [message, cut]);
  return (
    <div className="ws-payload" data-testid="ws-payload">
      {message.truncated && (
        <p className="inspector-note">{cut ?? 'Only the start of this message was kept.'}</p>
      )}
      {message.error && message.data !== undefined && (
        <p className="inspector-note">{message.error}</p>
      )}
      <pre className={`code-block${shown.note ? ' muted' : ''}`}>{shown.text}</pre>
    </div>
  );
}

export function WebSocketView({ flow }: { flow: HttpFlow }) {
  const ws = flow.websocket!;
  const [selected, setSelected] = useState<number>();
  const message = selected === undefined ? undefined : ws.messages[selected];
  const cutSummary = useMemo(() => wsCutSummary(ws), [ws]);
  return (
    <div className="ws-view">
      <div className="ws-summary muted">
        {ws.messages.length} messages
        {cutSummary && ` (${cutSummary})`}
        {ws.messagesDropped > 0 && ` (${ws.messagesDropped} more not kept)`}
        {ws.extensions && ` · ${ws.extensions}`}
        {ws.closeCode !== undefined &&
          ` · closed by ${ws.closedBy ?? 'a side'} with ${ws.closeCode}${ws.closeReason ? ` “${ws.closeReason}”` : ''}`}
        {ws.error && <span className="ov-error"> · {ws.error}</span>}
      </div>
      {ws.messages.length === 0 ? (
        <p className="muted inspector-empty">No messages yet.</p>
      ) : (
        <Windowed
          className="ws-list"
          count={ws.messages.length}
          rowHeight={ROW}
          label="WebSocket messages"
          row={(i) => {
            const m = ws.messages[i]!;
            const mark = wsCutMark(m);
            return (
              <button
                type="button"
                className={`ws-message${selected === i ? ' selected' : ''}`}
                data-testid="ws-message"
                data-direction={m.direction}
                aria-pressed={selected === i}
                onClick={() => setSelected(i)}
              >
                <span
                  className={`ws-dir ws-${m.direction}`}
                  title={m.direction === 'send' ? 'client → server' : 'server → client'}
                >
                  {m.direction === 'send' ? '↑' : '↓'}
                </span>
                <span className="ws-time">{formatClock(m.time)}</span>
                <span className="ws-type">{opcodeName(m.opcode)}</span>
                <span className="ws-size">{formatBytes(m.size)}</span>
                {mark && (
                  <span className="ws-cut muted" title={wsCutSentence(m, ws.keptCap)}>
                    {mark}
                  </span>
                )}
                <span className="ws-preview">{mark === 'not kept' ? '' : wsPreview(m)}</span>
              </button>
            );
          }}
        />
      )}
      {message && <Payload message={message} keptCap={ws.keptCap} />}
    </div>
  );
}
