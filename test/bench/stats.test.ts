import { describe, expect, it } from 'vitest';
import { doubleWins, latency, median, percentile } from '../../bench/stats.ts';

describe('bench statistics', () => {
  it('percentile takes the nearest rank', () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(sorted, 50)).toBe(50);
    expect(percentile(sorted, 99)).toBe(99);
    expect(percentile(sorted, 100)).toBe(100);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBeNaN();
  });

  it('latency sorts its samples first', () => {
    expect(latency([5, 1, 3, 2, 4])).toEqual({ p50: 3, p99: 5, max: 5 });
  });

  it('median reports the middle run and the spread as a fraction of it', () => {
    expect(median([10, 12, 8])).toEqual({ median: 10, spread: 0.4 });
    expect(median([10])).toEqual({ median: 10, spread: 0 });
  });

  it('doubleWins finds every request won by two claimers, and only those', () => {
    expect(doubleWins([{ brid: 1, claimer: 'a' }, { brid: 2, claimer: 'b' }])).toEqual([]);
    expect(doubleWins([{ brid: 1, claimer: 'a' }, { brid: 2, claimer: 'b' }, { brid: 1, claimer: 'c' }, { brid: 3, claimer: 'a' }, { brid: 2, claimer: 'b' }])).toEqual([1, 2]);
  });
});
