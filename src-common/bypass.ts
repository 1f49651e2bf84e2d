/**
 * SSL bypass patterns: hosts Loupe must never decrypt. Pure data and functions, shared by main
 * (matching connections) and the UI (validating what the user types).
 *
 * Grammar, each optionally followed by `:port` (IPv6 with a port is written `[::1]:443`):
 * - `host`       that host only, case-insensitive, a trailing dot ignored
 * - `*.domain`   any subdomain of domain at any depth, not domain itself
 * - `*`          everything
 * - an IPv4 or IPv6 literal, or a CIDR block of either (`10.0.0.0/8`, `2001:db8::/32`)
 *
 * Host names are ASCII only: an international name is written in its punycode form (`xn--…`),
 * which is what clients send in CONNECT and SNI. As in Chromium's bypass rules, IPv4 and IPv6
 * meet in one address space: `10.0.0.0/8` also matches `::ffff:10.1.2.3`, and the other way.
 */

export interface BypassEntry {
  pattern: string;
  enabled: boolean;
  note?: string;
}

/** A parsed pattern. `bytes` of a `cidr` are 4 (IPv4) or 16 (IPv6) numbers; no port = any. */
export type BypassPattern =
  | { kind: 'any'; port?: number }
  | { kind: 'host'; host: string; port?: number }
  | { kind: 'suffix'; domain: string; port?: number }
  | { kind: 'cidr'; bytes: number[]; prefix: number; port?: number };

export type ParseResult = { ok: true; pattern: BypassPattern } | { ok: false; error: string };

/** A label of a host name. Underscores occur in real DNS names, so they are allowed. */
const LABEL = /^[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?$/;

/** Strict dotted quad: no leading zeros, which some parsers read as octal. */
function parseIPv4(text: string): number[] | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const out: number[] = [];
  for (const p of parts) {
    if (!/^(?:0|[1-9]\d{0,2})$/.test(p) || Number(p) > 255) return undefined;
    out.push(Number(p));
  }
  return out;
}

/** An IPv6 literal (with `::` and an optional dotted IPv4 tail) as 16 bytes. */
function parseIPv6(text: string): number[] | undefined {
  if (!/^[0-9a-f:.]+$/i.test(text)) return undefined;
  let body = text;
  let tail: number[] | undefined;
  const lastColon = text.lastIndexOf(':');
  if (lastColon < 0) return undefined;
  if (text.includes('.', lastColon)) {
    tail = parseIPv4(text.slice(lastColon + 1));
    if (!tail) return undefined;
    body = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const halves = body.split('::');
  if (halves.length > 2) return undefined;
  const groups = (s: string): string[] => (s === '' ? [] : s.split(':'));
  const head = groups(halves[0]!);
  const rest = halves.length === 2 ? groups(halves[1]!) : [];
  const missing = 8 - head.length - rest.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const bytes: number[] = [];
  for (const g of [
    ...head,
    ...Array<string>(halves.length === 2 ? missing : 0).fill('0'),
    ...rest,
  ]) {
    if (!/^[0-9a-f]{1,4}$/i.test(g)) return undefined;
    const n = parseInt(g, 16);
    bytes.push(n >> 8, n & 0xff);
  }
  if (tail) bytes.splice(12, 4, ...tail);
  return bytes;
}

/** The one address space matching uses: IPv4 as `::ffff:a.b.c.d`. */
function toV6(bytes: number[], prefix: number): { bytes: number[]; prefix: number } {
  if (bytes.length === 16) return { bytes, prefix };
  return { bytes: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...bytes], prefix: prefix + 96 };
}

interface Parts {
  host: string;
  bracketed: boolean;
  prefix?: string;
  port?: string;
}

/** Splits `host[/prefix][:port]` and `[v6][/prefix][:port]`; a bare IPv6 literal has no port. */
function splitParts(text: string): Parts | { error: string } {
  const bracket = /^\[([^\]]*)\](.*)$/.exec(text);
  if (bracket) {
    const rest = /^(?:\/([^:]*))?(?::(.*))?$/.exec(bracket[2]!);
    if (!rest) return { error: "after ']' only a /prefix length and a :port may follow" };
    return { host: bracket[1]!, bracketed: true, prefix: rest[1], port: rest[2] };
  }
  const slash = text.indexOf('/');
  if (slash >= 0) {
    const rest = /^(\d*)(?::(.*))?$/.exec(text.slice(slash + 1));
    if (!rest) return { error: 'a pattern is a host or an IP block, without a path' };
    return { host: text.slice(0, slash), bracketed: false, prefix: rest[1], port: rest[2] };
  }
  const colons = text.split(':').length - 1;
  if (colons !== 1) return { host: text, bracketed: false };
  const [host, port] = text.split(':') as [string, string];
  return { host, bracketed: false, port };
}

/** Validates a host name, `*` or `*.domain` (already lower-case). */
function parseName(text: string): BypassPattern | { error: string } {
  if (text === '*') return { kind: 'any' };
  const suffix = text.startsWith('*.');
  const name = (suffix ? text.slice(2) : text).replace(/\.$/, '');
  if (!name) {
    return { error: suffix ? "a wildcard needs a domain after '*.'" : 'a host name is missing' };
  }
  if (name.startsWith('.')) {
    const domain = name.replace(/^\.+/, '');
    return { error: `a host name cannot start with '.'; to match subdomains write '*.${domain}'` };
  }
  if (name.includes('*')) {
    return { error: "'*' may stand only alone or as the first label ('*.example.com')" };
  }
  if (name.length > 253) return { error: 'a host name is at most 253 characters' };
  const labels = name.split('.');
  for (const label of labels) {
    if (!label) return { error: 'a host name cannot have an empty label (two dots in a row)' };
    if (label.length > 63) return { error: `the label '${label}' is longer than 63 characters` };
    if (!LABEL.test(label)) {
      return {
        error: `'${label}' is not a valid host name label (letters, digits, '-' and '_', no '-' at either end)`,
      };
    }
  }
  // URL parsers read a name ending in a number as an IPv4 address (WHATWG "ends in a number").
  if (/^\d+$/.test(labels[labels.length - 1]!)) {
    return {
      error: `'${name}' ends in a number, so it is read as an IPv4 address, and it is not a valid one (four numbers from 0 to 255, without leading zeros)`,
    };
  }
  return suffix ? { kind: 'suffix', domain: name } : { kind: 'host', host: name };
}

/** Parses one pattern; the error says in words what is wrong. */
export function parseBypassPattern(input: string): ParseResult {
  const text = input.trim();
  if (!text) return { ok: false, error: 'a pattern cannot be empty' };
  const fail = (why: string): ParseResult => ({ ok: false, error: `'${input}': ${why}` });
  if (/\s/.test(text)) return fail('a host name cannot contain spaces');
  if (/[^\x21-\x7e]/.test(text)) {
    return fail('only ASCII is accepted; write an international name in its punycode form (xn--…)');
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
    return fail('write only the host, without a scheme such as https://');
  }
  const parts = splitParts(text);
  if ('error' in parts) return fail(parts.error);

  let port: number | undefined;
  if (parts.port !== undefined) {
    port = /^\d{1,5}$/.test(parts.port) ? Number(parts.port) : 0;
    if (port < 1 || port > 65535) return fail('the port must be a number from 1 to 65535');
  }
  const withPort = (p: BypassPattern): ParseResult => ({
    ok: true,
    pattern: port === undefined ? p : { ...p, port },
  });

  const host = parts.host.toLowerCase();
  const ip = parts.bracketed || host.includes(':') ? parseIPv6(host) : parseIPv4(host);
  if (!ip && parts.bracketed) {
    return fail(`'${parts.host}' is not an IPv6 address, and brackets are only for IPv6`);
  }
  if (!ip && host.includes(':')) {
    return fail(
      `'${parts.host}' is not a valid IPv6 address (with a port, write it as [2001:db8::1]:443)`,
    );
  }
  if (parts.prefix !== undefined) {
    if (!ip) return fail(`'${parts.host}' is not an IP address, so it cannot have a /prefix`);
    const max = ip.length * 8;
    if (!/^\d{1,3}$/.test(parts.prefix)) {
      return fail(`the prefix length after '/' must be a number from 0 to ${max}`);
    }
    const prefix = Number(parts.prefix);
    if (prefix > max) return fail(`an IPv${max === 32 ? 4 : 6} prefix length is at most ${max}`);
    return withPort({ kind: 'cidr', bytes: ip, prefix });
  }
  if (ip) return withPort({ kind: 'cidr', bytes: ip, prefix: ip.length * 8 });
  const name = parseName(host);
  return 'error' in name ? fail(name.error) : withPort(name);
}

/** The ports a pattern applies to: all of them, or a set. */
class Ports {
  private all = false;
  private readonly some = new Set<number>();
  add(port: number | undefined): void {
    if (port === undefined) this.all = true;
    else this.some.add(port);
  }
  has(port: number): boolean {
    return this.all || this.some.has(port);
  }
}

function inBlock(addr: number[], block: number[], prefix: number): boolean {
  for (let i = 0, bits = prefix; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((addr[i]! & mask) !== (block[i]! & mask)) return false;
  }
  return true;
}

export interface BypassMatcher {
  /** True when a connection to host:port must not be decrypted. `host` may be bracketed. */
  matches(host: string, port: number): boolean;
}

/**
 * Compiles the enabled entries into a matcher. Invalid entries are skipped: they were refused
 * when entered, and a hand-edited settings file must not stop the proxy. Exact hosts sit in a
 * map and suffixes are found by walking the host's labels, so lists of hundreds stay cheap; IP
 * blocks are few in practice and checked in turn.
 */
export function compileBypassList(entries: readonly BypassEntry[]): BypassMatcher {
  const any = new Ports();
  const exact = new Map<string, Ports>();
  const suffixes = new Map<string, Ports>();
  const blocks: { bytes: number[]; prefix: number; port?: number }[] = [];
  const portsIn = <K>(map: Map<K, Ports>, key: K): Ports => {
    let ports = map.get(key);
    if (!ports) map.set(key, (ports = new Ports()));
    return ports;
  };
  for (const entry of entries) {
    if (!entry.enabled) continue;
    const parsed = parseBypassPattern(entry.pattern);
    if (!parsed.ok) continue;
    const p = parsed.pattern;
    if (p.kind === 'any') any.add(p.port);
    else if (p.kind === 'host') portsIn(exact, p.host).add(p.port);
    else if (p.kind === 'suffix') portsIn(suffixes, p.domain).add(p.port);
    else blocks.push({ ...toV6(p.bytes, p.prefix), port: p.port });
  }
  const inBlocks = (addr: number[], port: number): boolean =>
    blocks.some(
      (b) => (b.port === undefined || b.port === port) && inBlock(addr, b.bytes, b.prefix),
    );

  return {
    matches(rawHost: string, port: number): boolean {
      if (any.has(port)) return true;
      let host = rawHost.toLowerCase();
      if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
      if (host.endsWith('.')) host = host.slice(0, -1);
      if (host.includes(':')) {
        // A zone (`fe80::1%eth0`, or `%25eth0` from a URL) names an interface, not an address.
        const v6 = parseIPv6(host.replace(/%.*$/, ''));
        return v6 !== undefined && inBlocks(v6, port);
      }
      const v4 = parseIPv4(host);
      if (v4) return inBlocks(toV6(v4, 32).bytes, port);
      if (exact.get(host)?.has(port)) return true;
      for (let dot = host.indexOf('.'); dot >= 0; dot = host.indexOf('.', dot + 1)) {
        if (suffixes.get(host.slice(dot + 1))?.has(port)) return true;
      }
      return false;
    },
  };
}
