/**
 * bin/loupe.js, the `loupe` command: it runs the bundle in out/main with no TypeScript loader,
 * builds that bundle first when it is missing or older than the sources (and out/renderer for a
 * command that serves the UI), says in one line how to build when it cannot, and in an install
 * without sources runs out/ as it is.
 */
import { execFile } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { LOUPE_BIN, type LoupeResult } from '../test-support/headless';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const temps: string[] = [];
afterEach(() => {
  for (const dir of temps.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/**
 * A folder of its own. Under node_modules/.cache by default, so that a bundle there finds its
 * packages (node-forge, ws) as it does in out/; `outside` for one where nothing resolves.
 */
function temp(outside = false): string {
  const parent = outside ? tmpdir() : join(ROOT, 'node_modules/.cache');
  mkdirSync(parent, { recursive: true });
  const dir = mkdtempSync(join(parent, 'loupe-bin-'));
  temps.push(dir);
  return dir;
}

function node(args: string[], env: NodeJS.ProcessEnv = {}): Promise<LoupeResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, args, { env: { ...process.env, ...env } }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err.code as number | undefined) ?? null) : 0, stdout, stderr }),
    );
  });
}

const lines = (text: string): string[] => text.split('\n').filter(Boolean);
const BUILDING = /^loupe: building out\/main \(missing or older than the sources\)$/;

describe('bin/loupe.js', () => {
  it('runs out/main/loupe.js and loads no TypeScript and no tsx', async () => {
    const dir = temp(true);
    const record = join(dir, 'loaded.txt');
    // A loader hook that notes every module Node loads (in the hooks' own thread, so each note
    // is written before the module runs), and at exit the CommonJS ones required from those.
    const hooks = `import { appendFileSync } from 'node:fs';
      export async function load(url, context, next) {
        appendFileSync(${JSON.stringify(record)}, url + '\\n');
        return next(url, context);
      }`;
    const recorder = join(dir, 'recorder.mjs');
    writeFileSync(
      recorder,
      `import { register, createRequire } from 'node:module';
       import { appendFileSync } from 'node:fs';
       register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hooks)}));
       process.on('exit', () => {
         const cjs = Object.keys(createRequire(import.meta.url).cache);
         appendFileSync(${JSON.stringify(record)}, cjs.map((f) => f + '\\n').join(''));
       });`,
    );
    const result = await node(['--import', recorder, LOUPE_BIN, 'ca', '--help']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('Usage: loupe ca');

    const loaded = lines(readFileSync(record, 'utf8'));
    // The recorder saw the run: the bin, then the bundle.
    expect(loaded).toContain(pathToFileURL(LOUPE_BIN).href);
    expect(loaded).toContain(pathToFileURL(join(ROOT, 'out/main/loupe.js')).href);
    expect(loaded.filter((m) => /\.[cm]?tsx?$/.test(m))).toEqual([]);
    expect(
      loaded.filter((m) => /[/\\]node_modules[/\\](tsx|esbuild|get-tsconfig)[/\\]/.test(m)),
    ).toEqual([]);
  });

  it('builds a missing out/main saying so in one line, then runs it without a word', async () => {
    const out = temp();
    const env = { LOUPE_OUT_DIR: out };
    const first = await node([LOUPE_BIN, '--help'], env);
    expect(first.code, first.stderr).toBe(0);
    expect(lines(first.stderr)).toHaveLength(1);
    expect(first.stderr.trim()).toMatch(BUILDING);
    expect(first.stdout).toContain('Usage: loupe <command>');
    expect(existsSync(join(out, 'main/loupe.js'))).toBe(true);
    expect(existsSync(join(out, 'main/har-import-worker.js'))).toBe(true);
    // Only the CLI: this command serves no UI.
    expect(existsSync(join(out, 'renderer'))).toBe(false);

    const again = await node([LOUPE_BIN, '--help'], env);
    expect(again.code).toBe(0);
    expect(again.stderr).toBe('');
    expect(again.stdout).toBe(first.stdout);
  });

  it('rebuilds out/main when a source is newer than its build, and out/renderer for the UI', async () => {
    const out = temp();
    const env = { LOUPE_OUT_DIR: out };
    expect((await node([LOUPE_BIN, '--version'], env)).code).toBe(0);
    const manifest = join(out, 'main.inputs.json');
    const built = JSON.parse(readFileSync(manifest, 'utf8')) as {
      builtAt: number;
      inputs: string[];
    };
    expect(built.inputs).toContain('src-main/headless/cli.ts');
    // As if every source had been saved after the build began.
    writeFileSync(manifest, JSON.stringify({ ...built, builtAt: 0 }));

    const stale = await node([LOUPE_BIN, '--version'], env);
    expect(stale.code).toBe(0);
    expect(stale.stderr.trim()).toMatch(BUILDING);
    const rebuilt = JSON.parse(readFileSync(manifest, 'utf8')) as { builtAt: number };
    expect(rebuilt.builtAt).toBeGreaterThan(built.builtAt);

    // `headless --ui-port` serves out/renderer: built with it (here, where only main is fresh).
    const ui = await node([LOUPE_BIN, 'headless', '--ui-port', '0', '--help'], env);
    expect(ui.code, ui.stderr).toBe(0);
    expect(ui.stderr).toBe('loupe: building out/renderer (missing or older than the sources)\n');
    expect(existsSync(join(out, 'renderer/index.html'))).toBe(true);
    expect(existsSync(join(out, 'renderer/app.js'))).toBe(true);
  });

  it('says in one line how to build when it cannot (here: no esbuild), and exits 1', async () => {
    // A checkout in a folder where no package resolves: the sources' marker, the bin, the build.
    const checkout = temp(true);
    mkdirSync(join(checkout, 'src-main'));
    for (const file of ['bin/loupe.js', 'scripts/build.js', 'scripts/build-state.js']) {
      cpSync(join(ROOT, file), join(checkout, file));
    }
    const result = await node([join(checkout, 'bin/loupe.js'), '--version']);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    const [building, failed, ...more] = lines(result.stderr);
    expect(building).toMatch(BUILDING);
    expect(failed).toBe(
      `loupe: could not build out/main; to see why, run \`npm run build\` in ${checkout}`,
    );
    expect(more).toEqual([]);
  });

  it('runs out/ as it is where there are no sources (an installed package)', async () => {
    const install = temp();
    cpSync(LOUPE_BIN, join(install, 'bin/loupe.js'));
    cpSync(join(ROOT, 'out/main'), join(install, 'out/main'), { recursive: true });
    writeFileSync(join(install, 'package.json'), '{ "name": "loupe", "version": "9.9.9" }\n');
    const result = await node([join(install, 'bin/loupe.js'), '--version']);
    expect(result).toEqual({ code: 0, stdout: '9.9.9\n', stderr: '' });
  });
});
