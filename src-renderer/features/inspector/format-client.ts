/**
 * Hands formatting jobs to the worker (`format-worker.js`, next to index.html). Where a worker
 * cannot start (Chromium refuses one from a `file://` page unless the app allows it), the same
 * steps run on the page in slices of a few milliseconds with the event loop free in between, so
 * the UI is never held by one long task either way.
 */
import { formatSteps, type FormatJob, type FormatResult, type PieceMessage } from './format-jobs';

type Pending = { job: FormatJob; resolve(r: FormatResult): void; reject(e: Error): void };

let worker: Worker | null | undefined;
let nextId = 1;
const pending = new Map<number, Pending>();

/** Slice length on the page: well under a frame. */
const SLICE_MS = 8;

const nextTurn = (): Promise<void> =>
  new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => resolve();
    channel.port2.postMessage(null);
  });

async function formatInSlices(job: FormatJob): Promise<FormatResult> {
  // Without a worker the JSON parser's single call is skipped: the layout checks the brackets.
  const steps = formatSteps(job, false);
  let started = performance.now();
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    if (performance.now() - started > SLICE_MS) {
      await nextTurn();
      started = performance.now();
    }
  }
}

function runOnPage(p: Pending): void {
  formatInSlices(p.job).then(p.resolve, p.reject);
}

function getWorker(): Worker | null {
  if (worker !== undefined) return worker;
  try {
    const w = new Worker('format-worker.js');
    w.onmessage = (e: MessageEvent<{ id: number; result?: FormatResult; error?: string }>) => {
      const p = pending.get(e.data.id);
      if (!p) return;
      pending.delete(e.data.id);
      if (e.data.result) p.resolve(e.data.result);
      else p.reject(new Error(e.data.error ?? 'the formatter failed'));
    };
    // A worker whose script cannot load reports it here, after construction: jobs move to the page.
    w.onerror = (e) => {
      e.preventDefault();
      worker = null;
      w.terminate();
      const waiting = [...pending.values()];
      pending.clear();
      waiting.forEach(runOnPage);
    };
    worker = w;
  } catch {
    worker = null;
  }
  return worker;
}

/** True once formatting is known to run on the page (for the e2e and the curious). */
export function formatterOnPage(): boolean {
  return worker === null;
}

/**
 * Bytes per message to the worker. The copy handed over is fresh memory, and this machine's
 * Chromium takes ~3 ms to fill each MiB of it: 8 MiB at once held the page for ~25 ms.
 */
const PIECE = 1024 * 1024;

/** Hands the job's bytes to the worker a piece per turn of the event loop, then the job. */
async function post(w: Worker, job: FormatJob): Promise<void> {
  const { bytes } = job;
  for (let at = 0; at + PIECE < bytes.length; at += PIECE) {
    const piece = bytes.slice(at, at + PIECE);
    const message: PieceMessage = { id: job.id, piece };
    w.postMessage(message, [piece.buffer]);
    await nextTurn();
  }
  const last = bytes.slice(Math.floor(Math.max(0, bytes.length - 1) / PIECE) * PIECE);
  w.postMessage({ ...job, bytes: last }, [last.buffer]);
}

/** Formats `bytes` off the main thread; the bytes are copied, the caller keeps its own. */
export function format(job: Omit<FormatJob, 'id'>): Promise<FormatResult> {
  const full: FormatJob = { ...job, id: nextId++ };
  return new Promise((resolve, reject) => {
    const p: Pending = { job: full, resolve, reject };
    const w = getWorker();
    if (!w) return runOnPage(p);
    pending.set(full.id, p);
    post(w, full).catch((err: Error) => {
      pending.delete(full.id);
      reject(err);
    });
  });
}
