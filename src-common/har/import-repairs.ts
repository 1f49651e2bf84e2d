/**
 * What HAR import had to repair, counted per entry and told as one sentence per kind of repair
 * ("12 entries had a null redirectURL; read as empty."). Real exports deviate from HAR 1.2 in
 * the same few ways over and over; a user wants to know which and how often, not 12 lines.
 */

const entries = (n: number): string => (n === 1 ? '1 entry' : `${n} entries`);
const had = (n: number): string => `${entries(n)} had`;

/** Names the examples seen, at most three, in quotes. */
function seen(examples: readonly string[]): string {
  const shown = examples.slice(0, 3).map((e) => JSON.stringify(e.slice(0, 40)));
  return examples.length > 3 ? `${shown.join(', ')}…` : shown.join(', ');
}

/** One sentence per kind of repair; `n` entries, `ex` distinct examples where kept. */
const SENTENCES = {
  notAnObject: (n: number) =>
    n === 1 ? '1 entry was not an object; skipped.' : `${n} entries were not objects; skipped.`,
  noRequest: (n: number) => `${had(n)} no request; skipped.`,
  noUrl: (n: number) => `${had(n)} no request URL; skipped.`,
  unreadable: (n: number, ex: string[]) =>
    `${entries(n)} could not be read (${seen(ex)}); skipped.`,
  noMethod: (n: number) => `${had(n)} no request method; read as GET.`,
  badDate: (n: number) =>
    `${had(n)} a missing or invalid startedDateTime; read as the start of the entry before it.`,
  noHeaders: (n: number) => `${had(n)} no headers list; read as no headers.`,
  badHeader: (n: number) =>
    `${had(n)} headers that were not name/value text; those headers were left out.`,
  headerNotText: (n: number) => `${had(n)} header values that were not text; read as text.`,
  noVersion: (n: number) => `${had(n)} no HTTP version; read as not known.`,
  version: (n: number, ex: string[]) =>
    `${had(n)} an HTTP version Loupe does not know (${seen(ex)}); kept as written.`,
  noResponse: (n: number) => `${had(n)} no response; read as not answered.`,
  status: (n: number) => `${had(n)} a status that is not a number; read as 0.`,
  statusText: (n: number) => `${had(n)} a status text that is not text; read as empty.`,
  redirectNull: (n: number) => `${had(n)} a null redirectURL; read as empty.`,
  redirectOther: (n: number) => `${had(n)} a missing or non-text redirectURL; read as empty.`,
  sizes: (n: number) =>
    `${had(n)} body sizes missing or not numbers; read from the body text where there is one.`,
  bodyText: (n: number) => `${had(n)} a body text that is not text; read as empty.`,
  base64: (n: number) => `${had(n)} a body marked base64 that is not valid base64; read as text.`,
  timingsRequired: (n: number) =>
    `${had(n)} send, wait or receive timings missing or negative; read as 0.`,
  timingsType: (n: number) => `${had(n)} timings that are not numbers; read as not known.`,
  ipBrackets: (n: number) => `${had(n)} an IPv6 serverIPAddress in [brackets]; read without them.`,
  ipEmpty: (n: number) => `${had(n)} an empty serverIPAddress; read as not known.`,
  ipOther: (n: number, ex: string[]) =>
    `${had(n)} a serverIPAddress that is not an IP address (${seen(ex)}); left out.`,
  cache: (n: number) =>
    `${had(n)} cache fields missing or typed unlike HAR 1.2; Loupe does not use them.`,
  webSocket: (n: number) =>
    `${had(n)} WebSocket messages that could not be read; those messages were left out.`,
  loupeFields: (n: number) =>
    `${had(n)} Loupe fields (_tunnel, _error, _tls) that could not be read; read without them.`,
} satisfies Record<string, (n: number, examples: string[]) => string>;

export type RepairKind = keyof typeof SENTENCES;

/** Counts each kind of repair once per entry, in the order kinds were first seen. */
export class Repairs {
  private readonly counts = new Map<RepairKind, { n: number; examples: string[] }>();
  private current = new Set<RepairKind>();
  private readonly fileWide: string[] = [];

  /** A repair of the file as a whole, told as it is. */
  file(sentence: string): void {
    this.fileWide.push(sentence);
  }

  /** A repair in the entry being read; `example` names what was found, for some kinds. */
  note(kind: RepairKind, example?: string): void {
    let count = this.counts.get(kind);
    if (!count) {
      count = { n: 0, examples: [] };
      this.counts.set(kind, count);
    }
    if (!this.current.has(kind)) {
      this.current.add(kind);
      count.n++;
    }
    if (example !== undefined && !count.examples.includes(example) && count.examples.length < 4) {
      count.examples.push(example);
    }
  }

  /** Starts counting the next entry. */
  nextEntry(): void {
    this.current = new Set();
  }

  sentences(): string[] {
    const out = this.fileWide.slice();
    for (const [kind, { n, examples }] of this.counts) out.push(SENTENCES[kind](n, examples));
    return out;
  }
}
