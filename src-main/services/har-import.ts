/**
 * Reads a HAR file into flows without stalling main: the file's read, its JSON parse and
 * importHar run in a worker thread (har-import-worker.ts), since a 90 MB file is seconds of
 * synchronous work and the proxy forwards nothing while main's event loop is busy.
 *
 * If the worker cannot start or dies, the same work runs inline: slower for everyone, but the
 * file still opens. A worker out of memory is the exception: inline, the same file would take
 * the whole process down, so the import fails instead.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker, type ResourceLimits } from 'node:worker_threads';
import type { Flow } from '../../src-common/flow';
import { importHar, type HarImportResult } from '../../src-common/har/import';

export interface WorkerInput {
  path: string;
  idPrefix: string;
}

export type ToWorker = { type: 'next' };

export type FromWorker =
  | { type: 'read'; done: number; total: number }
  | { type: 'parsing' }
  | { type: 'unreadable'; message: string }
  | { type: 'refused'; error: string }
  | { type: 'head'; total: number; creator?: string; repairs: string[]; skipped: number }
  | { type: 'batch'; flows: Flow[]; bodies: [string, Uint8Array][]; last: boolean };

/** Where an import is; `converted` counts the flows main has received. */
export type ImportProgress =
  | { phase: 'reading'; done: number; total: number }
  | { phase: 'parsing' }
  | { phase: 'converting'; done: number; total: number };

/** The file could not be read (the reason, in words). importHar's refusals are results. */
export class UnreadableFile extends Error {}

export interface ImportOptions {
  onProgress?(progress: ImportProgress): void;
  /**
   * The worker's script; by default the one beside this module (source or built). `null` runs
   * inline, as when no worker can start.
   */
  worker?: URL | null;
  /** Tests only: the worker's memory limits. */
  resourceLimits?: ResourceLimits;
}

/**
 * The worker script beside the running module: the TypeScript source in development and tests
 * (run through tsx), `har-import-worker.js` beside the bundled CLI, `.cjs` beside Electron's.
 */
export function workerScript(from: string = import.meta.url): URL | undefined {
  const dir = dirname(fileURLToPath(from));
  for (const name of ['har-import-worker.ts', 'har-import-worker.js', 'har-import-worker.cjs']) {
    const path = join(dir, name);
    if (existsSync(path)) return pathToFileURL(path);
  }
  return undefined;
}

/**
 * A worker on a .ts file (tests run the sources; the built CLI and Electron start the bundled
 * worker, with no loader) starts from a small script that registers tsx, a devDependency, first
 * (`--import tsx` in execArgv does not reach a worker's entry on Node 20). tsx is resolved from
 * here, not from the working directory.
 */
function tsxBoot(script: URL): { code: string; data: { tsx: string; script: string } } {
  const pkg = createRequire(import.meta.url).resolve('tsx/package.json');
  const tsx = pathToFileURL(join(dirname(pkg), 'dist/esm/api/index.mjs')).href;
  const code = `const { workerData } = require('node:worker_threads');
import(workerData.boot.tsx).then((m) => { m.register(); return import(workerData.boot.script); });`;
  return { code, data: { tsx, script: script.href } };
}

async function inline(path: string, idPrefix: string): Promise<HarImportResult> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new UnreadableFile((err as Error).message);
  }
  return importHar(text, { idPrefix });
}

/** A worker that could not start or died: the caller falls back to inline. */
class WorkerLost extends Error {}

function inWorker(
  script: URL,
  path: string,
  idPrefix: string,
  onProgress: (progress: ImportProgress) => void,
  resourceLimits?: ResourceLimits,
): Promise<HarImportResult> {
  return new Promise((resolve, reject) => {
    let worker: Worker;
    try {
      const input: WorkerInput = { path, idPrefix };
      if (script.pathname.endsWith('.ts')) {
        const boot = tsxBoot(script);
        worker = new Worker(boot.code, {
          eval: true,
          workerData: { ...input, boot: boot.data },
          ...(resourceLimits ? { resourceLimits } : {}),
        });
      } else {
        worker = new Worker(script, {
          workerData: input,
          ...(resourceLimits ? { resourceLimits } : {}),
        });
      }
    } catch (err) {
      reject(new WorkerLost((err as Error).message));
      return;
    }
    let settled = false;
    const finish = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      void worker.terminate();
      fn();
    };
    let head: Extract<FromWorker, { type: 'head' }> | undefined;
    const flows: Flow[] = [];
    const bodies = new Map<string, Uint8Array>();
    worker.on('message', (message: FromWorker) => {
      switch (message.type) {
        case 'read':
          onProgress({ phase: 'reading', done: message.done, total: message.total });
          return;
        case 'parsing':
          onProgress({ phase: 'parsing' });
          return;
        case 'unreadable':
          finish(() => reject(new UnreadableFile(message.message)));
          return;
        case 'refused':
          finish(() => resolve({ ok: false, error: message.error }));
          return;
        case 'head':
          head = message;
          onProgress({ phase: 'converting', done: 0, total: head.total });
          worker.postMessage({ type: 'next' } satisfies ToWorker);
          return;
        case 'batch': {
          for (const flow of message.flows) flows.push(flow);
          for (const [id, data] of message.bodies) bodies.set(id, data);
          onProgress({ phase: 'converting', done: flows.length, total: head!.total });
          if (message.last) {
            const { creator, repairs, skipped } = head!;
            const value = { flows, bodies, ...(creator ? { creator } : {}), repairs, skipped };
            finish(() => resolve({ ok: true, value }));
            return;
          }
          // The next batch only after other work queued on main has had its turn.
          setImmediate(() => {
            if (!settled) worker.postMessage({ type: 'next' } satisfies ToWorker);
          });
          return;
        }
      }
    });
    worker.on('error', (err: Error & { code?: string }) =>
      finish(() =>
        reject(
          // Inline, the same file would take all of main's memory down with it.
          err.code === 'ERR_WORKER_OUT_OF_MEMORY'
            ? new UnreadableFile('there is not enough memory to open it')
            : new WorkerLost(err.message),
        ),
      ),
    );
    worker.on('exit', (code) =>
      finish(() => reject(new WorkerLost(`the import worker stopped (exit code ${code})`))),
    );
  });
}

/**
 * Reads the HAR at `path` as importHar does (`idPrefix` for flow ids). Throws UnreadableFile
 * when the file cannot be read; a file that is not a HAR is an `ok: false` result.
 */
export async function importHarFile(
  path: string,
  idPrefix: string,
  options: ImportOptions = {},
): Promise<HarImportResult> {
  const onProgress = options.onProgress ?? (() => undefined);
  const script = options.worker === undefined ? workerScript() : options.worker;
  if (script) {
    try {
      return await inWorker(script, path, idPrefix, onProgress, options.resourceLimits);
    } catch (err) {
      if (!(err instanceof WorkerLost)) throw err;
    }
  }
  onProgress({ phase: 'parsing' });
  return inline(path, idPrefix);
}
