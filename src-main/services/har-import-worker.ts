/**
 * The worker thread behind `har.import` (see har-import.ts): reads a HAR file and runs the pure
 * importHar on it, away from main's event loop, which keeps forwarding traffic meanwhile.
 *
 * The flows go back in batches, each only when main asks for the next one: one structured
 * clone of 100,000 flows would be a long task on main's thread too, so main takes a batch,
 * lets its event loop run, and asks again. Body bytes are transferred, not copied.
 */
import { open } from 'node:fs/promises';
import { parentPort, workerData } from 'node:worker_threads';
import type { Flow } from '../../src-common/flow';
import { importHar } from '../../src-common/har/import';
import type { FromWorker, ToWorker, WorkerInput } from './har-import';

/**
 * Flows per message. Receiving a flow costs main about 12 µs (structured clone or JSON alike), so
 * a batch is some 6 ms of main's time; with the garbage collection it causes, the longest stall
 * seen with 500 was 30–55 ms, against 60–90 ms with 2,000.
 */
const BATCH = 500;
const CHUNK = 4 * 1024 * 1024;

const port = parentPort!;
const post = (message: FromWorker, transfer: ArrayBuffer[] = []): void =>
  port.postMessage(message, transfer);

async function readText(path: string): Promise<string> {
  const file = await open(path, 'r');
  try {
    const total = (await file.stat()).size;
    const buffer = Buffer.allocUnsafe(total);
    let done = 0;
    while (done < total) {
      const { bytesRead } = await file.read(buffer, done, Math.min(CHUNK, total - done), done);
      if (bytesRead === 0) break;
      done += bytesRead;
      post({ type: 'read', done, total });
    }
    // As readFile(path, 'utf8') does: a byte-order mark stays for importHar to note.
    return buffer.toString('utf8', 0, done);
  } finally {
    await file.close();
  }
}

async function run(input: WorkerInput): Promise<void> {
  let text: string;
  try {
    text = await readText(input.path);
  } catch (err) {
    post({ type: 'unreadable', message: (err as Error).message });
    return;
  }
  post({ type: 'parsing' });
  const result = importHar(text, { idPrefix: input.idPrefix });
  text = '';
  if (!result.ok) {
    post({ type: 'refused', error: result.error });
    return;
  }
  const { flows, bodies, creator, repairs, skipped } = result.value;
  // Each body goes with its flow's batch (body ids are `${flowId}:req`, `:res`).
  const batchOf = new Map<string, number>();
  flows.forEach((flow, i) => batchOf.set(flow.id, Math.floor(i / BATCH)));
  const count = Math.max(1, Math.ceil(flows.length / BATCH));
  const bodyBatches: [string, Uint8Array][][] = Array.from({ length: count }, () => []);
  for (const [id, data] of bodies) {
    const owner = batchOf.get(id.slice(0, id.lastIndexOf(':')));
    bodyBatches[owner ?? count - 1]!.push([id, data]);
  }
  bodies.clear();
  post({ type: 'head', total: flows.length, ...(creator ? { creator } : {}), repairs, skipped });
  let next = 0;
  const sendBatch = (): void => {
    const batch: Flow[] = flows.slice(next * BATCH, (next + 1) * BATCH);
    const entries = bodyBatches[next]!;
    const transfer: ArrayBuffer[] = [];
    const seen = new Set<ArrayBufferLike>();
    for (const [, data] of entries) {
      // Only a body that owns its whole buffer moves; a view into a shared one is copied.
      const whole = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength;
      if (whole && data.buffer instanceof ArrayBuffer && !seen.has(data.buffer)) {
        seen.add(data.buffer);
        transfer.push(data.buffer);
      }
    }
    next++;
    post({ type: 'batch', flows: batch, bodies: entries, last: next >= count }, transfer);
  };
  port.on('message', (message: ToWorker) => {
    if (message.type !== 'next') return;
    // After the last batch main ends this thread.
    if (next < count) sendBatch();
  });
}

void run(workerData as WorkerInput);
