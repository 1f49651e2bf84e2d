/**
 * The status bar: shown / total flows, errors, bodies cut at the capture cap, memory held by
 * captured bodies, the recording
 * state, the proxy address (click copies) and the CA. Whether the CA is trusted is not checked
 * yet, and the bar says so rather than guessing.
 */
import { formatBytes } from '../../../src-common/flow-view';
import { copyText } from '../../components/copy';
import { useStore } from '../../store/store';
import { proxyAddress, shortFingerprint } from './address';

export function StatusBar() {
  const shown = useStore((s) => s.visibleIds.length);
  const total = useStore((s) => s.ids.length);
  const errors = useStore((s) => s.errorCount);
  const truncated = useStore((s) => s.truncatedCount);
  const stats = useStore((s) => s.stats);
  const proxy = useStore((s) => s.proxy);
  const system = useStore((s) => s.system);

  const copyAddress = async (address: string): Promise<void> => {
    const ok = await copyText(address);
    useStore
      .getState()
      .toast(ok ? 'info' : 'warning', ok ? `Copied ${address}` : 'The clipboard refused the copy');
  };

  return (
    <footer className="status-bar" data-testid="status-bar">
      <span data-testid="flow-count" title="Flows shown / flows in the session">
        {shown} / {total} flows
      </span>
      <span
        className={errors > 0 ? 'status-errors' : 'muted'}
        title="Failed exchanges and handshakes"
      >
        {errors} {errors === 1 ? 'error' : 'errors'}
      </span>
      {truncated > 0 && (
        <span
          data-testid="truncated-count"
          title="Flows with a body longer than the capture cap (captureBodyCap in settings.json): only its start was kept; the traffic itself was not cut"
        >
          {truncated} truncated {truncated === 1 ? 'body' : 'bodies'}
        </span>
      )}
      {stats && (
        <span
          className="muted"
          title="Captured bodies: held in memory, and spilled to disk beyond the memory budget"
        >
          Bodies {formatBytes(stats.bodyMemoryBytes)} in memory
          {stats.bodyDiskBytes > 0 ? `, ${formatBytes(stats.bodyDiskBytes)} on disk` : ''}
        </span>
      )}
      <span className="spacer" />
      {proxy && (
        <span className={proxy.recording ? 'status-recording' : 'status-stopped'}>
          {proxy.recording ? '● Recording' : '■ Stopped — not capturing'}
        </span>
      )}
      {proxy && (
        <button
          type="button"
          className="link"
          data-testid="proxy-address"
          title="The proxy's address — click to copy"
          onClick={() => void copyAddress(proxyAddress(proxy))}
        >
          {proxyAddress(proxy)}
        </button>
      )}
      {system && (
        <span
          className="muted"
          title={`CA certificate: ${system.ca.certPath}\nSHA-256 ${system.ca.fingerprint256}`}
        >
          CA {shortFingerprint(system.ca.fingerprint256)} · trust not checked
        </span>
      )}
    </footer>
  );
}
