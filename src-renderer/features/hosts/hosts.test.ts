import { describe, expect, it } from 'vitest';
import { sortHosts } from './hosts';

const counts = { 'www.example.com': 2, 'api.example.com': 2, 'cdn.other.net': 5, 'a.zzz.io': 1 };

describe('sortHosts', () => {
  it('by count, most first, ties grouped by domain', () => {
    expect(sortHosts(counts, 'count').map((h) => h.host)).toEqual([
      'cdn.other.net',
      'api.example.com',
      'www.example.com',
      'a.zzz.io',
    ]);
  });

  it('by name, grouped by domain from the right', () => {
    expect(sortHosts(counts, 'name').map((h) => h.host)).toEqual([
      'api.example.com',
      'www.example.com',
      'a.zzz.io',
      'cdn.other.net',
    ]);
  });

  it('puts pinned hosts first, in pinning order, even with no flows left', () => {
    const sorted = sortHosts(counts, 'count', ['www.example.com', 'gone.example.org']);
    expect(sorted.slice(0, 3)).toEqual([
      { host: 'www.example.com', count: 2, pinned: true },
      { host: 'gone.example.org', count: 0, pinned: true },
      { host: 'cdn.other.net', count: 5, pinned: false },
    ]);
    expect(sorted).toHaveLength(5);
  });
});
