/**
 * The `loupe` command line: `loupe headless …` runs the proxy without a window; `loupe start`
 * runs the desktop app where it exists and otherwise says so and runs headless; `loupe ca …`
 * shows, exports and rotates the CA (ca-command.ts).
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { caCommand } from './ca-command';
import { HEADLESS_HELP, UsageError, parseHeadlessArgs } from './args';
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

/** Loupe's version from its package.json, found upwards from this file (sources or out/). */
function version(): string {
  for (const up of ['../../package.json', '../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(up, import.meta.url), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'loupe' && pkg.version) return pkg.version;
    } catch {
      // Not at this level; try the next.
    }
  }
  return '0.0.0';
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

async function headless(argv: string[], name: string): Promise<number> {
  try {
    const config = parseHeadlessArgs(argv);
    if (config.help) {
      process.stdout.write(HEADLESS_HELP);
      return 0;
    }
    return await runHeadless(config, version());
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`loupe ${name}: ${err.message}\n(see loupe headless --help)\n`);
      return 2;
    }
    process.stderr.write(`loupe ${name}: ${(err as Error).message}\n`);
    return 1;
  }
}

/** Runs the command line; resolves to the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'headless':
      return headless(rest, 'headless');
    case 'ca':
      return caCommand(rest);
    case 'start': {
      const runtime = electronBinary();
      process.stderr.write(
        runtime
          ? 'The desktop window is not part of this build yet, so Loupe runs headless.\n'
          : 'The Electron runtime is not installed on this machine, so Loupe runs headless.\n',
      );
      return headless(rest, 'start');
    }
    case '-v':
    case '--version':
      process.stdout.write(`${version()}\n`);
      return 0;
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(USAGE);
      return 0;
    default:
      process.stderr.write(`loupe: unknown command '${command}'\n${USAGE}`);
      return 2;
  }
}
