/** Says, above everything, that the UI lost its connection to Loupe (and is retrying), or why it cannot connect. */
import { useStore } from '../store/store';

export function ConnectionBanner() {
  const connection = useStore((s) => s.connection);
  // The first attempt is start-up, not a loss: say nothing until it fails.
  if (
    connection.status === 'open' ||
    (connection.status === 'connecting' && connection.attempt === 0)
  ) {
    return null;
  }
  return (
    <div className="connection-banner" data-testid="connection-banner" role="alert">
      {connection.status === 'refused'
        ? connection.message
        : 'Lost the connection to Loupe — retrying… The table shows what was captured before; it reloads once the connection is back.'}
    </div>
  );
}
