/**
 * `loupe ca show|export|rotate|clear-learned`: the CA's life beyond the store in certs/ca.ts.
 * `show` and `export` only read an existing pair (so they work while a Loupe runs on the
 * folder); creating or replacing one, or clearing the hosts learned while clients rejected it,
 * takes the data directory's lock, as `loupe headless` does.
 *
 * Exit codes: 0 done, 1 refused or failed (the message says why and what to do), 2 bad usage.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import {
  CaError,
  CA_CERT_FILE,
  CA_KEY_FILE,
  loadCa,
  loadOrCreateCa,
  rotateCa,
  type CaHandle,
} from '../certs/ca';
import { writeFileAtomic } from '../data/atomic-write';
import { defaultDataDir, ensureDataDir } from '../data/data-dir';
import { acquireLock, LOCK_FILE, LockedError, type Lock } from '../data/lock';
import { UsageError } from './args';
import { writeLine, type Io } from './io';
import { activeLearnedHosts, clearLearnedHosts, describeHosts } from './learned-list';

export const CA_HELP = `Usage: loupe ca <command> [options]

Manages the root CA in the data directory (ca.pem, and ca-key.pem readable only by you).

Commands:
  show              Print the certificate's path, subject, SHA-256 fingerprint and validity
                    (also: info)
  export            Write the certificate, never the key, to --out FILE or to stdout; creates
                    the CA if the directory has none yet
  rotate            Replace the CA with a new one, keeping the old pair as ca.pem.old-TIME and
                    ca-key.pem.old-TIME. Clients that trusted the old certificate must trust
                    the new one. Refused while a Loupe runs on the directory. If hosts were
                    learned into the auto-bypass list (clients that rejected the old CA),
                    offers to forget them.
  clear-learned     Empty the auto-bypass list of hosts learned from certificate rejections,
                    e.g. after trusting the CA. Refused while a Loupe runs on the directory.

Options:
  --data-dir DIR    The data directory (default: the per-user app-data folder)
  --format pem|der  export: PEM (default; macOS, Linux, Firefox, curl) or DER (Windows,
                    iOS, Android). DER is not written to a terminal.
  --out FILE        export: write to FILE (replaced atomically) instead of stdout
  -y, --yes         rotate: replace without asking (required without a terminal)
  --clear-learned   rotate: also forget the learned hosts, without asking
  --keep-learned    rotate: keep the learned hosts, without asking (without a terminal
                    and without either flag they are kept)
  -h, --help        Show this help
`;

const COMMANDS = ['show', 'export', 'rotate', 'clear-learned'] as const;

interface CaCommand {
  command: (typeof COMMANDS)[number];
  dataDir: string;
  format: 'pem' | 'der';
  out?: string;
  yes: boolean;
  /** rotate: what to do with the learned hosts; undefined asks on a terminal, else keeps. */
  learned?: 'clear' | 'keep';
}

/** Parses `loupe ca …`; undefined means print the help. Throws UsageError on bad input. */
export function parseCaArgs(argv: string[]): CaCommand | undefined {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: true,
      options: {
        'data-dir': { type: 'string' },
        format: { type: 'string' },
        out: { type: 'string' },
        yes: { type: 'boolean', short: 'y' },
        'clear-learned': { type: 'boolean' },
        'keep-learned': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    // parseArgs' messages name the flag; keep them, minus Node's error-code prefix.
    throw new UsageError(
      (err as Error).message.replace(/^.*?: /, '').replace(/\. To specify.*$/, ''),
    );
  }
  const v = parsed.values;
  const [name, ...extra] = parsed.positionals;
  if (v.help || name === undefined) return undefined;
  const command = name === 'info' ? 'show' : name;
  if (!(COMMANDS as readonly string[]).includes(command)) {
    throw new UsageError(`unknown command '${name}'; use show, export, rotate or clear-learned`);
  }
  if (extra.length) throw new UsageError(`unexpected argument '${extra[0]}'`);
  const onlyFor = (flag: string, given: unknown, owner: CaCommand['command']): void => {
    if (given !== undefined && command !== owner) {
      throw new UsageError(`${flag} applies to loupe ca ${owner}, not ${command}`);
    }
  };
  onlyFor('--format', v.format, 'export');
  onlyFor('--out', v.out, 'export');
  onlyFor('--yes', v.yes, 'rotate');
  onlyFor('--clear-learned', v['clear-learned'], 'rotate');
  onlyFor('--keep-learned', v['keep-learned'], 'rotate');
  if (v['clear-learned'] && v['keep-learned']) {
    throw new UsageError('--clear-learned and --keep-learned contradict each other; pass one');
  }
  const format = v.format ?? 'pem';
  if (format !== 'pem' && format !== 'der') {
    throw new UsageError(`--format takes pem or der, not '${format}'`);
  }
  const learned = v['clear-learned'] ? 'clear' : v['keep-learned'] ? 'keep' : undefined;
  return {
    command: command as CaCommand['command'],
    dataDir: resolve(v['data-dir'] ?? defaultDataDir()),
    format,
    ...(v.out !== undefined ? { out: resolve(v.out) } : {}),
    yes: v.yes ?? false,
    ...(learned ? { learned } : {}),
  };
}

/** What one command prints: results on stdout, notes and questions on stderr. */
interface Output {
  io: Io;
  out: (line: string) => void;
  info: (line: string) => void;
}

function noCaYet(dir: string): Error {
  return new Error(
    `There is no CA in ${dir} yet. The first loupe headless run creates one, as does loupe ca export.`,
  );
}

async function show(c: CaCommand, { out }: Output): Promise<void> {
  const ca = await loadCa(c.dataDir);
  if (!ca) throw noCaYet(c.dataDir);
  out(`Path:        ${join(c.dataDir, CA_CERT_FILE)}`);
  out(`Subject:     ${ca.subject.split('\n').join(', ')}`);
  out(`SHA-256:     ${ca.fingerprint256}`);
  out(`Valid from:  ${new Date(ca.cert.validFrom).toISOString()}`);
  out(`Valid until: ${ca.notAfter.toISOString()}`);
}

/** The existing CA, or a new one made under the lock exactly as a first `loupe headless` would. */
async function existingOrCreated(dir: string, info: Output['info']): Promise<CaHandle> {
  const existing = await loadCa(dir);
  if (existing) return existing;
  await ensureDataDir(dir);
  const lock = await acquireLock(dir);
  try {
    const ca = await loadOrCreateCa(dir);
    info(`Created a new CA in ${dir} (there was none yet).`);
    return ca;
  } finally {
    await lock.release();
  }
}

async function exportCa(c: CaCommand, { io, info }: Output): Promise<void> {
  // Checked before anything is created, so a refused command leaves the folder as it was.
  if (!c.out && c.format === 'der' && io.stdout.isTTY) {
    throw new Error('DER is binary and is not written to a terminal; pass --out FILE.');
  }
  const ca = await existingOrCreated(c.dataDir, info);
  const data = c.format === 'der' ? ca.certDer : ca.certPem;
  if (!c.out) {
    // Flushed before returning: the command ends with process.exit, and pipes are asynchronous
    // on macOS.
    await new Promise<void>((done, fail) =>
      io.stdout.write(data, (err) => (err ? fail(err) : done())),
    );
    return;
  }
  await writeFileAtomic(c.out, data).catch((err: NodeJS.ErrnoException) => {
    throw new Error(`Could not write ${c.out}: ${err.code ?? err.message}`);
  });
  info(`Wrote the CA certificate (${c.format.toUpperCase()}) to ${c.out}`);
  info(`SHA-256 fingerprint: ${ca.fingerprint256}`);
}

/** Asks on the terminal (stderr, so stdout stays for results); only "y" or "yes" agrees. */
function confirm(io: Io, question: string): Promise<boolean> {
  const rl = createInterface({ input: io.stdin, output: io.stderr });
  return new Promise((resolveAnswer) => {
    // Ctrl-D (or Ctrl-C) closes the input: that is a no.
    rl.once('close', () => resolveAnswer(false));
    rl.question(question, (answer) => {
      resolveAnswer(/^y(es)?$/i.test(answer.trim()));
      rl.close();
    });
  });
}

/** The data directory's lock, or an error naming the running Loupe and what to do. */
async function lockFor(dir: string, why: string, then: string): Promise<Lock> {
  try {
    return await acquireLock(dir);
  } catch (err) {
    if (!(err instanceof LockedError) || err.owner?.pid === undefined) throw err;
    throw new Error(
      `Another Loupe (pid ${err.owner.pid}) is using ${dir} and ${why}; quit it, then ${then}. If no Loupe is running there, delete ${join(dir, LOCK_FILE)}.`,
    );
  }
}

const clearLearnedHint = (dir: string): string => `loupe ca clear-learned --data-dir "${dir}"`;

/**
 * After a rotation: offers to forget the hosts learned while clients rejected the old CA. Asks
 * on a terminal unless --clear-learned or --keep-learned decided; without one, keeps them and
 * says how to clear them later.
 */
async function offerToClearLearned(c: CaCommand, { io, out, info }: Output): Promise<void> {
  const learned = await activeLearnedHosts(c.dataDir);
  if (learned.length === 0 || c.learned === 'keep') return;
  let clear = c.learned === 'clear';
  if (!c.learned) {
    if (!io.stdin.isTTY) {
      info(
        `Kept the ${describeHosts(learned)}; clients rejected the old CA for them. To forget them, run: ${clearLearnedHint(c.dataDir)}`,
      );
      return;
    }
    clear = await confirm(
      io,
      `Also forget the ${describeHosts(learned)}? They were learned while clients rejected the old CA. [y/N] `,
    );
  }
  if (!clear) return;
  let removed: number;
  try {
    removed = await clearLearnedHosts(c.dataDir, info);
  } catch (err) {
    throw new Error(
      `The CA was replaced, but the auto-bypass list could not be cleared: ${(err as Error).message} Run ${clearLearnedHint(c.dataDir)} to try again.`,
    );
  }
  out(`Forgot ${removed} learned host${removed === 1 ? '' : 's'} from the auto-bypass list.`);
}

async function rotate(c: CaCommand, output: Output): Promise<void> {
  const { io, out, info } = output;
  await ensureDataDir(c.dataDir);
  // Locked before asking, so no Loupe can start on the old CA between the answer and the change.
  const lock = await lockFor(c.dataDir, 'signs with its CA', 'rotate');
  try {
    let current: CaHandle | undefined;
    let unusable = false;
    try {
      current = await loadCa(c.dataDir);
    } catch (err) {
      if (!(err instanceof CaError)) throw err;
      unusable = true;
    }
    // With nothing to replace, rotating is creating: there is nothing to confirm.
    if ((current || unusable) && !c.yes) {
      if (!io.stdin.isTTY) {
        throw new Error(
          'Replacing the CA needs confirmation and there is no terminal to ask on; pass --yes to replace it.',
        );
      }
      info(
        current
          ? `Current CA: ${current.subject.split('\n').join(', ')}, SHA-256 ${current.fingerprint256}`
          : `The CA files in ${c.dataDir} are unusable; they will be kept as a backup.`,
      );
      const yes = await confirm(
        io,
        `Replace the Loupe CA in ${c.dataDir}? The old certificate stops working for HTTPS interception; you will need to trust the new one. [y/N] `,
      );
      if (!yes) throw new Error('The CA was left as it was.');
    }
    const { ca, backup } = await rotateCa(c.dataDir);
    out(`New CA certificate: ${join(c.dataDir, CA_CERT_FILE)}`);
    out(`SHA-256 fingerprint: ${ca.fingerprint256}`);
    if (backup.cert) out(`Old certificate kept as: ${backup.cert}`);
    if (backup.key) out(`Old key kept as: ${backup.key}`);
    if (backup.cert || backup.key) {
      info(
        `Trust the new certificate where you trusted the old one, and remove the old one from those trust stores. To go back, copy the backups over ${CA_CERT_FILE} and ${CA_KEY_FILE}.`,
      );
    }
    await offerToClearLearned(c, output);
  } finally {
    await lock.release();
  }
}

async function clearLearned(c: CaCommand, { out, info }: Output): Promise<void> {
  // A folder that does not exist has learned nothing; it is not created for this.
  if (!existsSync(c.dataDir)) {
    out(`The auto-bypass list in ${c.dataDir} is empty; nothing to clear.`);
    return;
  }
  const lock = await lockFor(
    c.dataDir,
    'keeps the auto-bypass list in memory (it would write the list back)',
    'clear the list',
  );
  try {
    const removed = await clearLearnedHosts(c.dataDir, info);
    out(
      removed === 0
        ? `The auto-bypass list in ${c.dataDir} is empty; nothing to clear.`
        : `Removed ${removed} learned host${removed === 1 ? '' : 's'} from the auto-bypass list in ${c.dataDir}.`,
    );
  } finally {
    await lock.release();
  }
}

/** Runs `loupe ca ARGV`; resolves to the exit code. */
export async function caCommand(argv: string[], io: Io = process): Promise<number> {
  let command: CaCommand | undefined;
  try {
    command = parseCaArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.stderr.write(`loupe ca: ${err.message} (see loupe ca --help)\n`);
    return 2;
  }
  if (!command) {
    io.stdout.write(CA_HELP);
    return 0;
  }
  const output: Output = {
    io,
    out: (line) => writeLine(io.stdout, line),
    info: (line) => writeLine(io.stderr, line),
  };
  try {
    await { show, export: exportCa, rotate, 'clear-learned': clearLearned }[command.command](
      command,
      output,
    );
    return 0;
  } catch (err) {
    io.stderr.write(`loupe ca ${command.command}: ${(err as Error).message}\n`);
    return 1;
  }
}
