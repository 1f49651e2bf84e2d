/**
 * The inspector's formatter thread (bundled by scripts/build.js as out/renderer/format-worker.js):
 * decoding and JSON layout of large bodies happen here, so the page never stalls on them.
 */
import { formatNow, toCodeUnits, type FormatJob, type FormatResult } from './format-jobs';

interface WorkerScope {
  onmessage: ((e: MessageEvent<FormatJob>) => void) | null;
  postMessage(message: unknown, transfer: Transferable[]): void;
}

const scope = self as unknown as WorkerScope;

scope.onmessage = (e) => {
  const job = e.data;
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
