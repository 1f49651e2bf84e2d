/** The sidebar's host list: pure, so its order is tested. */

export type HostOrder = 'count' | 'name';

export interface HostEntry {
  host: string;
  count: number;
  pinned: boolean;
}

/**
 * Hosts with their flow counts: pinned hosts first, in pinning order and shown even with no flows
 * (so a pin survives a Clear), then the rest by count (most first, then name) or by name. Names
 * sort by their labels from the right (`api.example.com` next to `www.example.com`), as a domain
 * tree would.
 */
export function sortHosts(
  counts: Readonly<Record<string, number>>,
  order: HostOrder,
  pinned: readonly string[] = [],
): HostEntry[] {
  const pinnedSet = new Set(pinned);
  const entries = Object.entries(counts)
    .filter(([host]) => !pinnedSet.has(host))
    .map(([host, count]) => ({ host, count, pinned: false }));
  const key = (h: string): string => h.split('.').reverse().join('.');
  if (order === 'name') entries.sort((a, b) => key(a.host).localeCompare(key(b.host)));
  else entries.sort((a, b) => b.count - a.count || key(a.host).localeCompare(key(b.host)));
  const top = pinned.map((host) => ({ host, count: counts[host] ?? 0, pinned: true }));
  return [...top, ...entries];
}
