/**
 * The window: connection banner, toolbar, host sidebar beside the session table (or what to do
 * when it is empty), status bar; the Clear confirmation and the toasts on top.
 */
import { ConfirmDialog } from '../components/ConfirmDialog';
import { Toasts } from '../components/Toasts';
import { HarDialogs, SessionTabs } from '../features/har';
import { HostSidebar } from '../features/hosts';
import { Inspector } from '../features/inspector';
import { Preferences } from '../features/preferences';
import { SessionTable } from '../features/sessions';
import { EmptyState, StatusBar } from '../features/status';
import { useStore } from '../store/store';
import { clearSession } from './commands';
import { ConnectionBanner } from './ConnectionBanner';
import { useShortcuts } from './shortcuts';
import { Toolbar } from './Toolbar';

function ClearDialog() {
  const open = useStore((s) => s.confirmingClear);
  const total = useStore((s) => s.ids.length);
  return (
    <ConfirmDialog
      open={open}
      title="Clear the session?"
      confirmLabel="Clear"
      danger
      onConfirm={clearSession}
      onCancel={() => useStore.getState().setConfirmingClear(false)}
    >
      <p>
        {total} {total === 1 ? 'flow' : 'flows'} and their bodies will be forgotten. They cannot be
        saved first yet.
      </p>
    </ConfirmDialog>
  );
}

export function App() {
  useShortcuts();
  const sidebar = useStore((s) => s.sidebarVisible);
  const empty = useStore((s) => s.visibleIds.length === 0);
  const toasts = useStore((s) => s.toasts);
  return (
    <div className="app">
      <ConnectionBanner />
      <Toolbar />
      <div className="main">
        {sidebar && <HostSidebar />}
        <main className="center">
          <SessionTabs />
          <div className="table-area">
            <SessionTable />
            {empty && <EmptyState />}
          </div>
          <Inspector />
        </main>
      </div>
      <StatusBar />
      <ClearDialog />
      <Preferences />
      <HarDialogs />
      <Toasts toasts={toasts} onDismiss={useStore.getState().dismissToast} />
    </div>
  );
}
