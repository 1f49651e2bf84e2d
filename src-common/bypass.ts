/**
 * SSL bypass patterns: hosts Loupe must never decrypt. Pure data and functions, shared by main
 * (matching connections) and the UI (validating what the user types).
 *
 * Grammar, each optionally followed by `:port` (IPv6 with a port is written `[::1]:443`):
 * - `host`       that host only, case-insensitive, a trailing dot ignored
 * - `*.domain`   any subdomain of domain at any depth, not domain itself
 * - `*`          everything
 * - an IPv4 or IPv6 literal, or a CIDR block of either
 */

export interface BypassEntry {
  pattern: string;
  enabled: boolean;
  note?: string;
}

export type BypassPattern =
  | { kind: 'any'; port?: number }
  | { kind: 'host'; host: string; port?: number }
  | { kind: 'suffix'; domain: string; port?: number }
  | { kind: 'cidr'; bytes: number[]; prefix: number; port?: number };

export type ParseResult = { ok: true; pattern: BypassPattern } | { ok: false; error: string };

const LABEL = /^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$/;

/** Parses an IPv4 literal into 4 bytes, or undefined. */
function parseIPv4(text: string): number[] | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const out: number[] = [];
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255 || (p.length > 1 && p.startsWith('0')))
      return undefined;
    out.push(Number(p));
  }
  return out;
}

/** Parses an IPv6 literal (with `::` and an optional embedded IPv4 tail) into 16 bytes. */
function parseIPv6(text: string): number[] | undefined {
  if (!/^[0-9a-f:.]+$/i.test(text) || !text.includes(':')) return undefined;
  let tail: number[] = [];
  let body = text;
  const lastColon = text.lastIndexOf(':');
  if (text.slice(lastColon + 1).includes('.')) {
    const v4 = parseIPv4(text.slice(lastColon + 1));
    if (!v4) return undefined;
    tail = v4;
    body = text.slice(0, lastColon + 1) + '0:0';
  }
  const halves = body.split('::');
  if (halves.length > 2) return undefined;
  const groups = (s: string): string[] => (s === '' ? [] : s.split(':'));
  const head = groups(halves[0]!);
  const rest = halves.length === 2 ? groups(halves[1]!) : [];
  const missing = 8 - head.length - rest.length;
  if (halves.length === 1 ? head.length !== 8 : missing < 1) return undefined;
  const all = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...rest];
  const bytes: number[] = [];
  for (const g of all) {
    if (!/^[0-9a-f]{1,4}$/i.test(g)) return undefined;
    const n = parseInt(g, 16);
    bytes.push(n >> 8, n & 0xff);
  }
  if (tail.length) bytes.splice(12, 4, ...tail);
  return bytes;
}

/** The bytes of an IP literal (4 or 16), or undefined for a name. */
export function ipBytes(host: string): number[] | undefined {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  return parseIPv4(bare) ?? parseIPv6(bare);
}

function splitPort(text: string): { host: string; port?: number } | { error: string } {
  let host = text;
  let portText: string | undefined;
  const bracket = /^\[([^\]]+)\](?::(.*))?$/.exec(text);
  if (bracket) {
    host = bracket[1]!;
    portText = bracket[2];
  } else if ((text.match(/:/g) ?? []).length === 1) {
    [host, portText] = text.split(':') as [string, string];
  }
  if (portText === undefined) return { host };
  if (!/^\d{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) {
    return { error: `'${text}': the port must be a number from 1 to 65535` };
  }
  return { host, port: Number(portText) };
}

/** Parses one pattern; the error says in words what is wrong. */
export function parseBypassPattern(input: string): ParseResult {
  const text = input.trim();
  const fail = (why: string): ParseResult => ({ ok: false, error: `'${input}': ${why}` });
  if (!text) return { ok: false, error: 'a pattern cannot be empty' };
  if (/\s/.test(text)) return fail('a pattern cannot contain spaces');
  if (/[^\x21-\x7e]/.test(text))
    return fail('write international names in their ASCII (xn--) form');
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text))
    return fail('write only the host, without a scheme such as https://');
  if (text.includes('/') && !/^[0-9a-f:.[\]]+\/\d+(:\d+)?$/i.test(text)) {
    return fail('a pattern is a host or an IP block, without a path');
  }

  // CIDR: ADDR/LEN, an optional :port only in the bracketed IPv6 form or after IPv4.
  const cidr = /^(\[[^\]]+\]|[^/]+)\/(\d{1,3})(?::(\d+))?$/.exec(text);
  if (cidr) {
    const bytes = ipBytes(cidr[1]!);
    if (!bytes) return fail(`'${cidr[1]}' is not an IP address`);
    const max = bytes.length * 8;
    const prefix = Number(cidr[2]);
    if (prefix > max)
      return fail(`an IPv${bytes.length === 4 ? 4 : 6} prefix length is at most ${max}`);
    const port = cidr[3] === undefined ? undefined : Number(cidr[3]);
    if (port !== undefined && (port < 1 || port > 65535))
      return fail('the port must be a number from 1 to 65535');
    return { ok: true, pattern: { kind: 'cidr', bytes, prefix, ...(port ? { port } : {}) } };
  }

  const bare = ipBytes(text);
  if (bare) return { ok: true, pattern: { kind: 'cidr', bytes: bare, prefix: bare.length * 8 } };

  const split = splitPort(text);
  if ('error' in split) return { ok: false, error: split.error };
  const port = split.port;
  const portPart = port ? { port } : {};
  if (split.host === '*.') return fail("a wildcard needs a domain after '*.'");
  const host = split.host.toLowerCase().replace(/\.$/, '');
  if (host === '*') return { ok: true, pattern: { kind: 'any', ...portPart } };
  const ip = ipBytes(host);
  if (ip)
    return { ok: true, pattern: { kind: 'cidr', bytes: ip, prefix: ip.length * 8, ...portPart } };

  let name = host;
  let suffix = false;
  if (name.startsWith('*.')) {
    suffix = true;
    name = name.slice(2);
    if (!name) return fail("a wildcard needs a domain after '*.'");
  }
  if (name.includes('*'))
    return fail("'*' may stand only alone or as the first label ('*.example.com')");
  if (name.length > 253) return fail('a host name is at most 253 characters');
  for (const label of name.split('.')) {
    if (!label) return fail('a host name cannot have an empty label (two dots in a row)');
    if (!LABEL.test(label))
      return fail(`'${label}' is not a valid host name label (letters, digits and hyphens)`);
  }
  return {
    ok: true,
    pattern: suffix
      ? { kind: 'suffix', domain: name, ...portPart }
      : { kind: 'host', host: name, ...portPart },
  };
}

function inCidr(addr: number[], block: number[], prefix: number): boolean {
  if (addr.length !== block.length) return false;
  let bits = prefix;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((addr[i]! & mask) !== (block[i]! & mask)) return false;
  }
  return true;
}

/** `::ffff:a.b.c.d` is the IPv4 address a.b.c.d as far as matching is concerned. */
function unmapV4(bytes: number[] | undefined): number[] | undefined {
  if (!bytes || bytes.length !== 16) return bytes;
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return bytes;
  return bytes[10] === 0xff && bytes[11] === 0xff ? bytes.slice(12) : bytes;
}

export interface BypassMatcher {
  matches(host: string, port: number): boolean;
}

/**
 * Compiles enabled entries into a matcher. Invalid entries are skipped (they were refused when
 * entered; a hand-edited settings file must not stop the proxy). Exact hosts sit in a map and
 * suffixes are found by walking the host's labels, so long lists stay fast.
 */
export function compileBypassList(entries: readonly BypassEntry[]): BypassMatcher {
  const exact = new Map<string, (number | undefined)[]>();
  const suffixes = new Map<string, (number | undefined)[]>();
  const blocks: { bytes: number[]; prefix: number; port?: number }[] = [];
  let anyPorts: (number | undefined)[] | undefined;
  const add = (map: Map<string, (number | undefined)[]>, key: string, port?: number): void => {
    const list = map.get(key) ?? [];
    list.push(port);
    map.set(key, list);
  };
  for (const entry of entries) {
    if (!entry.enabled) continue;
    const parsed = parseBypassPattern(entry.pattern);
    if (!parsed.ok) continue;
    const p = parsed.pattern;
    if (p.kind === 'any') (anyPorts ??= []).push(p.port);
    else if (p.kind === 'host') add(exact, p.host, p.port);
    else if (p.kind === 'suffix') add(suffixes, p.domain, p.port);
    else blocks.push(p);
  }
  const portOk = (ports: (number | undefined)[] | undefined, port: number): boolean =>
    !!ports && ports.some((p) => p === undefined || p === port);
  return {
    matches(rawHost: string, port: number): boolean {
      if (portOk(anyPorts, port)) return true;
      const ip = unmapV4(ipBytes(rawHost));
      if (ip) {
        return blocks.some(
          (b) => (b.port === undefined || b.port === port) && inCidr(ip, b.bytes, b.prefix),
        );
      }
      const host = rawHost.toLowerCase().replace(/\.$/, '');
      if (portOk(exact.get(host), port)) return true;
      for (let dot = host.indexOf('.'); dot >= 0; dot = host.indexOf('.', dot + 1)) {
        if (portOk(suffixes.get(host.slice(dot + 1)), port)) return true;
      }
      return false;
    },
  };
}
