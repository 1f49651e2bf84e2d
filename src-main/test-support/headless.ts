/**
 * Runs the real `loupe` command (bin/loupe.js) as a child process, as scripts and CI use it
 * (run-main.ts runs its main() in this process instead).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const LOUPE_BIN = fileURLToPath(new URL('../../bin/loupe.js', import.meta.url));

export interface HeadlessProcess {
  child: ChildProcess;
  /** `http://HOST:PORT` from the `proxy listening on` line. */
  url: string;
  /** The `ui listening on` URL (with its token), when the UI was asked for. */
  uiUrl?: string;
  port: number;
  stdout(): string;
  stderr(): string;
  /** Sends a signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Collected output and exit code of a command that runs to completion. */
export interface LoupeResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `loupe ARGS` as a child process to completion. */
export function runLoupe(
  args: string[],
  timeoutMs = 20_000,
  env: NodeJS.ProcessEnv = {},
): Promise<LoupeResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [LOUPE_BIN, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, LOUPE_NO_BROWSER: '1', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`loupe ${args.join(' ')} did not finish in ${timeoutMs} ms\n${stderr}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * Starts `loupe headless ARGS` (or another command) and resolves once it prints its listening
 * line, and its `ui listening on` line too when ARGS ask for the UI.
 */
export function startHeadless(
  args: string[],
  timeoutMs = 20_000,
  opts: { command?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<HeadlessProcess> {
  const wantsUi = args.includes('--ui-port') || opts.command === 'start';
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [LOUPE_BIN, opts.command ?? 'headless', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, LOUPE_NO_BROWSER: '1', ...opts.env },
    });
    let stdout = '';
    let stderr = '';
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `loupe headless did not start in ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`,
        ),
      );
    }, timeoutMs);
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.stdout.on('data', (d: Buffer) => {
      stdout += d;
      const m = /^proxy listening on (http:\/\/(.+):(\d+))$/m.exec(stdout);
      const ui = /^ui listening on (http:\/\/\S+)$/m.exec(stdout);
      if (m && (ui || !wantsUi)) {
        clearTimeout(timer);
        resolve({
          child,
          url: m[1]!,
          ...(ui ? { uiUrl: ui[1]! } : {}),
          port: Number(m[3]),
          stdout: () => stdout,
          stderr: () => stderr,
          stop: (signal = 'SIGINT') => {
            if (child.exitCode === null) child.kill(signal);
            return exited;
          },
        });
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(
        new Error(
          `loupe headless exited with ${code} before listening\nstdout: ${stdout}\nstderr: ${stderr}`,
        ),
      );
    });
  });
}
