/**
 * The HAR dialogs the store asks for (`harDialog`): Export (all, filtered or selected flows of
 * the shown session) and Open (a file chosen, dropped on the window, or main's open dialog in
 * the desktop app); and the progress of exports, in the dialog or, once it is closed, in a
 * corner until dismissed. A finished export downloads by itself in the browser.
 */
import { useCallback, useEffect, useRef, useState, type ReactNode } from 'react';
import type { Job } from '../../../src-common/api/contract';
import { useStore } from '../../store/store';
import { downloadHref, importHar, isDesktop, ownJobs, startDownload, startExport } from './actions';

const plural = (n: number, word: string): string =>
  `${n.toLocaleString('en-US')} ${word}${n === 1 ? '' : 's'}`;

/** A native modal `<dialog>` that is open while mounted; Esc closes it. */
function Modal(props: { testId: string; title: string; onClose(): void; children: ReactNode }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
  }, []);
  return (
    <dialog
      ref={ref}
      className="dialog har-dialog"
      data-testid={props.testId}
      aria-labelledby={`${props.testId}-title`}
      onCancel={(e) => {
        e.preventDefault();
        props.onClose();
      }}
    >
      <h2 id={`${props.testId}-title`}>{props.title}</h2>
      {props.children}
    </dialog>
  );
}

function JobLine({ job }: { job: Job }) {
  const percent = job.total > 0 ? Math.floor((job.done / job.total) * 100) : 100;
  const shown = job.state === 'running' ? percent : 100;
  return (
    <div className={`job job-${job.state}`} data-testid="job-progress" data-state={job.state}>
      <div className="job-text">
        <span className="job-title">{job.title}</span>
        <span className="job-percent">
          {job.state === 'running' ? `${percent}%` : job.state === 'done' ? 'Done' : 'Failed'}
        </span>
        <button
          type="button"
          className="job-dismiss"
          aria-label="Dismiss"
          title="Dismiss"
          onClick={() => useStore.getState().dismissJob(job.id)}
        >
          ✕
        </button>
      </div>
      <progress max={100} value={shown} aria-label={job.title} />
      {job.message && (
        <div className="job-message" role={job.state === 'failed' ? 'alert' : undefined}>
          {job.message}
        </div>
      )}
      {job.state === 'done' && job.downloadUrl && (
        <a href={downloadHref(job)} download="" data-testid="download-link">
          Download again
        </a>
      )}
    </div>
  );
}

function Jobs() {
  const jobs = useStore((s) => s.jobs);
  const list = Object.values(jobs);
  // A finished export of this window's downloads at once, as a browser's save does.
  useEffect(() => {
    for (const job of Object.values(jobs)) {
      if (job.state !== 'done' || !job.downloadUrl || !ownJobs.has(job.id)) continue;
      ownJobs.delete(job.id);
      startDownload(job);
    }
  }, [jobs]);
  // A finished import shows itself as its tab: its progress line goes after a moment.
  useEffect(() => {
    const done = Object.values(jobs).filter((j) => j.kind === 'import' && j.state === 'done');
    if (done.length === 0) return;
    const timer = setTimeout(() => {
      for (const job of done) useStore.getState().dismissJob(job.id);
    }, 2500);
    return () => clearTimeout(timer);
  }, [jobs]);
  if (list.length === 0) return null;
  return (
    <div className="jobs" aria-live="polite">
      {list.map((job) => (
        <JobLine key={job.id} job={job} />
      ))}
    </div>
  );
}

function ExportDialog({ onClose }: { onClose(): void }) {
  const all = useStore((s) => s.ids.length);
  const filtered = useStore((s) => s.visibleIds.length);
  const selected = useStore((s) => s.selection.ids.size);
  const session = useStore(
    (s) => s.sessions.find((x) => x.id === s.activeSessionId)?.name ?? 'Live',
  );
  const [busy, setBusy] = useState(false);
  const run = (scope: 'all' | 'filtered' | 'selected') => {
    setBusy(true);
    void startExport(scope).finally(() => setBusy(false));
  };
  return (
    <Modal testId="export-dialog" title={`Export HAR — ${session}`} onClose={onClose}>
      <p className="dialog-body">
        Written by Loupe as HAR 1.2, bodies included
        {isDesktop() ? '' : '; your browser downloads it'}.
      </p>
      <div className="export-choices">
        <button
          type="button"
          data-testid="export-all"
          className="primary"
          disabled={busy || all === 0}
          onClick={() => run('all')}
        >
          All ({plural(all, 'flow')})
        </button>
        <button
          type="button"
          data-testid="export-filtered"
          disabled={busy || filtered === 0}
          title="The flows the filter, toggles and host now show"
          onClick={() => run('filtered')}
        >
          Shown ({filtered.toLocaleString('en-US')})
        </button>
        <button
          type="button"
          data-testid="export-selected"
          disabled={busy || selected === 0}
          title={selected === 0 ? 'Select rows in the table first' : 'The selected rows'}
          onClick={() => run('selected')}
        >
          Selected ({selected.toLocaleString('en-US')})
        </button>
      </div>
      <Jobs />
      <div className="dialog-buttons">
        <button type="button" onClick={onClose}>
          Close
        </button>
      </div>
    </Modal>
  );
}

function ImportDialog({ onClose, dropped }: { onClose(): void; dropped?: File }) {
  const desktop = isDesktop();
  const input = useRef<HTMLInputElement>(null);
  const [error, setError] = useState<string>();
  const [progress, setProgress] = useState<string>();
  const open = async (file: File | undefined) => {
    setError(undefined);
    setProgress(file ? `Reading ${file.name}…` : 'Choosing…');
    const failed = await importHar(file, (f) =>
      setProgress(
        f >= 1
          ? `Opening ${file?.name ?? ''}…`
          : `Uploading ${file?.name ?? ''}: ${Math.floor(f * 100)}%`,
      ),
    );
    setProgress(undefined);
    if (failed) setError(failed);
    else onClose();
  };
  const handled = useRef<File>(undefined);
  useEffect(() => {
    if (dropped && handled.current !== dropped) {
      handled.current = dropped;
      void open(dropped);
    }
  });
  return (
    <Modal testId="import-dialog" title="Open HAR" onClose={onClose}>
      <p className="dialog-body">
        A HAR file (from Chrome, Firefox, Safari, Charles, Insomnia or Loupe) opens as a session of
        its own beside the live one.{desktop ? '' : ' You can also drop it on the window.'}
      </p>
      {!desktop && (
        <input
          ref={input}
          type="file"
          accept=".har,.json,application/json"
          className="har-file-input"
          data-testid="import-file-input"
          tabIndex={-1}
          onChange={(e) => {
            const file = e.target.files?.[0];
            e.target.value = '';
            if (file) void open(file);
          }}
        />
      )}
      {progress && (
        <p className="import-progress" role="status">
          {progress}
        </p>
      )}
      {error && (
        <p className="import-error" data-testid="import-error" role="alert">
          {error}
        </p>
      )}
      <div className="dialog-buttons">
        <button type="button" onClick={onClose}>
          Cancel
        </button>
        <button
          type="button"
          className="primary"
          disabled={progress !== undefined}
          autoFocus
          onClick={() => (desktop ? void open(undefined) : input.current?.click())}
        >
          Choose file…
        </button>
      </div>
    </Modal>
  );
}

/** A .har dropped anywhere on the window opens it (browser only; the desktop app has Open…). */
function useDropToOpen(onDrop: (file: File) => void): void {
  useEffect(() => {
    if (isDesktop()) return;
    const hasFiles = (e: DragEvent) => e.dataTransfer?.types.includes('Files') ?? false;
    const over = (e: DragEvent) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      e.dataTransfer!.dropEffect = 'copy';
    };
    const drop = (e: DragEvent) => {
      const file = e.dataTransfer?.files[0];
      if (!file) return;
      e.preventDefault();
      onDrop(file);
    };
    window.addEventListener('dragover', over);
    window.addEventListener('drop', drop);
    return () => {
      window.removeEventListener('dragover', over);
      window.removeEventListener('drop', drop);
    };
  }, [onDrop]);
}

export function HarDialogs() {
  const dialog = useStore((s) => s.harDialog);
  const [dropped, setDropped] = useState<File>();
  const close = () => {
    setDropped(undefined);
    useStore.getState().setHarDialog(undefined);
  };
  const onDrop = useCallback((file: File) => {
    setDropped(file);
    useStore.getState().setHarDialog('import');
  }, []);
  useDropToOpen(onDrop);
  if (dialog === 'export') return <ExportDialog onClose={close} />;
  if (dialog === 'import') return <ImportDialog onClose={close} dropped={dropped} />;
  return (
    <div className="jobs-corner">
      <Jobs />
    </div>
  );
}
