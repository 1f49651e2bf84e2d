/**
 * The HAR service against a real session on a temporary data directory: exports written to disk
 * (valid HAR 1.2, the right flows, progress, nothing left behind on failure), the real fixtures
 * of other tools imported as sessions, and their flows and bodies served through the API.
 */
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ApiEvent, Job } from '../../src-common/api/contract';
import { validateHar } from '../test-support/har-schema';
import { makeFlow, makeRequest, makeResponse } from '../test-support/factories';
import { ApiFailure } from './api-failure';
import { createApi, createEventHub } from './api';
import { createHarService, exportFileName, type HarHost, type HarService } from './har-service';
import { openSession, type Session } from './session';
import { HAR_FIXTURE_DIR, HAR_FIXTURES } from '../test-support/har-fixtures';
import { until } from '../test-support/wait';

const FIXTURES = HAR_FIXTURE_DIR;

let dir: string;
let session: Session;
let events: ApiEvent[];
let service: HarService | undefined;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'loupe-har-service-'));
  session = await openSession({
    dataDir: join(dir, 'data'),
    host: '127.0.0.1',
    port: 0,
    version: '0.0.0-test',
    mode: 'headless',
  });
  events = [];
});

afterEach(async () => {
  watchers.clear();
  await service?.dispose();
  service = undefined;
  await session.close();
  await rm(dir, { recursive: true, force: true });
});

const start = (
  host: HarHost = {},
  options: Parameters<typeof createHarService>[3] = {},
): HarService => {
  const emit = (e: ApiEvent): void => {
    events.push(e);
    for (const watcher of watchers) watcher(e);
  };
  return (service = createHarService(session, emit, host, options));
};

/** Live flows f1…fN with a JSON response body each. */
function record(n: number): string[] {
  const ids: string[] = [];
  for (let i = 1; i <= n; i++) {
    const id = `f${i}`;
    const body = Buffer.from(JSON.stringify({ n: i }));
    session.bodies.append(`${id}:res`, body);
    session.bodies.finish(`${id}:res`);
    session.flows.upsert(
      makeFlow({
        id,
        seq: i,
        request: makeRequest({ url: `http://api.example.test/items/${i}` }),
        response: makeResponse({
          body: { size: body.length, captured: body.length, truncated: false, bodyId: `${id}:res` },
        }),
      }),
    );
    ids.push(id);
  }
  return ids;
}

/** Resolves with a job's final state, from the job events `emit` sends (at once if sent already). */
function jobEnd(id: string, emitted: readonly ApiEvent[], subscribe: JobWatch): Promise<Job> {
  const endOf = (list: readonly ApiEvent[]): Job | undefined =>
    list.flatMap((e) => e.jobs ?? []).find((j) => j.id === id && j.state !== 'running');
  const already = endOf(emitted);
  if (already) return Promise.resolve(already);
  return new Promise((resolve) => {
    const stop = subscribe((event) => {
      const end = endOf([event]);
      if (!end) return;
      stop();
      resolve(end);
    });
  });
}
type JobWatch = (listener: (event: ApiEvent) => void) => () => void;

/** Listeners on the service's events, beside the `events` record. */
const watchers = new Set<(event: ApiEvent) => void>();
const watchEvents: JobWatch = (listener) => {
  watchers.add(listener);
  return () => watchers.delete(listener);
};
const finished = (id: string): Promise<Job> => jobEnd(id, events, watchEvents);

type Har = {
  log: { creator: { name: string }; entries: { request: { url: string } }[] };
  [k: string]: unknown;
};
const readHar = async (path: string): Promise<Har> =>
  JSON.parse(await readFile(path, 'utf8')) as Har;
const urls = (har: Har): string[] => har.log.entries.map((e) => e.request.url);

describe('har.export', () => {
  it('writes all, filtered and selected flows as valid HAR, in the order asked', async () => {
    record(5);
    const saved: string[] = [];
    const svc = start({
      chooseSavePath: async (name) => {
        saved.push(name);
        return join(dir, `out-${saved.length}.har`);
      },
    });
    const all = (await svc.har.export({ sessionId: 'live', scope: 'all' }))!;
    expect(all).toMatchObject({ kind: 'export', state: 'running', total: 5 });
    expect(await finished(all.id)).toMatchObject({
      state: 'done',
      done: 5,
      path: join(dir, 'out-1.har'),
    });
    const allHar = await readHar(join(dir, 'out-1.har'));
    expect(validateHar(allHar)).toEqual([]);
    expect(urls(allHar)).toHaveLength(5);
    expect(allHar.log.creator.name).toBe('Loupe');

    const filtered = (await svc.har.export({
      sessionId: 'live',
      scope: 'filtered',
      ids: ['f2', 'f4'],
    }))!;
    await finished(filtered.id);
    const filteredHar = await readHar(join(dir, 'out-2.har'));
    expect(validateHar(filteredHar)).toEqual([]);
    expect(urls(filteredHar)).toEqual([
      'http://api.example.test/items/2',
      'http://api.example.test/items/4',
    ]);

    const selected = (await svc.har.export({
      sessionId: 'live',
      scope: 'selected',
      ids: ['f5', 'f1'],
    }))!;
    await finished(selected.id);
    expect(urls(await readHar(join(dir, 'out-3.har')))).toEqual([
      'http://api.example.test/items/5',
      'http://api.example.test/items/1',
    ]);
    expect(saved).toEqual([
      expect.stringMatching(/^loupe-\d{4}-\d\d-\d\d-\d{4}-all\.har$/),
      expect.stringMatching(/-filtered\.har$/),
      expect.stringMatching(/-selected\.har$/),
    ]);
  });

  it('reports progress at most every 100 ms and always the end', async () => {
    record(3000);
    const svc = start({ chooseSavePath: async () => join(dir, 'big.har') });
    const job = (await svc.har.export({ sessionId: 'live', scope: 'all' }))!;
    const end = await finished(job.id);
    expect(end).toMatchObject({ state: 'done', done: 3000, total: 3000 });
    const states = events.flatMap((e) => e.jobs ?? []).filter((j) => j.id === job.id);
    expect(states[0]).toMatchObject({ state: 'running', done: 0 });
    expect(states.at(-1)!.state).toBe('done');
    const dones = states.map((s) => s.done);
    expect([...dones].sort((a, b) => a - b)).toEqual(dones);
    expect(states.length).toBeLessThan(2 + 3000 / 10);
  });

  it('resolves null and writes nothing when the save dialog is cancelled', async () => {
    record(1);
    const svc = start({ chooseSavePath: async () => undefined });
    expect(await svc.har.export({ sessionId: 'live', scope: 'all' })).toBeNull();
    expect(events).toEqual([]);
  });

  it('refuses unknown flows and sessions with not_found before starting', async () => {
    record(2);
    const svc = start({ chooseSavePath: async () => join(dir, 'never.har') });
    const missing = svc.har.export({ sessionId: 'live', scope: 'selected', ids: ['f1', 'nope'] });
    await expect(missing).rejects.toMatchObject({ code: 'not_found' });
    await expect(missing).rejects.toThrow(/not in the session.*nope/);
    await expect(svc.har.export({ sessionId: 'har9', scope: 'all' })).rejects.toBeInstanceOf(
      ApiFailure,
    );
    expect(events).toEqual([]);
    expect(existsSync(join(dir, 'never.har'))).toBe(false);
  });

  it('fails in words and leaves no file when the file cannot be written', async () => {
    record(2);
    const target = join(dir, 'no-such-folder', 'x.har');
    const svc = start({ chooseSavePath: async () => target });
    const job = (await svc.har.export({ sessionId: 'live', scope: 'all' }))!;
    const end = await finished(job.id);
    expect(end.state).toBe('failed');
    expect(end.message).toMatch(/could not be written.*ENOENT.*Nothing was saved/);
    expect(existsSync(join(dir, 'no-such-folder'))).toBe(false);
  });

  it('headless: writes into the data directory for download, keeping the last five', async () => {
    record(1);
    const svc = start();
    const jobs: Job[] = [];
    for (let i = 0; i < 7; i++) {
      const job = (await svc.har.export({ sessionId: 'live', scope: 'all' }))!;
      expect(job.downloadUrl).toBe(`/download/${job.id}`);
      jobs.push(await finished(job.id));
    }
    expect(jobs.every((j) => j.state === 'done' && j.path === undefined)).toBe(true);
    expect(svc.files.download(jobs[0]!.id)).toBeUndefined();
    const last = svc.files.download(jobs[6]!.id)!;
    expect(last.name).toMatch(/-all\.har$/);
    expect(validateHar(await readHar(last.path))).toEqual([]);
    expect((await readdir(join(dir, 'data', 'exports'))).sort()).toEqual(
      jobs
        .slice(2)
        .map((j) => `${j.id}.har`)
        .sort(),
    );
    await svc.dispose();
    expect(await readdir(join(dir, 'data', 'exports'))).toEqual([]);
  });

  it('exports TLS that named no server as valid HAR, at the address the client connected to', async () => {
    const client = tls.connect({
      host: '127.0.0.1',
      port: session.proxy.port,
      servername: '',
      rejectUnauthorized: false,
    });
    client.on('error', () => undefined);
    await until(
      'the flow of the TLS without a server name',
      (notify) => session.flows.subscribe(notify),
      () => session.flows.list().length > 0,
    );
    const svc = start({ chooseSavePath: async () => join(dir, 'no-sni.har') });
    const job = (await svc.har.export({ sessionId: 'live', scope: 'all' }))!;
    expect(await finished(job.id)).toMatchObject({ state: 'done' });
    const har = await readHar(join(dir, 'no-sni.har'));
    expect(validateHar(har)).toEqual([]);
    expect(urls(har)).toEqual([`https://127.0.0.1:${session.proxy.port}/`]);
    expect(JSON.stringify(har.log.entries[0])).toMatch(/no server name/i);
  });

  it.skipIf(process.platform === 'win32')(
    'keeps headless exports and uploads private in a data directory that was 0755',
    async () => {
      const data = join(dir, 'data');
      await chmod(data, 0o755);
      // Made by an older Loupe, or under a loose umask.
      await mkdir(join(data, 'exports'), { mode: 0o755 });
      await mkdir(join(data, 'uploads'), { mode: 0o755 });
      record(1);
      const svc = start();
      const job = (await svc.har.export({ sessionId: 'live', scope: 'all' }))!;
      await finished(job.id);
      const mode = async (path: string): Promise<number> => (await stat(path)).mode & 0o777;
      expect(await mode(svc.files.download(job.id)!.path)).toBe(0o600);
      expect(await mode(join(data, 'exports'))).toBe(0o700);
      await svc.files.newUpload();
      expect(await mode(join(data, 'uploads'))).toBe(0o700);
      // The data directory is the user's choice: it keeps its mode.
      expect(await mode(data)).toBe(0o755);
    },
  );

  it.skipIf(process.platform === 'win32')(
    'saves a private file into a folder the user chose, leaving the folder as it was and warning once that others can read it',
    async () => {
      record(1);
      const chosen = join(dir, 'shared');
      await mkdir(chosen, { mode: 0o755 });
      await chmod(chosen, 0o755);
      const svc = start({ chooseSavePath: async (name) => join(chosen, name) });
      for (let i = 0; i < 2; i++) {
        const job = (await svc.har.export({ sessionId: 'live', scope: 'all' }))!;
        const end = await finished(job.id);
        expect((await stat(end.path!)).mode & 0o777).toBe(0o600);
      }
      expect((await stat(chosen)).mode & 0o777).toBe(0o755);
      const warnings = events.flatMap((e) => e.notices ?? []);
      expect(warnings).toEqual([
        expect.objectContaining({
          level: 'warning',
          message: expect.stringContaining(chosen) as string,
        }),
      ]);
    },
  );

  it('names the file by day, time and scope', () => {
    expect(exportFileName('filtered', new Date(2026, 11, 1, 14, 5))).toBe(
      'loupe-2026-12-01-1405-filtered.har',
    );
  });
});

describe('har.import and sessions', () => {
  let chosen: string | undefined;
  const openHost = (): HarHost => ({ chooseOpenPath: async () => chosen });

  it.each(HAR_FIXTURES)('opens %s.har as a session of its own', async (name) => {
    chosen = join(FIXTURES, `${name}.har`);
    const svc = start(openHost());
    const info = (await svc.har.import({ kind: 'dialog' }))!;
    expect(info).toMatchObject({ id: 'har1', kind: 'imported', name: `${name}.har` });
    expect(info.flowCount).toBeGreaterThan(0);
    expect(Array.isArray(info.repairs)).toBe(true);
    expect(events.at(-1)?.sessions?.map((s) => s.id)).toEqual(['live', 'har1']);
    const flows = await svc.sessions.flows('har1');
    expect(flows).toHaveLength(info.flowCount);
    expect(flows.every((f) => f.id.startsWith('har1.'))).toBe(true);
    expect(svc.flow(flows[0]!.id)?.id).toBe(flows[0]!.id);
    expect(await svc.sessions.list()).toEqual([
      expect.objectContaining({ id: 'live', kind: 'live', name: 'Live', flowCount: 0 }),
      info,
    ]);
  });

  it('says what it repaired in the files that deviate from the schema', async () => {
    const svc = start(openHost());
    for (const name of ['charles', 'with-bom']) {
      chosen = join(FIXTURES, `${name}.har`);
      const info = (await svc.har.import({ kind: 'dialog' }))!;
      expect(info.repairs!.length, name).toBeGreaterThan(0);
    }
  });

  /** Imports each unreadable file through the dialog; the words each one was refused with. */
  async function refuseUnreadable(svc: HarService): Promise<string[]> {
    const refusals: string[] = [];
    for (const [file, text] of [
      ['broken.har', '{"log": {"entries": ['],
      ['plain.har', 'hello'],
    ] as const) {
      chosen = join(dir, file);
      await writeFile(chosen, text);
      const failure = await svc.har.import({ kind: 'dialog' }).catch((e: ApiFailure) => e);
      expect(failure).toBeInstanceOf(ApiFailure);
      expect((failure as ApiFailure).code).toBe('invalid_argument');
      expect((failure as ApiFailure).message).toMatch(new RegExp(`^${file} could not be`));
      refusals.push((failure as ApiFailure).message);
    }
    chosen = join(dir, 'absent.har');
    await expect(svc.har.import({ kind: 'dialog' })).rejects.toMatchObject({
      code: 'invalid_argument',
    });
    expect((await svc.sessions.list()).map((s) => s.id)).toEqual(['live']);
    return refusals;
  }

  /** Each import job's last event, in the order the jobs first appeared. */
  const lastJobEvents = (): Job[] => {
    const last = new Map<string, Job>();
    for (const job of events.flatMap((e) => e.jobs ?? [])) last.set(job.id, job);
    return [...last.values()];
  };

  it('refuses an unreadable file with invalid_argument in words, opening nothing', async () => {
    // However long the worker takes here, the import-job contract holds: no session event, and
    // any job shown ends failed with the words the call was refused with.
    const refusals = await refuseUnreadable(start(openHost()));
    expect(events.filter((e) => e.sessions)).toEqual([]);
    for (const job of lastJobEvents()) {
      expect(job).toMatchObject({ kind: 'import', state: 'failed' });
      expect(refusals).toContain(job.message);
    }
  });

  it('an import that fails before IMPORT_JOB_AFTER_MS sends no job event at all', async () => {
    await refuseUnreadable(start(openHost(), { importJobAfterMs: 60_000 }));
    expect(events).toEqual([]);
  });

  it('an import still running at IMPORT_JOB_AFTER_MS shows as a job that ends failed in the same words', async () => {
    const refusals = await refuseUnreadable(start(openHost(), { importJobAfterMs: 0 }));
    expect(events.filter((e) => e.sessions)).toEqual([]);
    // The file that was absent failed before an import began, so it never became a job.
    expect(lastJobEvents().map((j) => [j.kind, j.state, j.message])).toEqual(
      refusals.map((message) => ['import', 'failed', message]),
    );
  });

  it('resolves null when the open dialog is cancelled; the browser has none', async () => {
    chosen = undefined;
    expect(await start(openHost()).har.import({ kind: 'dialog' })).toBeNull();
    await expect(
      createHarService(session, () => undefined, {}).har.import({ kind: 'dialog' }),
    ).rejects.toMatchObject({ code: 'invalid_argument' });
  });

  it('closes an imported session, freeing its flows; the live one cannot be closed', async () => {
    chosen = join(FIXTURES, 'insomnia.har');
    const svc = start(openHost());
    const info = (await svc.har.import({ kind: 'dialog' }))!;
    const first = (await svc.sessions.flows(info.id))[0]!;
    await svc.sessions.close(info.id);
    expect(events.at(-1)?.sessions?.map((s) => s.id)).toEqual(['live']);
    expect(svc.flow(first.id)).toBeUndefined();
    await expect(svc.sessions.flows(info.id)).rejects.toMatchObject({ code: 'not_found' });
    await expect(svc.sessions.close(info.id)).rejects.toMatchObject({ code: 'not_found' });
    await expect(svc.sessions.close('live')).rejects.toMatchObject({ code: 'invalid_argument' });
  });

  it('lists the live session with its flows', async () => {
    record(3);
    const svc = start();
    expect((await svc.sessions.list())[0]).toMatchObject({ id: 'live', flowCount: 3 });
    expect((await svc.sessions.flows('live')).map((f) => f.id)).toEqual(['f1', 'f2', 'f3']);
  });

  it('serves imported flows and bodies through the API, and exports them again', async () => {
    chosen = join(FIXTURES, 'postdata.har');
    const hub = createEventHub(session);
    const api = createApi(session, hub, {
      ...openHost(),
      chooseSavePath: async () => join(dir, 'again.har'),
    });
    try {
      const info = (await api.har.import({ kind: 'dialog' }))!;
      const flows = await api.sessions.flows(info.id);
      const post = flows.find((f) => f.kind === 'http' && f.request.body.bodyId);
      expect(post, 'postdata.har has a POST body').toBeDefined();
      const full = await api.flows.get(post!.id);
      expect(full.id).toBe(post!.id);
      const bodyId = full.kind === 'http' ? full.request.body.bodyId! : '';
      const body = await api.flows.body(bodyId);
      expect(Buffer.from(body.base64, 'base64').length).toBeGreaterThan(0);
      await expect(api.flows.body(`${info.id}.999:res`)).rejects.toMatchObject({
        code: 'not_found',
      });

      const seen: ApiEvent[] = [];
      const stopRecording = hub.subscribe((e) => void seen.push(e));
      const job = (await api.har.export({ sessionId: info.id, scope: 'all' }))!;
      const watch: JobWatch = (listener) => hub.subscribe(listener);
      expect(await jobEnd(job.id, seen, watch)).toMatchObject({ state: 'done' });
      stopRecording();
      const again = await readHar(join(dir, 'again.har'));
      expect(validateHar(again)).toEqual([]);
      expect(again.log.entries).toHaveLength(info.flowCount);
      expect(job.total).toBe(info.flowCount);
    } finally {
      await api.dispose();
      hub.dispose();
    }
  });

  it('opens an upload once and removes its file', async () => {
    const svc = start();
    const upload = await svc.files.newUpload();
    await writeFile(upload.path, await readFile(join(FIXTURES, 'chrome.har')));
    const info = await svc.har.import({ kind: 'upload', uploadId: upload.id, name: 'c.har' });
    expect(info).toMatchObject({ name: 'c.har', kind: 'imported' });
    expect(existsSync(upload.path)).toBe(false);
    await expect(
      svc.har.import({ kind: 'upload', uploadId: upload.id, name: 'c.har' }),
    ).rejects.toMatchObject({ code: 'not_found' });
  });
});
