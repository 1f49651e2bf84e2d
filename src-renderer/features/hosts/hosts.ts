/** The sidebar's host list: pure, so its order is tested. */

export type HostOrder = 'count' | 'name';

export interface HostEntry {
  host: string;
  count: number;
}

/**
 * Hosts with their flow counts: by count (most first, then name) or by name. Names sort by their
 * labels from the right (`api.example.com` next to `www.example.com`), as a domain tree would.
 */
export function sortHosts(counts: Readonly<Record<string, number>>, order: HostOrder): HostEntry[] {
  const entries = Object.entries(counts).map(([host, count]) => ({ host, count }));
  const key = (h: string): string => h.split('.').reverse().join('.');
  if (order === 'name') return entries.sort((a, b) => key(a.host).localeCompare(key(b.host)));
  return entries.sort((a, b) => b.count - a.count || key(a.host).localeCompare(key(b.host)));
}
