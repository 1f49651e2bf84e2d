/**
 * How each session-table column looks: its header label, alignment and cell content. The ids,
 * widths and sort values are data in store/columns.ts; this is only presentation.
 */
import type { ReactNode } from 'react';
import type { FlowSummary } from '../../../src-common/api/contract';
import {
  flowAuthority,
  flowContentType,
  flowDuration,
  flowLook,
  flowMethod,
  flowPath,
  flowProtocol,
  flowRequestSize,
  flowResponseSize,
  flowStatus,
  formatBytes,
  formatClock,
  formatDuration,
} from '../../../src-common/flow-view';
import type { ColumnId } from '../../store/columns';

export interface ColumnView {
  label: string;
  /** Spelled out for the column menu and screen readers when the label is a symbol. */
  title: string;
  /** Numbers align right in monospace, so digits line up. */
  numeric: boolean;
  cell(f: FlowSummary): ReactNode;
}

const Pending = () => (
  <span className="pending-dash" aria-label="in flight" title="In flight">
    –
  </span>
);

function statusCell(f: FlowSummary): ReactNode {
  const status = flowStatus(f);
  if (status !== undefined) return status;
  const look = flowLook(f);
  if (look === 'pending')
    // A static mark, not a spinner: under a flood every batch would start dozens of animations.
    return (
      <span className="pending-dash" aria-label="in flight" title="In flight">
        …
      </span>
    );
  if (look === 'failed-handshake') return 'TLS ✕';
  if (look === 'error') return 'ERR';
  return '';
}

/** A tunnel has no path: its row says why it was not decrypted, or what failed, instead. */
function pathCell(f: FlowSummary): ReactNode {
  if (f.kind === 'tunnel') {
    return <span className="muted">{f.error?.message ?? f.reason ?? ''}</span>;
  }
  return flowPath(f);
}

export const COLUMN_VIEWS: Record<ColumnId, ColumnView> = {
  seq: { label: '#', title: 'Number (arrival order)', numeric: true, cell: (f) => f.seq },
  status: { label: 'Status', title: 'Status', numeric: true, cell: statusCell },
  method: { label: 'Method', title: 'Method', numeric: false, cell: flowMethod },
  host: { label: 'Host', title: 'Host', numeric: false, cell: flowAuthority },
  path: { label: 'Path', title: 'Path and query', numeric: false, cell: pathCell },
  type: {
    label: 'Content type',
    title: 'Content type (response)',
    numeric: false,
    cell: (f) => flowContentType(f) ?? '',
  },
  reqSize: {
    label: 'Req size',
    title: 'Request size',
    numeric: true,
    cell: (f) => formatBytes(flowRequestSize(f)),
  },
  resSize: {
    label: 'Res size',
    title: 'Response size',
    numeric: true,
    cell: (f) => (f.state === 'pending' ? <Pending /> : formatBytes(flowResponseSize(f))),
  },
  duration: {
    label: 'Duration',
    title: 'Duration',
    numeric: true,
    cell: (f) => {
      const ms = flowDuration(f);
      return ms === undefined ? <Pending /> : formatDuration(ms);
    },
  },
  time: {
    label: 'Start',
    title: 'Start time',
    numeric: true,
    cell: (f) => formatClock(f.startedAt),
  },
  protocol: { label: 'Protocol', title: 'Protocol / TLS', numeric: false, cell: flowProtocol },
};
