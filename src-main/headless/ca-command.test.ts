/**
 * `loupe ca show|export|rotate|clear-learned` and `loupe headless`'s refusal of an unusable pair,
 * in temporary data directories. Commands run in this process (runMain) where the arguments and
 * the output are the subject, and as the real `loupe` command where the process matters: a lock
 * held by another process, a terminal to ask on, binary stdout, `loupe headless` itself.
 */
import { execFile, spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LOUPE_BIN, runLoupe, startHeadless, type HeadlessProcess } from '../test-support/headless';
import { runMain } from '../test-support/run-main';
import { needTool } from '../test-support/tools';

const run = promisify(execFile);
let dir: string;
let data: string;
const running: HeadlessProcess[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'loupe-ca-cmd-'));
  data = join(dir, 'data');
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((p) => p.stop('SIGKILL')));
  rmSync(dir, { recursive: true, force: true });
});

/** Every file in `d` with its bytes, to show a refusal touched nothing. */
const snapshot = (d: string): Record<string, Buffer> =>
  Object.fromEntries(readdirSync(d).map((f) => [f, readFileSync(join(d, f))]));
const certIn = (d: string): X509Certificate => new X509Certificate(readFileSync(join(d, 'ca.pem')));

/** A data directory with a CA, made the way a user's first run makes it. */
async function withCa(): Promise<X509Certificate> {
  const made = await runMain(['ca', 'export', '--data-dir', data]);
  expect(made.code).toBe(0);
  return certIn(data);
}

/** The real command's stdout as bytes (runLoupe and runMain decode text, mangling DER). */
async function stdoutBytes(args: string[]): Promise<Buffer> {
  const { stdout } = await run(process.execPath, [LOUPE_BIN, ...args], { encoding: 'buffer' });
  return stdout;
}

/** A settings.json holding `hosts` as learned auto-bypass entries (one expired: `old.test`). */
function withLearned(hosts: string[]): void {
  const now = Date.now();
  const entry = (host: string, expiresAt: number) => ({
    host,
    reason: "The client rejected Loupe's certificate.",
    learnedAt: now - 1000,
    expiresAt,
  });
  writeFileSync(
    join(data, 'settings.json'),
    JSON.stringify({
      version: 1,
      autoBypass: [...hosts.map((h) => entry(h, now + 3600_000)), entry('old.test', now - 1)],
    }),
  );
}
const learnedIn = (d: string): string[] =>
  (
    JSON.parse(readFileSync(join(d, 'settings.json'), 'utf8')) as {
      autoBypass: { host: string }[];
    }
  ).autoBypass.map((e) => e.host);

/** Runs `loupe ARGS` on a terminal (util-linux script), answering each `[y/N]` in turn. */
function onTerminal(
  args: string,
  answers: string[],
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const command = `'${process.execPath}' '${LOUPE_BIN}' ${args}`;
    const child = spawn('script', ['-qec', command, '/dev/null'], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    let output = '';
    let asked = 0;
    child.stdout.on('data', (d: Buffer) => {
      output += d;
      // Each answer only after its question, so one prompt never reads the next one's line.
      const prompts = output.split('[y/N]').length - 1;
      while (asked < prompts && child.stdin.writable) {
        const answer = answers[asked++] ?? '';
        if (asked === answers.length) child.stdin.end(`${answer}\n`);
        else child.stdin.write(`${answer}\n`);
      }
    });
    child.on('exit', (code) => resolve({ code, output }));
  });
}

/** Puts the pair in each unusable state `loupe headless` and `loupe ca export` must refuse. */
const spoilers: [string, (d: string, other: string) => void, RegExp][] = [
  [
    'a corrupt certificate',
    (d) => writeFileSync(join(d, 'ca.pem'), 'not a certificate\n'),
    /ca\.pem is not a readable certificate/,
  ],
  [
    'a key from another CA',
    (d, other) => writeFileSync(join(d, 'ca-key.pem'), readFileSync(join(other, 'ca-key.pem'))),
    /does not belong to the certificate/,
  ],
  ['a missing key', (d) => rmSync(join(d, 'ca-key.pem')), /ca-key\.pem is missing/],
];

describe('loupe ca rotate', () => {
  it('replaces the CA and keeps the old pair byte for byte, the key readable only by the user', async () => {
    const old = await withCa();
    const before = snapshot(data);
    const result = await runMain(['ca', 'rotate', '--data-dir', data, '--yes']);
    expect(result.code).toBe(0);

    const now = certIn(data);
    expect(now.fingerprint256).not.toBe(old.fingerprint256);
    expect(now.ca).toBe(true);
    expect(result.stdout).toContain(`New CA certificate: ${join(data, 'ca.pem')}`);
    expect(result.stdout).toContain(`SHA-256 fingerprint: ${now.fingerprint256}`);

    const files = readdirSync(data).sort();
    const stamp = /^ca\.pem\.old-(\d{8}T\d{6}\.\d{3}Z)$/.exec(
      files.find((f) => f.startsWith('ca.pem.old-')) ?? '',
    )?.[1];
    expect(stamp).toBeDefined();
    expect(files).toEqual([
      'ca-key.pem',
      `ca-key.pem.old-${stamp}`,
      'ca.pem',
      `ca.pem.old-${stamp}`,
    ]);
    expect(readFileSync(join(data, `ca.pem.old-${stamp}`))).toEqual(before['ca.pem']);
    expect(readFileSync(join(data, `ca-key.pem.old-${stamp}`))).toEqual(before['ca-key.pem']);
    expect(result.stdout).toContain(join(data, `ca-key.pem.old-${stamp}`));
    if (process.platform !== 'win32') {
      expect(statSync(join(data, `ca-key.pem.old-${stamp}`)).mode & 0o777).toBe(0o600);
      expect(statSync(join(data, 'ca-key.pem')).mode & 0o777).toBe(0o600);
    }

    // The next run signs with the new CA.
    const p = await startHeadless(['--port', '0', '--data-dir', data]);
    running.push(p);
    const shown = await runMain(['ca', 'show', '--data-dir', data]);
    expect(shown.stdout).toContain(now.fingerprint256);
  });

  it('refuses without --yes when there is no terminal to ask on, and changes nothing', async () => {
    await withCa();
    const before = snapshot(data);
    const result = await runMain(['ca', 'rotate', '--data-dir', data]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/no terminal to ask on; pass --yes/);
    expect(snapshot(data)).toEqual(before);
  });

  it('refuses while a Loupe runs on the directory, and changes nothing', async () => {
    await withCa();
    const p = await startHeadless(['--port', '0', '--data-dir', data]);
    running.push(p);
    const before = snapshot(data);
    const result = await runLoupe(['ca', 'rotate', '--data-dir', data, '--yes']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`Another Loupe (pid ${p.child.pid}) is using ${data}`);
    expect(result.stderr).toContain('quit it, then rotate');
    expect(snapshot(data)).toEqual(before);
  });

  it.each(spoilers)('recovers from %s, backing up what was there', async (_, spoil) => {
    const other = join(dir, 'other');
    await withCa();
    await runMain(['ca', 'export', '--data-dir', other]);
    spoil(data, other);
    const before = snapshot(data);
    const result = await runMain(['ca', 'rotate', '--data-dir', data, '--yes']);
    expect(result.code).toBe(0);
    const after = snapshot(data);
    for (const [name, bytes] of Object.entries(before)) {
      const backup = Object.keys(after).find((f) => f.startsWith(`${name}.old-`));
      expect(backup).toBeDefined();
      expect(after[backup!]).toEqual(bytes);
    }
    // Only what existed is backed up.
    expect(Object.keys(after).filter((f) => f.includes('.old-'))).toHaveLength(
      Object.keys(before).length,
    );
    const p = await startHeadless(['--port', '0', '--data-dir', data]);
    running.push(p);
  });

  it('asks on a terminal: anything but yes leaves the CA, yes replaces it', async (ctx) => {
    if (process.platform !== 'linux') ctx.skip('drives a terminal through util-linux script');
    needTool(ctx, 'script');
    const old = await withCa();
    const before = snapshot(data);
    const rotate = `ca rotate --data-dir '${data}'`;

    const declined = await onTerminal(rotate, ['n']);
    expect(declined.output).toContain(`Replace the Loupe CA in ${data}?`);
    expect(declined.output).toContain(old.fingerprint256);
    expect(declined.output).toContain('The CA was left as it was.');
    expect(declined.code).toBe(1);
    expect(snapshot(data)).toEqual(before);

    const accepted = await onTerminal(rotate, ['y']);
    expect(accepted.code).toBe(0);
    expect(certIn(data).fingerprint256).not.toBe(old.fingerprint256);
    expect(accepted.output).toContain(certIn(data).fingerprint256);
  });
});

describe('loupe ca rotate and the hosts learned under the old CA', () => {
  it('--clear-learned empties the auto-bypass list without asking', async () => {
    await withCa();
    withLearned(['api.test', 'pinned.test']);
    const result = await runMain(['ca', 'rotate', '--data-dir', data, '--yes', '--clear-learned']);
    expect(result.code, result.stderr).toBe(0);
    expect(learnedIn(data)).toEqual([]);
    // Every entry went, the expired one too.
    expect(result.stdout).toContain('Forgot 3 learned hosts from the auto-bypass list.');
  });

  it('--keep-learned keeps the list and says nothing about it', async () => {
    await withCa();
    withLearned(['api.test']);
    const before = readFileSync(join(data, 'settings.json'));
    const result = await runMain(['ca', 'rotate', '--data-dir', data, '--yes', '--keep-learned']);
    expect(result.code, result.stderr).toBe(0);
    expect(readFileSync(join(data, 'settings.json'))).toEqual(before);
    expect(`${result.stdout}${result.stderr}`).not.toContain('clear-learned');
  });

  it('without a terminal or a flag keeps the list and prints how to clear it', async () => {
    await withCa();
    withLearned(['api.test', 'b.test', 'c.test', 'd.test', 'e.test']);
    const before = readFileSync(join(data, 'settings.json'));
    const result = await runMain(['ca', 'rotate', '--data-dir', data, '--yes']);
    expect(result.code, result.stderr).toBe(0);
    expect(readFileSync(join(data, 'settings.json'))).toEqual(before);
    const hint = result.stderr.split('\n').filter((l) => l.includes('auto-bypass'));
    expect(hint).toHaveLength(1);
    // Expired entries are not counted: they bypass nothing.
    expect(hint[0]).toContain(
      'Kept the 5 hosts learned into the auto-bypass list (api.test, b.test, c.test and 2 more)',
    );
    expect(hint[0]).toContain(`loupe ca clear-learned --data-dir "${data}"`);
  });

  it('offers nothing when no host is learned, or only expired ones', async () => {
    await withCa();
    withLearned([]);
    const result = await runMain(['ca', 'rotate', '--data-dir', data, '--yes']);
    expect(result.code, result.stderr).toBe(0);
    expect(`${result.stdout}${result.stderr}`).not.toMatch(/auto-bypass|learned/);
    expect(learnedIn(data)).toEqual(['old.test']);
  });

  it('asks on a terminal: anything but yes keeps the list, yes clears it', async (ctx) => {
    if (process.platform !== 'linux') ctx.skip('drives a terminal through util-linux script');
    needTool(ctx, 'script');
    const old = await withCa();
    withLearned(['api.test']);
    const rotate = `ca rotate --data-dir '${data}'`;

    const kept = await onTerminal(rotate, ['y', '']);
    expect(kept.code).toBe(0);
    expect(certIn(data).fingerprint256).not.toBe(old.fingerprint256);
    expect(kept.output).toContain(
      'Also forget the 1 host learned into the auto-bypass list (api.test)? They were learned while clients rejected the old CA. [y/N]',
    );
    expect(learnedIn(data)).toEqual(['api.test', 'old.test']);

    // --yes answers the replacement question only; the list is still asked about.
    const cleared = await onTerminal(`${rotate} --yes`, ['y']);
    expect(cleared.code).toBe(0);
    expect(cleared.output).toContain('Also forget the 1 host');
    expect(cleared.output).toContain('Forgot 2 learned hosts');
    expect(learnedIn(data)).toEqual([]);
  });
});

describe('loupe ca clear-learned', () => {
  it('empties the list and says how many were removed', async () => {
    await withCa();
    withLearned(['api.test']);
    const cert = certIn(data);
    const result = await runMain(['ca', 'clear-learned', '--data-dir', data]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(`Removed 2 learned hosts from the auto-bypass list in ${data}`);
    expect(learnedIn(data)).toEqual([]);
    // The CA is not touched, and the lock is gone.
    expect(certIn(data).fingerprint256).toBe(cert.fingerprint256);
    expect(readdirSync(data).sort()).toEqual(['ca-key.pem', 'ca.pem', 'settings.json']);

    const again = await runMain(['ca', 'clear-learned', '--data-dir', data]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('is empty; nothing to clear');
  });

  it('creates nothing in a directory that does not exist', async () => {
    const result = await runMain(['ca', 'clear-learned', '--data-dir', data]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('nothing to clear');
    expect(existsSync(data)).toBe(false);
  });

  it('refuses while a Loupe runs on the directory, and changes nothing', async () => {
    await withCa();
    withLearned(['api.test']);
    const p = await startHeadless(['--port', '0', '--data-dir', data]);
    running.push(p);
    const before = snapshot(data);
    const result = await runMain(['ca', 'clear-learned', '--data-dir', data]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`Another Loupe (pid ${p.child.pid}) is using ${data}`);
    expect(result.stderr).toContain('quit it, then clear the list');
    expect(snapshot(data)).toEqual(before);
  });
});

describe('loupe ca export', () => {
  it('writes the certificate as PEM to stdout and to --out, never the key', async () => {
    await withCa();
    const pem = readFileSync(join(data, 'ca.pem'), 'utf8');
    const result = await runMain(['ca', 'export', '--data-dir', data]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(pem);
    expect(result.stderr).toBe('');

    const file = join(dir, 'exported.pem');
    const toFile = await runMain(['ca', 'export', '--data-dir', data, '--out', file]);
    expect(toFile.code).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe(pem);
    expect(toFile.stderr).toContain(certIn(data).fingerprint256);
    expect(`${result.stdout}${toFile.stdout}${toFile.stderr}`).not.toMatch(/PRIVATE KEY/);
  });

  it('writes DER that openssl reads with the same fingerprint', async (ctx) => {
    needTool(ctx, 'openssl');
    const cert = await withCa();
    const file = join(dir, 'ca.der');
    const result = await runMain([
      'ca',
      'export',
      '--data-dir',
      data,
      '--format',
      'der',
      '--out',
      file,
    ]);
    expect(result.code).toBe(0);
    expect(readFileSync(file)).toEqual(cert.raw);
    const { stdout } = await run('openssl', [
      'x509',
      '-inform',
      'der',
      '-in',
      file,
      '-noout',
      '-fingerprint',
      '-sha256',
    ]);
    expect(stdout.trim()).toMatch(new RegExp(`^sha256 Fingerprint=${cert.fingerprint256}$`, 'i'));
    // Piped (not a terminal), stdout takes DER too.
    expect(await stdoutBytes(['ca', 'export', '--data-dir', data, '--format', 'der'])).toEqual(
      cert.raw,
    );
  });

  it('creates the CA when there is none yet, and says so', async () => {
    const result = await runMain(['ca', 'export', '--data-dir', data]);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain(`Created a new CA in ${data}`);
    expect(result.stdout).toBe(readFileSync(join(data, 'ca.pem'), 'utf8'));
    expect(readdirSync(data).sort()).toEqual(['ca-key.pem', 'ca.pem']);
    const again = await runMain(['ca', 'export', '--data-dir', data]);
    expect(again.stdout).toBe(result.stdout);
    expect(again.stderr).toBe('');
  });

  it.each(spoilers)(
    'refuses %s with the way out, and changes nothing',
    async (_, spoil, message) => {
      const other = join(dir, 'other');
      await withCa();
      await runMain(['ca', 'export', '--data-dir', other]);
      spoil(data, other);
      const before = snapshot(data);
      const file = join(dir, 'out.pem');
      const result = await runMain(['ca', 'export', '--data-dir', data, '--out', file]);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(message);
      expect(result.stderr).toContain(`loupe ca rotate --data-dir "${data}"`);
      expect(result.stdout).toBe('');
      expect(existsSync(file)).toBe(false);
      expect(snapshot(data)).toEqual(before);
    },
  );
});

describe('loupe ca show', () => {
  it('prints the path, subject, fingerprint and validity', async () => {
    const cert = await withCa();
    for (const command of ['show', 'info']) {
      const result = await runMain(['ca', command, '--data-dir', data]);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain(join(data, 'ca.pem'));
      expect(result.stdout).toContain(cert.subject.split('\n').join(', '));
      expect(result.stdout).toContain(`SHA-256:     ${cert.fingerprint256}`);
      expect(result.stdout).toContain(`Valid from:  ${new Date(cert.validFrom).toISOString()}`);
      expect(result.stdout).toContain(`Valid until: ${new Date(cert.validTo).toISOString()}`);
    }
  });

  it('creates nothing when there is no CA yet', async () => {
    const result = await runMain(['ca', 'show', '--data-dir', data]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`There is no CA in ${data} yet`);
    expect(existsSync(data)).toBe(false);
  });
});

describe('loupe ca usage', () => {
  it('is listed in loupe --help, and loupe ca --help lists its commands and flags', async () => {
    expect((await runMain(['--help'])).stdout).toMatch(/^ {2}ca +\S/m);
    const help = await runMain(['ca', '--help']);
    expect(help.code).toBe(0);
    for (const word of [
      'show',
      'export',
      'rotate',
      'clear-learned',
      '--data-dir',
      '--format',
      '--out',
      '--yes',
      '--clear-learned',
      '--keep-learned',
    ]) {
      expect(help.stdout).toContain(word);
    }
  });

  it.each([
    [['rotate', '--frobnicate'], /frobnicate/],
    [['export', '--format', 'p12'], /--format takes pem or der, not 'p12'/],
    [['rotate', '--out', 'x.pem'], /--out applies to loupe ca export/],
    [['clear-learned', '--keep-learned'], /--keep-learned applies to loupe ca rotate/],
    [['rotate', '--clear-learned', '--keep-learned'], /contradict each other/],
    [['show', 'extra'], /unexpected argument 'extra'/],
    [['renew'], /unknown command 'renew'/],
  ])('refuses %j with one line and exit 2', async (args, message) => {
    const result = await runMain(['ca', ...args, '--data-dir', data]);
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(message);
    expect(existsSync(data)).toBe(false);
  });
});

describe('loupe headless on an unusable CA', () => {
  it.each(spoilers)(
    'exits 1 on %s and leaves both files as they were',
    async (_, spoil, message) => {
      const other = join(dir, 'other');
      await withCa();
      await runMain(['ca', 'export', '--data-dir', other]);
      spoil(data, other);
      const before = snapshot(data);
      const result = await runLoupe(['headless', '--port', '0', '--data-dir', data]);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(message);
      expect(result.stderr).toContain('loupe ca rotate');
      expect(result.stdout).not.toContain('proxy listening');
      expect(snapshot(data)).toEqual(before);
    },
  );
});
