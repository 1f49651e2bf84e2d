/**
 * HAR import against the proxy: while a large HAR is opened, a client in another process sends
 * one request after another through the proxy to a local upstream and times each. Run inline
 * (importHar on main's thread, as before the worker) and in the worker, same session, same run.
 *
 *   node --import tsx bench/har-import.ts [entries…]   (default 80000 180000: 92 and 217 MB)
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance, PerformanceObserver } from 'node:perf_hooks';
import { createHarService } from '../src-main/services/har-service';
import { bigHar } from '../src-main/services/har-import-sample';
import { openSession } from '../src-main/services/session';

const SIZES = process.argv.slice(2).map(Number);
const ENTRIES = SIZES.length > 0 ? SIZES : [80_000, 180_000];

/** The client and its upstream, in a process of their own so main's stalls cannot hide. */
const CLIENT = `
const http = require('node:http');
const upstream = http.createServer((req, res) => res.end('ok'));
upstream.listen(0, '127.0.0.1', () => {
  const target = 'http://127.0.0.1:' + upstream.address().port + '/x';
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const times = [];
  let stop = false;
  process.stdin.on('data', () => (stop = true));
  const one = () => {
    if (stop) {
      times.sort((a, b) => a - b);
      const at = (q) => times[Math.min(times.length - 1, Math.floor(q * times.length))];
      process.stdout.write(JSON.stringify({ n: times.length, p50: at(0.5), p99: at(0.99), max: times.at(-1) }));
      process.exit(0);
    }
    const t = performance.now();
    const req = http.request({ host: '127.0.0.1', port: Number(process.argv[1]), path: target, agent }, (res) => {
      res.resume();
      res.on('end', () => { times.push(performance.now() - t); setImmediate(one); });
    });
    req.on('error', (e) => { console.error(e); process.exit(1); });
    req.end();
  };
  one();
  setTimeout(() => process.stdout.write('ready\\n'), 300);
});
`;

interface Latency {
  n: number;
  p50: number;
  p99: number;
  max: number;
}

async function underLoad(proxyPort: number, work: () => Promise<unknown>): Promise<Latency> {
  const child = spawn(process.execPath, ['-e', CLIENT, String(proxyPort)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d));
  await new Promise<void>((resolve) => {
    const check = (): void => (out.includes('ready\n') ? resolve() : void setTimeout(check, 10));
    check();
  });
  await work();
  child.stdin.write('stop\n');
  await new Promise((resolve) => child.on('exit', resolve));
  return JSON.parse(out.slice(out.indexOf('ready\n') + 6)) as Latency;
}

const dir = mkdtempSync(join(tmpdir(), 'loupe-bench-har-'));
try {
  const session = await openSession({
    dataDir: join(dir, 'data'),
    host: '127.0.0.1',
    port: 0,
    version: 'bench',
    mode: 'headless',
  });
  const row = (l: Latency): string =>
    `${l.n} requests, p50 ${l.p50.toFixed(1)} ms, p99 ${l.p99.toFixed(1)} ms, max ${l.max.toFixed(0)} ms`;
  for (const entries of ENTRIES) {
    const path = join(dir, `${entries}.har`);
    writeFileSync(path, bigHar(entries));
    const mb = statSync(path).size / 1024 / 1024;
    const results: Record<string, { ms: number; latency: Latency }> = {};
    for (const mode of ['inline', 'worker'] as const) {
      const svc = createHarService(
        session,
        () => undefined,
        { chooseOpenPath: async () => path },
        mode === 'inline' ? { worker: null } : {},
      );
      let ms = 0;
      let gc = 0;
      const gcs = new PerformanceObserver((list) => {
        for (const e of list.getEntries()) gc = Math.max(gc, e.duration);
      });
      gcs.observe({ entryTypes: ['gc'] });
      const loop = monitorEventLoopDelay({ resolution: 5 });
      loop.enable();
      const latency = await underLoad(session.proxy.port, async () => {
        const t = performance.now();
        await svc.har.import({ kind: 'dialog' });
        ms = performance.now() - t;
      });
      loop.disable();
      gcs.disconnect();
      await svc.dispose();
      results[mode] = { ms, latency };
      console.log(
        `${mb.toFixed(0)} MB ${mode}: import ${ms.toFixed(0)} ms; ${row(latency)}; ` +
          `main's longest event-loop delay ${(loop.max / 1e6).toFixed(0)} ms, longest GC pause ${gc.toFixed(0)} ms`,
      );
    }
    const { inline, worker } = results as Record<'inline' | 'worker', { latency: Latency }>;
    console.log(
      `${mb.toFixed(0)} MB: longest request inline / worker = ${(inline.latency.max / worker.latency.max).toFixed(1)}`,
    );
  }
  await session.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
