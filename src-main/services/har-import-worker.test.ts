/**
 * HAR import off main's thread (har-import.ts, har-import-worker.ts): the worker gives what the
 * inline importHar gives, falls back inline when it cannot start or dies, and keeps main's event
 * loop answering during a large import that stalls it for seconds inline. The bundled CLI finds
 * its built worker beside it.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { ApiEvent, Job } from '../../src-common/api/contract';
import { importHar, type HarImportResult } from '../../src-common/har/import';
import { importHarFile, UnreadableFile, workerScript, type ImportProgress } from './har-import';
import { bigHar } from './har-import-sample';
import { createHarService } from './har-service';
import { openSession, type Session } from './session';
import { HAR_FIXTURE_DIR, HAR_FIXTURES } from '../test-support/har-fixtures';
import { deadline, deferred, type Deferred } from '../test-support/wait';

const ROOT = join(import.meta.dirname, '../..');
const FIXTURES = HAR_FIXTURE_DIR;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'loupe-har-worker-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A result as comparable text: body bytes as hex. */
const text = (r: HarImportResult): string =>
  JSON.stringify(r, (_k, v: unknown) =>
    v instanceof Map
      ? [...(v as Map<string, Uint8Array>)].map(([id, b]) => [id, Buffer.from(b).toString('hex')])
      : v,
  );

const inline = async (path: string, prefix = 'har1.'): Promise<HarImportResult> =>
  importHar(await readFile(path, 'utf8'), { idPrefix: prefix });

/** Runs `work` while a 5 ms interval ticks on this thread; the longest gap between ticks. */
async function longestStall<T>(work: () => Promise<T>): Promise<{ value: T; stall: number }> {
  let last = performance.now();
  let stall = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    stall = Math.max(stall, now - last);
    last = now;
  }, 5);
  try {
    const value = await work();
    stall = Math.max(stall, performance.now() - last);
    return { value, stall };
  } finally {
    clearInterval(timer);
  }
}

describe('importHarFile', () => {
  it('finds the worker beside this module: the TypeScript source here', () => {
    expect(workerScript()?.pathname).toMatch(/\/src-main\/services\/har-import-worker\.ts$/);
    expect(workerScript(pathToFileURL(join(dir, 'x.js')).href)).toBeUndefined();
  });

  it.each(HAR_FIXTURES)('reads %s.har in the worker exactly as importHar does', async (name) => {
    const path = join(FIXTURES, `${name}.har`);
    const phases: ImportProgress['phase'][] = [];
    const result = await importHarFile(path, 'har1.', { onProgress: (p) => phases.push(p.phase) });
    expect(result.ok).toBe(true);
    expect(text(result)).toBe(text(await inline(path)));
    // Reading and converting are reported only by the worker: it ran.
    expect(phases[0]).toBe('reading');
    expect(phases.at(-1)).toBe('converting');
  });

  it('gives importHar’s refusal for a file that is not a HAR, and UnreadableFile for none', async () => {
    const broken = join(dir, 'broken.har');
    await writeFile(broken, '{"log": {"entries": [ {"request": ');
    const refused = await importHarFile(broken, 'har1.');
    expect(refused).toEqual(await inline(broken));
    expect(refused.ok).toBe(false);
    await expect(importHarFile(dir, 'har1.')).rejects.toThrow(UnreadableFile);
    await expect(importHarFile(join(dir, 'missing.har'), 'har1.')).rejects.toThrow(/ENOENT/);
  });

  it('falls back inline when the worker cannot start or dies', async () => {
    const path = join(FIXTURES, 'chrome.har');
    const expected = text(await inline(path));
    const phases: string[] = [];
    const missing = await importHarFile(path, 'har1.', {
      worker: pathToFileURL(join(dir, 'no-such-worker.js')),
      onProgress: (p) => phases.push(p.phase),
    });
    expect(text(missing)).toBe(expected);
    expect(phases).toEqual(['parsing']);
    const dies = join(dir, 'dies.mjs');
    await writeFile(dies, 'process.exit(3);\n');
    expect(text(await importHarFile(path, 'har1.', { worker: pathToFileURL(dies) }))).toBe(
      expected,
    );
    const throws = join(dir, 'throws.mjs');
    await writeFile(throws, 'throw new Error("broken worker");\n');
    expect(text(await importHarFile(path, 'har1.', { worker: pathToFileURL(throws) }))).toBe(
      expected,
    );
    expect(text(await importHarFile(path, 'har1.', { worker: null }))).toBe(expected);
  });

  it('fails in words, without falling back inline, when the worker runs out of memory', async () => {
    const path = join(dir, 'mid.har');
    await writeFile(path, bigHar(10_000));
    const lost = importHarFile(path, 'har1.', { resourceLimits: { maxOldGenerationSizeMb: 8 } });
    await expect(lost).rejects.toThrow(UnreadableFile);
    await expect(lost).rejects.toThrow('there is not enough memory to open it');
  });

  it('keeps main’s event loop answering through a large import that stalls it inline', async () => {
    const path = join(dir, 'big.har');
    await writeFile(path, bigHar(80_000));
    const size = (await readFile(path)).length;
    expect(size).toBeGreaterThan(60 * 1024 * 1024);
    const before = await longestStall(() => importHarFile(path, 'har1.', { worker: null }));
    const progress: ImportProgress[] = [];
    const after = await longestStall(() =>
      importHarFile(path, 'har1.', { onProgress: (p) => progress.push(p) }),
    );
    console.log(
      `import of ${(size / 1024 / 1024).toFixed(0)} MB, 80,000 entries: longest stall on main ` +
        `inline ${before.stall.toFixed(0)} ms, with the worker ${after.stall.toFixed(0)} ms ` +
        `(${(before.stall / after.stall).toFixed(1)}× shorter)`,
    );
    const [was, now] = [before.value, after.value];
    expect(was.ok && now.ok).toBe(true);
    if (!was.ok || !now.ok) return;
    expect(now.value.flows).toHaveLength(80_000);
    expect(now.value.bodies.size).toBe(was.value.bodies.size);
    expect(now.value.flows[79_999]).toEqual(was.value.flows[79_999]);
    const image = (r: typeof now) => Buffer.from(r.value.bodies.get('har1.79981:res')!);
    expect(image(now).length).toBe(3000);
    expect(image(now).equals(image(was))).toBe(true);
    // Flows came in batches, each its own turn of the event loop.
    expect(progress.filter((p) => p.phase === 'converting').length).toBeGreaterThan(40);
    // Judged only as a ratio against the inline baseline of the same run: 2.2–9.3 s inline,
    // 71–618 ms in the worker on this 2-core machine (the longer ones with a CPU hog beside the
    // suite; 15× even then). A fixed bound in ms failed under that load; the figures belong in
    // bench/har-import.ts.
    expect(before.stall).toBeGreaterThan(1000);
    expect(after.stall * 4).toBeLessThan(before.stall);
  }, 60_000);
});

let medium: string | undefined;
/** A 40,000-entry HAR (about 46 MB), written once. */
async function mediumHar(): Promise<string> {
  if (!medium) {
    medium = join(dir, 'medium.har');
    await writeFile(medium, bigHar(40_000));
  }
  return medium;
}

describe('har.import in the service', () => {
  let session: Session;
  beforeAll(async () => {
    session = await openSession({
      dataDir: join(dir, 'service-data'),
      host: '127.0.0.1',
      port: 0,
      version: '0.0.0-test',
      mode: 'headless',
    });
  });
  afterAll(async () => {
    await session.close();
  });

  it('opens a file when the worker cannot start, as before', async () => {
    const events: ApiEvent[] = [];
    const path = join(FIXTURES, 'safari.har');
    const svc = createHarService(
      session,
      (e) => events.push(e),
      { chooseOpenPath: async () => path },
      { worker: pathToFileURL(join(dir, 'no-such-worker.js')) },
    );
    const info = (await svc.har.import({ kind: 'dialog' }))!;
    const expected = await inline(path);
    expect(expected.ok && info.flowCount === expected.value.flows.length).toBe(true);
    expect((await svc.sessions.flows('har1')).map((f) => f.id)).toEqual(
      expected.ok ? expected.value.flows.map((f) => f.id) : [],
    );
    expect(events.at(-1)?.sessions?.map((s) => s.id)).toEqual(['live', 'har1']);
    await svc.dispose();
  });

  it('shows a long import as a job: throttled progress, always the end', async () => {
    const path = await mediumHar();
    const events: { at: number; job: Job }[] = [];
    const svc = createHarService(
      session,
      (e) => {
        for (const job of e.jobs ?? []) events.push({ at: Date.now(), job });
      },
      { chooseOpenPath: async () => path },
    );
    const started = Date.now();
    const info = (await svc.har.import({ kind: 'dialog' }))!;
    const took = Date.now() - started;
    expect(info.flowCount).toBe(40_000);
    const jobs = events.map((e) => e.job);
    expect(jobs.every((j) => j.kind === 'import' && j.id === jobs[0]!.id)).toBe(true);
    expect(jobs.at(-1)).toMatchObject({
      state: 'done',
      done: 40_000,
      total: 40_000,
      message: 'Opened 40,000 flows',
    });
    // None before IMPORT_JOB_AFTER_MS, then at most ten a second, plus the end.
    expect(events[0]!.at - started).toBeGreaterThanOrEqual(450);
    expect(jobs.length).toBeLessThanOrEqual(Math.ceil(took / 100) + 2);
    for (let i = 2; i < events.length - 1; i++) {
      expect(events[i]!.at - events[i - 1]!.at).toBeGreaterThanOrEqual(95);
    }
    expect(jobs.some((j) => j.title === 'Opening 40,000 entries of medium.har')).toBe(true);
    await svc.dispose();
  }, 30_000);
});

describe('the built bundles', () => {
  // As the Electron wiring tests, these run what `node scripts/build.js` left in out/ (npm test
  // builds first); rebuilding here would race the suites that load the bundles meanwhile.
  beforeAll(() => {
    for (const file of ['out/main/har-import-worker.js', 'out/electron/har-import-worker.cjs']) {
      if (!existsSync(join(ROOT, file))) {
        throw new Error(`${file} is missing: run \`node scripts/build.js\` first`);
      }
    }
  });

  it('find their worker beside them, and it reads a HAR as the source does', async () => {
    const cli = pathToFileURL(join(ROOT, 'out/main/loupe.js')).href;
    const electron = pathToFileURL(join(ROOT, 'out/electron/main.cjs')).href;
    const path = join(FIXTURES, 'safari.har');
    const expected = text(await inline(path));
    for (const [bundle, worker] of [
      [cli, 'out/main/har-import-worker.js'],
      [electron, 'out/electron/har-import-worker.cjs'],
    ] as const) {
      const script = workerScript(bundle)!;
      expect(script.pathname).toBe(join(ROOT, worker));
      const phases: string[] = [];
      const result = await importHarFile(path, 'har1.', {
        worker: script,
        onProgress: (p) => phases.push(p.phase),
      });
      expect(text(result)).toBe(expected);
      expect(phases[0]).toBe('reading');
    }
  });

  it('`node out/main/loupe.js headless` opens an uploaded HAR in its worker', async () => {
    const data = join(dir, 'cli-data');
    const child = spawn(
      process.execPath,
      [
        join(ROOT, 'out/main/loupe.js'),
        'headless',
        '--port',
        '0',
        '--ui-port',
        '0',
        '--data-dir',
        data,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOUPE_NO_BROWSER: '1' } },
    );
    try {
      const ui = await new Promise<{ port: number; token: string }>((resolve, reject) => {
        let out = '';
        child.stderr.on('data', (d: Buffer) => (out += d));
        child.on('exit', (code) => reject(new Error(`loupe exited with ${code}\n${out}`)));
        child.stdout.on('data', (d: Buffer) => {
          out += d;
          const m = /^ui listening on http:\/\/127\.0\.0\.1:(\d+)\/\?token=(\S+)$/m.exec(out);
          if (m) resolve({ port: Number(m[1]), token: m[2]! });
        });
      });
      const origin = `http://127.0.0.1:${ui.port}`;
      const up = await fetch(`${origin}/upload?token=${ui.token}`, {
        method: 'POST',
        headers: { Origin: origin },
        body: await readFile(await mediumHar()),
      });
      expect(up.status).toBe(200);
      const { uploadId } = (await up.json()) as { uploadId: string };
      const ws = new WebSocket(`ws://127.0.0.1:${ui.port}/api?token=${ui.token}`, {
        headers: { Origin: origin },
      });
      const replies = new Map<number, Deferred<unknown>>();
      const replyTo = (id: number): Deferred<unknown> => {
        if (!replies.has(id)) replies.set(id, deferred());
        return replies.get(id)!;
      };
      const jobs: Job[] = [];
      const reply = (id: number, ms?: number): Promise<unknown> =>
        deadline(replyTo(id).promise, `the reply to request ${id}`, ms);
      ws.on('message', (raw) => {
        const message = JSON.parse(String(raw)) as { id?: number; payload?: ApiEvent };
        if (typeof message.id === 'number') replyTo(message.id).resolve(message);
        jobs.push(...(message.payload?.jobs ?? []));
      });
      await new Promise((resolve, reject) => ws.on('open', resolve).on('error', reject));
      ws.send(
        JSON.stringify({
          id: 1,
          channel: 'loupe:har.import',
          args: [{ kind: 'upload', uploadId, name: 'medium.har' }],
        }),
      );
      // The import takes seconds, more on loaded cores: most of the test's 30 s.
      expect(await reply(1, 25_000)).toMatchObject({
        ok: true,
        result: { id: 'har1', kind: 'imported', name: 'medium.har', flowCount: 40_000 },
      });
      // A second's import shows as a job; its entries are counted only by the worker's batches.
      expect(jobs.at(-1)).toMatchObject({
        kind: 'import',
        state: 'done',
        title: 'Opening 40,000 entries of medium.har',
        done: 40_000,
        total: 40_000,
        message: 'Opened 40,000 flows',
      });
      ws.send(JSON.stringify({ id: 2, channel: 'loupe:sessions.flows', args: ['har1'] }));
      const flows = (await reply(2)) as { result: { id: string }[] };
      expect(flows.result.map((f) => f.id).slice(0, 2)).toEqual(['har1.1', 'har1.2']);
      ws.close();
    } finally {
      child.kill();
    }
  });
});
