/**
 * The inspector's formatter thread (bundled by scripts/build.js as out/renderer/format-worker.js):
 * decoding and JSON layout of large bodies happen here, so the page never stalls on them.
 */
import {
  formatNow,
  toCodeUnits,
  type FormatJob,
  type FormatResult,
  type PieceMessage,
} from './format-jobs';

interface WorkerScope {
  onmessage: ((e: MessageEvent<FormatJob | PieceMessage>) => void) | null;
  postMessage(message: unknown, transfer: Transferable[]): void;
}

const scope = self as unknown as WorkerScope;

/** Pieces of each job's bytes received so far (see format-client.ts). */
const pieces = new Map<number, Uint8Array[]>();

/** The job with its bytes whole again. */
function assemble(job: FormatJob): FormatJob {
  const before = pieces.get(job.id);
  if (!before) return job;
  pieces.delete(job.id);
  const all = [...before, job.bytes];
  const bytes = new Uint8Array(all.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of all) {
    bytes.set(p, at);
    at += p.length;
  }
  return { ...job, bytes };
}

scope.onmessage = (e) => {
  if ('piece' in e.data) {
    const list = pieces.get(e.data.id) ?? [];
    list.push(e.data.piece);
    pieces.set(e.data.id, list);
    return;
  }
  const job = assemble(e.data);
  let reply: { id: number; result?: FormatResult; error?: string };
  try {
    reply = { id: job.id, result: formatNow(job) };
  } catch (err) {
    reply = { id: job.id, error: (err as Error)?.message ?? String(err) };
  }
  const r = reply.result;
  const transfer: Transferable[] = [];
  if (r) {
    // Code units, not a string: the page then takes the text over instead of copying it.
    if (typeof r.text === 'string') r.text = toCodeUnits(r.text);
    transfer.push(r.text.buffer, r.bounds.buffer);
    if (r.kind === 'json') transfer.push(r.end.buffer, r.count.buffer);
  }
  scope.postMessage(reply, transfer);
};
