/**
 * The `loupe` command line: `loupe headless …` runs the proxy without a window; `loupe start`
 * runs the desktop app where it exists and otherwise says so and runs headless; `loupe ca …`
 * shows, exports and rotates the CA (ca-command.ts).
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { caCommand } from './ca-command';
import { HEADLESS_HELP, UsageError, parseHeadlessArgs } from './args';
import type { Io } from './io';
import { runHeadless } from './run';

const USAGE = `Usage: loupe <command> [options]

Commands:
  start       Open the desktop app (or the headless proxy where the app cannot run)
  headless    Run the proxy without a window (see loupe headless --help)
  ca          Show, export or replace the root CA (see loupe ca --help)

Options:
  -h, --help     Show this help
  -v, --version  Show Loupe's version
`;

/**
 * Loupe's own folder and version, from the nearest package.json named `loupe` above this file
 * (the sources in src-main/headless, or the bundle in out/main).
 */
function loupePackage(): { root: string; version: string } | undefined {
  for (const up of ['../../', '../', '../../../']) {
    const root = new URL(up, import.meta.url);
    try {
      const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'loupe')
        return { root: fileURLToPath(root), version: pkg.version ?? '0.0.0' };
    } catch {
      // Not at this level; try the next.
    }
  }
  return undefined;
}

function version(): string {
  return loupePackage()?.version ?? '0.0.0';
}

/**
 * Where the Electron runtime binary would be, found by reading the electron package's
 * `path.txt` — never by requiring `electron`, which would start a download.
 */
function electronBinary(): string | undefined {
  try {
    const require = createRequire(import.meta.url);
    const pkgDir = require.resolve('electron/package.json').replace(/package\.json$/, '');
    const rel = readFileSync(`${pkgDir}path.txt`, 'utf8').trim();
    const bin = `${pkgDir}dist/${rel}`;
    return existsSync(bin) ? bin : undefined;
  } catch {
    return undefined;
  }
}

async function headless(argv: string[], name: string, io: Io): Promise<number> {
  try {
    const config = parseHeadlessArgs(argv);
    if (config.help) {
      io.stdout.write(HEADLESS_HELP);
      return 0;
    }
    return await runHeadless(config, version());
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`loupe ${name}: ${err.message}\n(see loupe headless --help)\n`);
      return 2;
    }
    io.stderr.write(`loupe ${name}: ${(err as Error).message}\n`);
    return 1;
  }
}

/**
 * `loupe start`: the desktop app where the Electron runtime is installed; elsewhere the same UI
 * served headless on a free port, opened in the default browser.
 */
async function start(argv: string[], io: Io): Promise<number> {
  const runtime = electronBinary();
  const root = loupePackage()?.root;
  if (runtime && root && existsSync(join(root, 'out/electron/main.cjs'))) {
    const child = spawn(runtime, [root, ...argv], { stdio: 'inherit' });
    const forward = (signal: NodeJS.Signals): void => void child.kill(signal);
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    return new Promise((resolveExit) => {
      child.on('error', (err) => {
        io.stderr.write(`loupe start: could not run Electron (${err.message})\n`);
        resolveExit(1);
      });
      child.on('exit', (code) => resolveExit(code ?? 1));
    });
  }
  io.stderr.write(
    runtime
      ? 'The desktop app is not built (run npm run build), so Loupe serves its UI headless instead.\n'
      : 'The Electron runtime is not installed on this machine, so Loupe serves its UI headless instead.\n',
  );
  const ui = argv.includes('--ui-port') ? [] : ['--ui-port', '0'];
  const open = argv.includes('--open') ? [] : ['--open'];
  return headless([...argv, ...ui, ...open], 'start', io);
}

/**
 * Runs the command line; resolves to the process exit code. What it prints goes to `io`, except
 * the running proxy's own lines (run.ts), which are the process's, as are its signals.
 */
export async function main(argv: string[], io: Io = process): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'headless':
      return headless(rest, 'headless', io);
    case 'ca':
      return caCommand(rest, io);
    case 'start':
      return start(rest, io);
    case '-v':
    case '--version':
      io.stdout.write(`${version()}\n`);
      return 0;
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      io.stdout.write(USAGE);
      return 0;
    default:
      io.stderr.write(`loupe: unknown command '${command}'\n${USAGE}`);
      return 2;
  }
}
