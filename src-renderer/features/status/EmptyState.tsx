/**
 * What the table area says when it has no rows: how to send traffic through Loupe (the proxy
 * address, a curl line to copy, the CA for HTTPS), that capture is stopped and how to start it,
 * or that the filter hides every flow, with a way to clear it. Only what works now is promised.
 */
import { copyText } from '../../components/copy';
import { shortcutLabel } from '../../components/keys';
import { useStore } from '../../store/store';
import { curlLine, proxyAddress } from './address';

function Copyable({ text, label }: { text: string; label: string }) {
  const copy = async (): Promise<void> => {
    const ok = await copyText(text);
    useStore
      .getState()
      .toast(ok ? 'info' : 'warning', ok ? 'Copied' : 'The clipboard refused the copy');
  };
  return (
    <div className="copyable">
      <code>{text}</code>
      <button
        type="button"
        className="mini"
        aria-label={label}
        title={label}
        onClick={() => void copy()}
      >
        Copy
      </button>
    </div>
  );
}

function NoMatch({ total }: { total: number }) {
  const filterText = useStore((s) => s.filterText);
  const host = useStore((s) => s.host);
  const types = useStore((s) => s.types);
  const statuses = useStore((s) => s.statuses);
  const hiding = [
    filterText.trim() && `the filter “${filterText.trim()}”`,
    host !== undefined && `the host ${host}`,
    types.length > 0 && `the type toggles (${types.join(', ')})`,
    statuses.length > 0 && `the status toggles (${statuses.join(', ')})`,
  ].filter(Boolean);
  return (
    <div className="empty-state" data-testid="empty-state">
      <h2>No flows match</h2>
      <p>
        {total} {total === 1 ? 'flow is' : 'flows are'} hidden by{' '}
        {hiding.join(' and ') || 'the view'}.
      </p>
      <button type="button" className="primary" onClick={() => useStore.getState().clearView()}>
        Clear the filter
      </button>
    </div>
  );
}

export function EmptyState() {
  const total = useStore((s) => s.ids.length);
  const proxy = useStore((s) => s.proxy);
  const system = useStore((s) => s.system);
  if (total > 0) return <NoMatch total={total} />;
  if (!proxy) {
    return (
      <div className="empty-state" data-testid="empty-state">
        <p className="muted">Connecting to Loupe…</p>
      </div>
    );
  }
  const address = proxyAddress(proxy);
  return (
    <div className="empty-state" data-testid="empty-state">
      {proxy.recording ? (
        <h2>No traffic captured yet</h2>
      ) : (
        <>
          <h2>Capture is stopped</h2>
          <p>
            Traffic still flows through the proxy but is not recorded. Click <strong>Record</strong>{' '}
            ({shortcutLabel('R')}) to start capturing.
          </p>
        </>
      )}
      <p>
        Point any client at the proxy <strong className="mono">{address}</strong> — for example:
      </p>
      <Copyable text={curlLine(proxy, system)} label="Copy the curl command" />
      {system && (
        <p className="muted">
          Plain HTTP works at once. For HTTPS the client must trust the Loupe CA: its certificate is
          at <code>{system.ca.certPath}</code>, and a client already using the proxy can download it
          from <code>{system.ca.downloadUrl}</code>.
        </p>
      )}
    </div>
  );
}
