/**
 * Command-line parsing for `loupe headless` (the contract in docs/ARCHITECTURE.md). Pure except
 * for reading `--upstream-ca` files, so every bad flag gets one clear sentence before anything
 * starts.
 */
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { parseBypassPattern } from '../../src-common/bypass';
import { parseUpstreamProxy } from '../engine/upstream';

export const HEADLESS_HELP = `Usage: loupe headless [options]

Runs Loupe's proxy without a window. Prints "proxy listening on http://HOST:PORT" once ready.
On SIGINT or SIGTERM it writes every captured flow to --har (HAR 1.2) and exits 0.
HTTPS is decrypted with the CA in DATA_DIR/ca.pem, which clients must trust (curl --cacert,
NODE_EXTRA_CA_CERTS, the browser's certificate settings); hosts on the bypass list are not.

Options:
  --port N              Port to listen on (default: the one saved in Preferences, 8888 at
                        first; 0 picks a free port)
  --host ADDR           Address to listen on (default 127.0.0.1; anything else exposes the
                        proxy to other machines)
  --data-dir DIR        Where the CA, settings and spilled bodies live (default: the per-user
                        app-data folder). One Loupe process per directory.
  --har FILE            Write captured flows to FILE as HAR 1.2 on exit
  --body-memory MB      Memory in MiB that captured bodies and WebSocket messages may take
                        before the oldest spill to DATA_DIR/bodies (default 256; 0 spills
                        every body as it arrives)
  --bypass PATTERN      Never decrypt hosts matching PATTERN (host, *.domain, *, IP, CIDR,
                        each with an optional :port). Repeatable. Added to the saved list for
                        this run only.
  --upstream-proxy URL  Send traffic through another proxy (http://[user:pass@]HOST:PORT or
                        https://…)
  --no-proxy PATTERN    Hosts that skip the upstream proxy (same patterns as --bypass).
                        Repeatable.
  --upstream-ca FILE    Also trust the CA certificates in FILE (PEM) for upstream TLS.
                        Repeatable.
  --resolve HOST=ADDR   Connect HOST to ADDR instead of resolving it. Repeatable.
  --ui-port N           Serve the UI on http://127.0.0.1:N (0 picks a free port); prints
                        "ui listening on http://127.0.0.1:N/?token=…" (the token is required)
  --open                Open the UI in the default browser (with --ui-port)
  -h, --help            Show this help
`;

export interface HeadlessConfig {
  host: string;
  /** Absent: the port saved in the settings (`proxyPort`). */
  port?: number;
  dataDir?: string;
  harPath?: string;
  /** Bytes of captured bodies kept in memory before they spill; absent: the store's default. */
  bodyMemoryBudget?: number;
  bypass: string[];
  upstreamProxy?: string;
  noProxy: string[];
  upstreamCa: string[];
  upstreamCaFiles: string[];
  resolve: [string, string][];
  uiPort?: number;
  /** Open the UI in the default browser once it listens. */
  openBrowser: boolean;
  help: boolean;
}

/** A usage error: printed as one line, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

function parsePort(flag: string, text: string): number {
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65535) {
    throw new UsageError(`${flag} takes a port number from 0 to 65535, not '${text}'`);
  }
  return Number(text);
}

/** The largest --body-memory: 1 TiB, far past any machine's memory yet a safe integer of bytes. */
const MAX_BODY_MEMORY_MIB = 1024 * 1024;

function parseBodyMemory(text: string): number {
  if (!/^\d{1,7}$/.test(text) || Number(text) > MAX_BODY_MEMORY_MIB) {
    throw new UsageError(
      `--body-memory takes a whole number of MiB from 0 to ${MAX_BODY_MEMORY_MIB}, not '${text}'`,
    );
  }
  return Number(text) * 1024 * 1024;
}

const HOST_NAME = /^(?=.{1,253}$)[a-z0-9_]([a-z0-9_-]{0,62})(\.[a-z0-9_]([a-z0-9_-]{0,62}))*\.?$/i;

function parseResolve(text: string): [string, string] {
  const eq = text.indexOf('=');
  const name = eq > 0 ? text.slice(0, eq).trim() : '';
  const addr =
    eq > 0
      ? text
          .slice(eq + 1)
          .trim()
          .replace(/^\[|\]$/g, '')
      : '';
  if (!name || !addr) throw new UsageError(`--resolve takes HOST=ADDR, not '${text}'`);
  if (!HOST_NAME.test(name)) throw new UsageError(`--resolve: '${name}' is not a host name`);
  if (!net.isIP(addr) && !HOST_NAME.test(addr)) {
    throw new UsageError(`--resolve: '${addr}' is neither an IP address nor a host name`);
  }
  return [name.toLowerCase(), addr];
}

function readCa(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(
      `--upstream-ca: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? err})`,
    );
  }
  if (!text.includes('-----BEGIN CERTIFICATE-----')) {
    throw new UsageError(
      `--upstream-ca: ${file} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`,
    );
  }
  return text;
}

/** Parses `loupe headless` arguments; throws UsageError with one sentence on bad input. */
export function parseHeadlessArgs(argv: string[]): HeadlessConfig {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        'data-dir': { type: 'string' },
        har: { type: 'string' },
        'body-memory': { type: 'string' },
        bypass: { type: 'string', multiple: true },
        'upstream-proxy': { type: 'string' },
        'no-proxy': { type: 'string', multiple: true },
        'upstream-ca': { type: 'string', multiple: true },
        resolve: { type: 'string', multiple: true },
        'ui-port': { type: 'string' },
        open: { type: 'boolean' },
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
  const host = v.host ?? '127.0.0.1';
  if (!net.isIP(host) && host !== 'localhost') {
    throw new UsageError(
      `--host takes an IP address of this machine (e.g. 127.0.0.1 or ::1), not '${host}'`,
    );
  }
  for (const [flag, list] of [
    ['--bypass', v.bypass],
    ['--no-proxy', v['no-proxy']],
  ] as const) {
    for (const pattern of list ?? []) {
      const result = parseBypassPattern(pattern);
      if (!result.ok) throw new UsageError(`${flag}: ${result.error}`);
    }
  }
  if (v['upstream-proxy'] !== undefined) {
    try {
      parseUpstreamProxy(v['upstream-proxy']);
    } catch (err) {
      throw new UsageError(`--upstream-proxy: ${(err as Error).message}`);
    }
  }
  if (v.open && v['ui-port'] === undefined) throw new UsageError('--open needs --ui-port');
  const caFiles = v['upstream-ca'] ?? [];
  return {
    host,
    ...(v.port !== undefined ? { port: parsePort('--port', v.port) } : {}),
    ...(v['data-dir'] !== undefined ? { dataDir: v['data-dir'] } : {}),
    ...(v.har !== undefined ? { harPath: v.har } : {}),
    ...(v['body-memory'] !== undefined
      ? { bodyMemoryBudget: parseBodyMemory(v['body-memory']) }
      : {}),
    bypass: v.bypass ?? [],
    ...(v['upstream-proxy'] !== undefined ? { upstreamProxy: v['upstream-proxy'] } : {}),
    noProxy: v['no-proxy'] ?? [],
    upstreamCa: caFiles.map(readCa),
    upstreamCaFiles: caFiles,
    resolve: (v.resolve ?? []).map(parseResolve),
    ...(v['ui-port'] !== undefined ? { uiPort: parsePort('--ui-port', v['ui-port']) } : {}),
    openBrowser: v.open ?? false,
    help: v.help ?? false,
  };
}
