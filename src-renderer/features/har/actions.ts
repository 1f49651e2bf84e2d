/**
 * What the HAR feature asks of main: switching the table between sessions, closing one,
 * exporting and importing. Each failure ends as words the user sees; nothing here throws.
 */
import type { HarExportRequest, Job, SessionInfo } from '../../../src-common/api/contract';
import { getBridge, inDesktopApp } from '../../api/bridge';
import { useStore } from '../../store/store';

const errorText = (err: unknown): string => (err as { message?: string })?.message ?? String(err);

/** The page's token, which the upload and download routes need as the API does. */
export const pageToken = (): string => new URLSearchParams(location.search).get('token') ?? '';

/** True in the desktop app: dialogs are main's, there is no upload or download. */
export const isDesktop = (): boolean =>
  useStore.getState().system?.mode === 'electron' || inDesktopApp();

let switching = 0;

/** Shows a session on the table; the last click wins when several are in flight. */
export async function showSession(id: string): Promise<void> {
  const store = useStore.getState;
  const mine = ++switching;
  if (id === 'live') return store().showLive();
  try {
    const flows = await getBridge().sessions.flows(id);
    if (mine === switching) store().showSession(id, flows);
  } catch (err) {
    store().toast('error', `Could not show that session: ${errorText(err)}`);
  }
}

/** Re-reads the session list (after a reconnect, when events may have been missed). */
export async function refreshSessions(): Promise<void> {
  try {
    useStore.getState().setSessions(await getBridge().sessions.list());
  } catch {
    // The next `sessions` event brings the list; nothing the user can do about this one.
  }
}

export async function closeSession(info: SessionInfo): Promise<void> {
  try {
    await getBridge().sessions.close(info.id);
  } catch (err) {
    useStore.getState().toast('error', `Could not close ${info.name}: ${errorText(err)}`);
  }
}

/** Jobs this window started: only their downloads start by themselves. */
export const ownJobs = new Set<string>();

/** Starts an export of the shown session; resolves to its job, or null when cancelled. */
export async function startExport(scope: HarExportRequest['scope']): Promise<Job | null> {
  const s = useStore.getState();
  const ids =
    scope === 'all'
      ? undefined
      : scope === 'filtered'
        ? [...s.visibleIds]
        : s.visibleIds.filter((id) => s.selection.ids.has(id));
  try {
    const job = await getBridge().har.export({
      sessionId: s.activeSessionId,
      scope,
      ...(ids ? { ids } : {}),
    });
    if (job) {
      ownJobs.add(job.id);
      // The running state may arrive by event after the end did: keep the furthest one.
      if (!useStore.getState().jobs[job.id]) useStore.getState().applyJobs([job]);
    }
    return job;
  } catch (err) {
    s.toast('error', `Could not export: ${errorText(err)}`);
    return null;
  }
}

/** The URL a finished headless export downloads from (the token travels in the query). */
export const downloadHref = (job: Job): string =>
  `${job.downloadUrl}?token=${encodeURIComponent(pageToken())}`;

/** Starts a browser download of a finished export, as a click on its link would. */
export function startDownload(job: Job): void {
  const a = document.createElement('a');
  a.href = downloadHref(job);
  a.download = '';
  a.rel = 'noopener';
  document.body.append(a);
  a.click();
  a.remove();
}

/** POSTs a file to the UI server; resolves to its upload id. */
function upload(file: File, onProgress: (fraction: number) => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `/upload?token=${encodeURIComponent(pageToken())}`);
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded / e.total);
    xhr.onerror = () => reject(new Error('the upload to Loupe failed (is it still running?)'));
    xhr.onload = () => {
      let reply: { uploadId?: string; error?: string } = {};
      try {
        reply = JSON.parse(xhr.responseText) as typeof reply;
      } catch {
        // Answered in words below.
      }
      if (xhr.status === 200 && reply.uploadId) resolve(reply.uploadId);
      else reject(new Error(reply.error ?? `Loupe refused the upload (HTTP ${xhr.status})`));
    };
    xhr.send(file);
  });
}

function opened(info: SessionInfo): void {
  const s = useStore.getState();
  const repairs = info.repairs?.length ?? 0;
  const parts = [`${info.flowCount} ${info.flowCount === 1 ? 'flow' : 'flows'}`];
  if (repairs) parts.push(`${repairs} ${repairs === 1 ? 'thing' : 'things'} repaired`);
  if (info.skipped) parts.push(`${info.skipped} skipped`);
  s.toast(repairs || info.skipped ? 'warning' : 'info', `Opened ${info.name}: ${parts.join(', ')}`);
  void showSession(info.id);
}

/**
 * Opens a HAR: in the browser the given file is uploaded first; in the desktop app main shows
 * its open dialog. Resolves to an error in words, or undefined when it opened (or was cancelled).
 */
export async function importHar(
  file: File | undefined,
  onProgress: (fraction: number) => void = () => {},
): Promise<string | undefined> {
  try {
    let info: SessionInfo | null;
    if (file) {
      const uploadId = await upload(file, onProgress);
      onProgress(1);
      const name = file.name.slice(0, 255) || 'upload.har';
      info = await getBridge().har.import({ kind: 'upload', uploadId, name });
    } else {
      info = await getBridge().har.import({ kind: 'dialog' });
    }
    if (info) opened(info);
    return undefined;
  } catch (err) {
    return errorText(err);
  }
}
