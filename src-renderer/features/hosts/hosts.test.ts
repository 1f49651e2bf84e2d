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
});
