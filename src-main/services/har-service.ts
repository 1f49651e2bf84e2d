/**
 * Imported sessions and HAR files: `har.export` (streamed to disk by main, with progress jobs),
 * `har.import` (a HAR opened as a session of its own beside the live one) and the `sessions`
 * section. Also the files behind the headless UI server's `/upload` and `/download` routes.
 *
 * An imported session lives in memory: importHar has every body in memory already (decoded
 * from the file's text), and the file was at most MAX_IMPORT_BYTES.
 */
import { randomBytes } from 'node:crypto';
import { rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import {
  summarize,
  type ApiEvent,
  type HarExportRequest,
  type HarImportSource,
  type HarSection,
  type Job,
  type SessionInfo,
  type SessionsSection,
} from '../../src-common/api/contract';
import type { BodyInfo, Flow, HeaderPair } from '../../src-common/flow';
import { ensurePrivateFolder, sharedFolderWarning } from '../data/private-folder';
import { harWriteWords, writeHarFile } from '../flows/har-file';
import { ApiFailure } from './api-failure';
import {
  importHarFile,
  UnreadableFile,
  type ImportOptions,
  type ImportProgress,
} from './har-import';
import type { Session } from './session';

/** What the host process offers the HAR service (Electron's dialogs; headless downloads). */
export interface HarHost {
  /** Electron: asks where to save; undefined when the user cancels. */
  chooseSavePath?(defaultName: string): Promise<string | undefined>;
  /** Electron: asks which HAR to open; undefined when the user cancels. */
  chooseOpenPath?(): Promise<string | undefined>;
}

/** A body found in some session, for `flows.body` and `flows.bodyPart`. */
export interface FoundBody {
  info: BodyInfo;
  /** The headers of the message the body belongs to (for Content-Encoding). */
  headers: readonly HeaderPair[];
  /** The stored bytes are already decoded (an imported HAR's text): nothing to undo. */
  alreadyDecoded: boolean;
  read(): Promise<Buffer>;
}

/** The files behind the headless UI server's `/upload` and `/download/<jobId>` routes. */
export interface HarFiles {
  /** A fresh upload: its id (for `har.import`) and where its bytes go. */
  newUpload(): Promise<{ id: string; path: string }>;
  /** Forgets an upload that did not arrive whole (its file is removed). */
  dropUpload(id: string): Promise<void>;
  /** A finished headless export by job id: its file and the name to download it as. */
  download(jobId: string): { path: string; name: string } | undefined;
}

export interface HarService {
  sessions: SessionsSection;
  har: HarSection;
  files: HarFiles;
  /** A flow of an imported session, by id. */
  flow(id: string): Flow | undefined;
  /** A body of an imported session, by body id. */
  body(bodyId: string): FoundBody | undefined;
  /** Frees imported sessions and temporary files. */
  dispose(): Promise<void>;
}

/**
 * The largest HAR opened. A file becomes one JavaScript string before it is parsed, and V8's
 * strings stop at about 512 MiB, so a bigger cap could only fail later and less clearly.
 */
export const MAX_IMPORT_BYTES = 500 * 1024 * 1024;
/** Finished headless exports kept for download; older ones are removed. */
const KEEP_EXPORTS = 5;
/** Progress events per job at most every this many ms (the end is always sent). */
const PROGRESS_MS = 100;
/**
 * The import-job contract: an import that ends (opened or failed) within this many ms sends no
 * job event at all; one still running then shows as a job from that moment, and its last job
 * event is always its end, `done` or `failed` with the same words the call rejects with. Either
 * way a failed import opens no session.
 */
export const IMPORT_JOB_AFTER_MS = 500;

interface Imported {
  info: SessionInfo;
  flows: Flow[];
  byId: Map<string, Flow>;
  bodies: Map<string, Uint8Array>;
  /** Where each body belongs: its BodyInfo and the headers of its message. */
  owners: Map<string, { info: BodyInfo; headers: readonly HeaderPair[] }>;
}

const bytes = (n: number): string =>
  n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(0)} MB` : `${(n / 1024).toFixed(0)} KB`;

const plural = (n: number, word: string): string =>
  `${n.toLocaleString('en-US')} ${word}${n === 1 ? '' : 's'}`;

/** `loupe-2026-12-01-1405-all.har`, in local time. */
export function exportFileName(scope: HarExportRequest['scope'], now = new Date()): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  const day = `${now.getFullYear()}-${p(now.getMonth() + 1)}-${p(now.getDate())}`;
  return `loupe-${day}-${p(now.getHours())}${p(now.getMinutes())}-${scope}.har`;
}

/** Flows indexed between two turns of main's event loop (a few milliseconds' work). */
const INDEX_SLICE = 5_000;

/**
 * Flows by id and bodies by owner, a slice at a time: indexing 100,000 flows at once is a
 * tenth of a second or more in which the proxy forwards nothing.
 */
async function indexFlows(flows: readonly Flow[]): Promise<Pick<Imported, 'byId' | 'owners'>> {
  const byId = new Map<string, Flow>();
  const owners: Imported['owners'] = new Map();
  for (let i = 0; i < flows.length; i++) {
    if (i > 0 && i % INDEX_SLICE === 0) await new Promise((resolve) => setImmediate(resolve));
    const flow = flows[i]!;
    byId.set(flow.id, flow);
    if (flow.kind !== 'http') continue;
    for (const message of [flow.request, flow.response]) {
      const id = message?.body.bodyId;
      if (message && id) owners.set(id, { info: message.body, headers: message.headers });
    }
  }
  return { byId, owners };
}

export function createHarService(
  session: Session,
  emit: (event: ApiEvent) => void,
  host: HarHost,
  /**
   * Tests only: where the import runs (`worker: null` runs it inline), and when an import shows
   * as a job (IMPORT_JOB_AFTER_MS by default).
   */
  {
    importJobAfterMs = IMPORT_JOB_AFTER_MS,
    ...importOptions
  }: Pick<ImportOptions, 'worker'> & {
    importJobAfterMs?: number;
  } = {},
): HarService {
  const imported = new Map<string, Imported>();
  let importSeq = 0;
  let jobSeq = 0;
  const exportsDir = join(session.dataDir, 'exports');
  const uploadsDir = join(session.dataDir, 'uploads');
  /** Finished headless exports, oldest first. */
  const downloads = new Map<string, { path: string; name: string }>();
  const uploads = new Set<string>();
  /** Folders chosen in the save dialog that have been warned about, each once. */
  const warnedFolders = new Set<string>();
  let disposed = false;

  const startedAt = Date.now();
  const liveInfo = (): SessionInfo => ({
    id: 'live',
    kind: 'live',
    name: 'Live',
    flowCount: session.flows.size,
    openedAt: startedAt,
  });
  const list = (): SessionInfo[] => [liveInfo(), ...[...imported.values()].map((s) => s.info)];

  const sessionOf = (flowId: string): Imported | undefined => {
    const dot = flowId.indexOf('.');
    return dot > 0 ? imported.get(flowId.slice(0, dot)) : undefined;
  };

  /** The flows to export, in order, or a not_found naming what is missing. */
  const flowsFor = (request: HarExportRequest): Flow[] => {
    const { sessionId, ids } = request;
    const source = sessionId === 'live' ? undefined : imported.get(sessionId);
    if (sessionId !== 'live' && !source) {
      throw new ApiFailure('not_found', `session ${sessionId} is not open`);
    }
    if (!ids) return source ? [...source.flows] : session.flows.list();
    const get = (id: string): Flow | undefined =>
      source ? source.byId.get(id) : session.flows.get(id);
    const flows: Flow[] = [];
    const missing: string[] = [];
    for (const id of ids) {
      const flow = get(id);
      if (flow) flows.push(flow);
      else missing.push(id);
    }
    if (missing.length > 0) {
      throw new ApiFailure(
        'not_found',
        `${plural(missing.length, 'flow')} to export ${missing.length === 1 ? 'is' : 'are'} not in the session (${missing.slice(0, 3).join(', ')}${missing.length > 3 ? '…' : ''}); nothing was written`,
      );
    }
    return flows;
  };

  const readerFor = (sessionId: string): { read(bodyId: string): Promise<Buffer> } => {
    const source = imported.get(sessionId);
    if (!source) return session.bodies;
    return {
      read: async (bodyId) => {
        const data = source.bodies.get(bodyId);
        return data ? Buffer.from(data.buffer, data.byteOffset, data.byteLength) : Buffer.alloc(0);
      },
    };
  };

  /** Warns once per folder that a save-dialog folder is readable by others; never changes it. */
  const checkChosenFolder = async (path: string): Promise<void> => {
    const dir = dirname(path);
    if (warnedFolders.has(dir)) return;
    // A folder that cannot be read fails the export itself, in words.
    const mode = await stat(dir).then(
      (s) => s.mode,
      () => undefined,
    );
    const message = mode === undefined ? undefined : sharedFolderWarning(dir, mode);
    if (!message) return;
    warnedFolders.add(dir);
    emit({ notices: [{ level: 'warning', message, at: Date.now() }] });
  };

  /** Keeps the last KEEP_EXPORTS headless exports; removes the files of older ones. */
  const keepRecent = async (): Promise<void> => {
    while (downloads.size > KEEP_EXPORTS) {
      const [oldest, file] = downloads.entries().next().value!;
      downloads.delete(oldest);
      await rm(file.path, { force: true });
    }
  };

  const runExport = (
    job: Job,
    target: { path: string; name: string },
    flows: Flow[],
    sessionId: string,
  ): void => {
    const { path } = target;
    let last = 0;
    const send = (change: Partial<Job>): void => {
      Object.assign(job, change);
      emit({ jobs: [{ ...job }] });
    };
    writeHarFile(path, flows, readerFor(sessionId), {
      creatorVersion: session.options.version,
      onProgress: (done, total) => {
        job.done = done;
        job.total = total;
        const now = Date.now();
        if (now - last < PROGRESS_MS || done === total) return;
        last = now;
        send({});
      },
    }).then(
      async (result) => {
        if (job.downloadUrl) {
          downloads.set(job.id, target);
          // Removing old exports is best effort: it must not fail this one.
          await keepRecent().catch(() => undefined);
        }
        send({
          state: 'done',
          done: flows.length,
          message: job.downloadUrl
            ? `Exported ${harWriteWords(result)}`
            : `Saved ${harWriteWords(result)} to ${path}`,
          ...(job.downloadUrl ? {} : { path }),
        });
      },
      (err: Error) => {
        delete job.downloadUrl;
        send({
          state: 'failed',
          message: `The HAR file could not be written: ${err.message}. Nothing was saved.`,
        });
      },
    );
  };

  const har: HarSection = {
    async export(request) {
      const flows = flowsFor(request);
      const name = exportFileName(request.scope);
      const id = `export-${++jobSeq}`;
      let path: string;
      let downloadUrl: string | undefined;
      if (host.chooseSavePath) {
        const chosen = await host.chooseSavePath(name);
        if (!chosen) return null;
        path = chosen;
        await checkChosenFolder(path);
      } else {
        await ensurePrivateFolder(exportsDir);
        path = join(exportsDir, `${id}.har`);
        downloadUrl = `/download/${id}`;
      }
      const job: Job = {
        id,
        kind: 'export',
        title: `Exporting ${plural(flows.length, 'flow')} to ${downloadUrl ? name : basename(path)}`,
        done: 0,
        total: flows.length,
        state: 'running',
        ...(downloadUrl ? { downloadUrl } : {}),
      };
      emit({ jobs: [{ ...job }] });
      runExport(job, { path, name }, flows, request.sessionId);
      return { ...job };
    },

    async import(source: HarImportSource) {
      let path: string;
      let name: string;
      let upload: string | undefined;
      if (source.kind === 'dialog') {
        if (!host.chooseOpenPath) {
          throw new ApiFailure(
            'invalid_argument',
            'there is no open dialog in the browser; upload the file instead',
          );
        }
        const chosen = await host.chooseOpenPath();
        if (!chosen) return null;
        path = chosen;
        name = basename(chosen);
      } else {
        if (!uploads.has(source.uploadId)) {
          throw new ApiFailure(
            'not_found',
            `upload ${source.uploadId} is not here (each upload opens once); choose the file again`,
          );
        }
        upload = source.uploadId;
        path = join(uploadsDir, `${upload}.har`);
        name = source.name;
      }
      try {
        return await open(path, name);
      } finally {
        if (upload) {
          uploads.delete(upload);
          await rm(path, { force: true });
        }
      }
    },
  };

  /**
   * An import's progress as a job, once it has run importJobAfterMs (a small file opens
   * before a progress line could be read; the dialog and its toast say the rest). Then at most
   * every PROGRESS_MS, and always the end.
   */
  const importJob = (name: string) => {
    const job: Job = {
      id: `import-${++jobSeq}`,
      kind: 'import',
      title: `Reading ${name}`,
      done: 0,
      total: 0,
      state: 'running',
    };
    let shown = false;
    let last = 0;
    const send = (): void => {
      last = Date.now();
      emit({ jobs: [{ ...job }] });
    };
    const timer = setTimeout(() => {
      shown = true;
      send();
    }, importJobAfterMs);
    return {
      progress(p: ImportProgress): void {
        if (p.phase === 'parsing') {
          // One long step with nothing to count: shown as not yet started.
          Object.assign(job, { title: `Reading the entries of ${name}`, done: 0, total: 1 });
        } else {
          job.title =
            p.phase === 'reading'
              ? `Reading ${name}`
              : `Opening ${p.total.toLocaleString('en-US')} ${p.total === 1 ? 'entry' : 'entries'} of ${name}`;
          job.done = p.done;
          job.total = p.total;
        }
        if (shown && Date.now() - last >= PROGRESS_MS) send();
      },
      end(state: 'done' | 'failed', message: string): void {
        clearTimeout(timer);
        job.state = state;
        job.message = message;
        if (state === 'done') job.done = job.total;
        if (shown) send();
      },
    };
  };

  const open = async (path: string, name: string): Promise<SessionInfo> => {
    try {
      const size = (await stat(path)).size;
      if (size > MAX_IMPORT_BYTES) {
        throw new ApiFailure(
          'invalid_argument',
          `${name} is ${bytes(size)}; Loupe opens HAR files up to ${bytes(MAX_IMPORT_BYTES)}`,
        );
      }
    } catch (err) {
      if (err instanceof ApiFailure) throw err;
      throw new ApiFailure(
        'invalid_argument',
        `${name} could not be read: ${(err as Error).message}`,
      );
    }
    const id = `har${++importSeq}`;
    const job = importJob(name);
    let result;
    try {
      // Read, parsed and converted in a worker thread: main keeps forwarding meanwhile.
      result = await importHarFile(path, `${id}.`, { ...importOptions, onProgress: job.progress });
    } catch (err) {
      const message = `${name} could not be read: ${(err as Error).message}`;
      job.end('failed', message);
      if (err instanceof UnreadableFile) throw new ApiFailure('invalid_argument', message);
      throw err;
    }
    if (!result.ok) {
      const message = `${name} could not be opened: ${result.error}`;
      job.end('failed', message);
      throw new ApiFailure('invalid_argument', message);
    }
    const { flows, bodies, creator, repairs, skipped } = result.value;
    const info: SessionInfo = {
      id,
      kind: 'imported',
      name,
      flowCount: flows.length,
      openedAt: Date.now(),
      ...(creator ? { creator } : {}),
      repairs,
      skipped,
    };
    const index = await indexFlows(flows);
    imported.set(id, { info, flows, bodies, ...index });
    job.end('done', `Opened ${plural(flows.length, 'flow')}`);
    emit({ sessions: list() });
    return info;
  };

  const sessions: SessionsSection = {
    list: async () => list(),
    async flows(sessionId) {
      if (sessionId === 'live') return session.flows.list().map(summarize);
      const source = imported.get(sessionId);
      if (!source) throw new ApiFailure('not_found', `session ${sessionId} is not open`);
      return source.flows.map(summarize);
    },
    async close(sessionId) {
      if (sessionId === 'live') {
        throw new ApiFailure(
          'invalid_argument',
          'the live session cannot be closed; Clear forgets its flows',
        );
      }
      if (!imported.delete(sessionId)) {
        throw new ApiFailure('not_found', `session ${sessionId} is not open`);
      }
      emit({ sessions: list() });
    },
  };

  const files: HarFiles = {
    async newUpload() {
      if (disposed) throw new ApiFailure('unavailable', 'Loupe is shutting down');
      await ensurePrivateFolder(uploadsDir);
      const id = `upload-${randomBytes(12).toString('hex')}`;
      uploads.add(id);
      return { id, path: join(uploadsDir, `${id}.har`) };
    },
    async dropUpload(id) {
      uploads.delete(id);
      await rm(join(uploadsDir, `${id}.har`), { force: true });
    },
    download: (jobId) => downloads.get(jobId),
  };

  return {
    sessions,
    har,
    files,
    flow: (id) => sessionOf(id)?.byId.get(id),
    body(bodyId) {
      const source = sessionOf(bodyId);
      const owner = source?.owners.get(bodyId);
      const data = source?.bodies.get(bodyId);
      if (!owner || !data) return undefined;
      return {
        info: owner.info,
        headers: owner.headers,
        alreadyDecoded: owner.info.contentDecoded === true,
        read: async () => Buffer.from(data.buffer, data.byteOffset, data.byteLength),
      };
    },
    async dispose() {
      disposed = true;
      imported.clear();
      const paths = [...downloads.values()].map((d) => d.path);
      downloads.clear();
      for (const id of uploads) paths.push(join(uploadsDir, `${id}.har`));
      uploads.clear();
      await Promise.all(paths.map((p) => rm(p, { force: true })));
    },
  };
}
