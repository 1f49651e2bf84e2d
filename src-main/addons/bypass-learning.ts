/**
 * Pinning detection's memory: hosts whose clients rejected Loupe's certificate are added to an
 * auto-bypass list with an expiry, so the next connection is tunnelled raw and the app keeps
 * working. Only certificate-related failures teach (a certificate alert, or a silent close right
 * after the handshake); resets, timeouts and cipher mismatches teach nothing.
 *
 * The untrusted-CA flood guard: a client that does not trust the Loupe CA at all (a browser
 * before the CA is installed) rejects every host. When rejections for several distinct hosts
 * arrive within a short window with no successful interception in between, learning stops, the
 * burst's hosts are discarded, and "this client does not trust the Loupe CA" is reported once.
 * A successful interception (a request arrived on a decrypted connection) ends that state.
 */
import type { LearnedBypass } from '../../src-common/settings';
import type { HandshakeReport, Hooks } from '../engine/index';

const HOUR_MS = 3600 * 1000;

export interface BypassLearningOptions {
  hooks: Hooks;
  /** The persisted list (expired entries are dropped). */
  initial?: readonly LearnedBypass[];
  /** How long a learned host stays (a function is read at each learning); default 24 h. */
  ttlMs?: number | (() => number);
  /** Distinct rejected hosts within `burstWindowMs` that mean "the CA is not trusted"; default 3. */
  burstHosts?: number;
  burstWindowMs?: number;
  now?: () => number;
  /** The list changed (persist it; re-apply the bypass predicate). */
  onChange?: (list: LearnedBypass[]) => void;
  /** A message for the user (the untrusted-CA report). */
  onNotice?: (message: string) => void;
}

export interface BypassLearning {
  /** True when `host` is on the learned list and not expired. */
  matches(host: string): boolean;
  list(): LearnedBypass[];
  /** Removes a learned host; true when it was there. */
  remove(host: string): boolean;
  /** Empties the list (after the CA was trusted or rotated). */
  clear(): void;
  /** True while learning is suspended by the untrusted-CA guard. */
  readonly distrusted: boolean;
  dispose(): void;
}

export const TEACHING_FAILURES = new Set(['certificate_rejected', 'closed_after_handshake']);

export function createBypassLearning(opts: BypassLearningOptions): BypassLearning {
  const now = opts.now ?? Date.now;
  const ttl = (): number =>
    typeof opts.ttlMs === 'function' ? opts.ttlMs() : (opts.ttlMs ?? 24 * HOUR_MS);
  const burstHosts = opts.burstHosts ?? 3;
  const windowMs = opts.burstWindowMs ?? 10_000;
  const learned = new Map<string, LearnedBypass>();
  for (const entry of opts.initial ?? []) {
    if (entry.expiresAt > now()) learned.set(entry.host.toLowerCase(), { ...entry });
  }
  /** Rejections since the last successful interception: host and time. */
  let burst: { host: string; at: number }[] = [];
  let distrusted = false;

  const changed = (): void => opts.onChange?.([...learned.values()].map((e) => ({ ...e })));

  const onReport = (report: HandshakeReport): void => {
    const host = report.host.toLowerCase();
    if (report.ok) {
      burst = [];
      distrusted = false;
      return;
    }
    if (!report.failure || !TEACHING_FAILURES.has(report.failure) || distrusted) return;
    const t = now();
    burst = burst.filter((b) => t - b.at <= windowMs);
    burst.push({ host, at: t });
    const hosts = new Set(burst.map((b) => b.host));
    if (hosts.size >= burstHosts) {
      distrusted = true;
      let removed = false;
      for (const h of hosts) {
        const entry = learned.get(h);
        // Only what this burst taught is discarded; older, separately learned hosts stay.
        if (entry && entry.learnedAt >= burst[0]!.at) {
          learned.delete(h);
          removed = true;
        }
      }
      burst = [];
      if (removed) changed();
      opts.onNotice?.(
        `Clients rejected Loupe's certificate for ${hosts.size} hosts within ${Math.round(windowMs / 1000)} s: this client does not trust the Loupe CA. Nothing was added to the auto-bypass list. Install and trust the CA (open http://loupe.local/ through the proxy) to inspect its HTTPS traffic.`,
      );
      return;
    }
    if (learned.has(host)) return;
    learned.set(host, {
      host,
      reason:
        report.failure === 'certificate_rejected'
          ? "The client rejected Loupe's certificate (it pins its certificates, or does not trust the Loupe CA)."
          : 'The client closed the connection right after the TLS handshake without a request (certificate pinning, most likely).',
      learnedAt: t,
      expiresAt: t + ttl(),
    });
    changed();
  };

  const off = opts.hooks.on('tlsHandshake', onReport);

  return {
    matches(host) {
      const entry = learned.get(host.toLowerCase().replace(/\.$/, ''));
      if (!entry) return false;
      if (entry.expiresAt > now()) return true;
      learned.delete(entry.host);
      changed();
      return false;
    },
    list: () => [...learned.values()].filter((e) => e.expiresAt > now()).map((e) => ({ ...e })),
    remove(host) {
      const had = learned.delete(host.toLowerCase());
      if (had) changed();
      return had;
    },
    clear() {
      if (learned.size === 0) return;
      learned.clear();
      changed();
    },
    get distrusted() {
      return distrusted;
    },
    dispose: off,
  };
}
