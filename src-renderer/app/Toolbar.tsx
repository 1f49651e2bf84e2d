/**
 * The toolbar: Record/Stop (colour and words, never colour alone), Clear, the filter field with
 * its errors in words, the quick toggles, the column chooser and the sidebar toggle. Tooltips
 * name the shortcuts.
 */
import type { FlowCategory } from '../../src-common/flow-view';
import { shortcutLabel } from '../components/keys';
import { ColumnMenu } from '../features/sessions';
import { useStore } from '../store/store';
import type { StatusClass } from '../store/visible';
import { FILTER_INPUT_ID, requestClear, toggleRecording, toggleSidebar } from './commands';

const TYPE_TOGGLES: [FlowCategory, string][] = [
  ['json', 'JSON'],
  ['xml', 'XML'],
  ['form', 'Form'],
  ['js', 'JS'],
  ['css', 'CSS'],
  ['image', 'Image'],
  ['doc', 'Doc'],
  ['websocket', 'WS'],
];
const STATUS_TOGGLES: [StatusClass, string][] = [
  ['2xx', '2xx'],
  ['3xx', '3xx'],
  ['4xx', '4xx'],
  ['5xx', '5xx'],
  ['error', 'Errors'],
];

const FILTER_HELP =
  'Filter: text matches the URL; domain:api.* -domain:cdn.x.com method:POST status-code:4xx ' +
  'mime-type:json larger-than:1M is:error|pending|bypassed|failed. Terms combine; - negates.';

function RecordToggle() {
  const recording = useStore((s) => s.proxy?.recording);
  const known = recording !== undefined;
  return (
    <button
      type="button"
      className={`record ${recording ? 'record-on' : 'record-off'}`}
      data-testid="record-toggle"
      aria-pressed={recording ? 'true' : 'false'}
      disabled={!known}
      title={`${recording ? 'Stop recording' : 'Start recording'} (${shortcutLabel('R')}) — traffic flows through the proxy either way`}
      onClick={toggleRecording}
    >
      <span className="record-dot" aria-hidden="true" />
      {recording ? 'Recording' : 'Stopped — not capturing'}
    </button>
  );
}

function FilterField() {
  const text = useStore((s) => s.filterText);
  const errors = useStore((s) => s.filter.errors);
  const setText = useStore.getState().setFilterText;
  return (
    <div className="filter">
      <input
        id={FILTER_INPUT_ID}
        type="search"
        className={errors.length > 0 ? 'filter-input invalid' : 'filter-input'}
        data-testid="filter-input"
        placeholder={`Filter (${shortcutLabel('F')}): text, domain:, status-code:4xx, is:error…`}
        title={FILTER_HELP}
        aria-label="Filter flows"
        aria-invalid={errors.length > 0}
        aria-describedby={errors.length > 0 ? 'filter-errors' : undefined}
        spellCheck={false}
        autoComplete="off"
        value={text}
        onChange={(e) => setText(e.target.value)}
        onKeyDown={(e) => {
          if (e.key !== 'Escape') return;
          // Esc clears the field and leaves it, back to the table.
          e.preventDefault();
          setText('');
          document.querySelector<HTMLElement>('[data-testid="flow-table"]')?.focus();
        }}
      />
      {errors.length > 0 && (
        <div className="filter-error" id="filter-errors" data-testid="filter-error" role="alert">
          {errors.map((e) => `${e.term} — ${e.message}`).join('; ')} (left out of the filter)
        </div>
      )}
    </div>
  );
}

function QuickToggles() {
  const types = useStore((s) => s.types);
  const statuses = useStore((s) => s.statuses);
  const { toggleType, toggleStatus } = useStore.getState();
  return (
    <div className="toggles" role="group" aria-label="Quick filters">
      {TYPE_TOGGLES.map(([type, label]) => (
        <button
          key={type}
          type="button"
          className="chip"
          aria-pressed={types.includes(type)}
          title={`Show ${label} responses (combine with other types)`}
          onClick={() => toggleType(type)}
        >
          {label}
        </button>
      ))}
      <span className="toggle-gap" />
      {STATUS_TOGGLES.map(([status, label]) => (
        <button
          key={status}
          type="button"
          className={`chip${status === 'error' ? ' chip-error' : ''}`}
          aria-pressed={statuses.includes(status)}
          title={
            status === 'error' ? 'Show failed exchanges and handshakes' : `Show ${label} responses`
          }
          onClick={() => toggleStatus(status)}
        >
          {label}
        </button>
      ))}
    </div>
  );
}

export function Toolbar() {
  const total = useStore((s) => s.ids.length);
  const sidebar = useStore((s) => s.sidebarVisible);
  // Clear acts on the live session only; while an opened file is shown it waits.
  const live = useStore((s) => s.activeSessionId === 'live');
  const { setHarDialog } = useStore.getState();
  return (
    <header className="toolbar">
      <RecordToggle />
      <button
        type="button"
        className="tool"
        data-testid="clear-button"
        disabled={total === 0 || !live}
        title={
          live
            ? `Clear the session (${shortcutLabel('K')})`
            : 'Clear acts on the live session: show the Live tab first'
        }
        onClick={requestClear}
      >
        Clear
      </button>
      <FilterField />
      <QuickToggles />
      <span className="spacer" />
      <ColumnMenu />
      <button
        type="button"
        className="tool"
        aria-pressed={sidebar}
        title={`${sidebar ? 'Hide' : 'Show'} the host sidebar (${shortcutLabel('B')})`}
        onClick={toggleSidebar}
      >
        Hosts
      </button>
      {/* At the end, as UI.md has Export: a wrapped toolbar keeps Columns on the first line. */}
      <button
        type="button"
        className="tool"
        data-testid="import-button"
        title={`Open HAR (${shortcutLabel('O')})`}
        onClick={() => setHarDialog('import')}
      >
        Open…
      </button>
      <button
        type="button"
        className="tool"
        data-testid="export-button"
        title={`Export HAR (${shortcutLabel('S')})`}
        onClick={() => setHarDialog('export')}
      >
        Export…
      </button>
      <button
        type="button"
        className="tool"
        data-testid="preferences-button"
        aria-label="Preferences"
        title={`Preferences (${shortcutLabel(',')})`}
        onClick={() => useStore.getState().setPreferencesOpen(true)}
      >
        <span aria-hidden="true">⚙</span>
      </button>
    </header>
  );
}
