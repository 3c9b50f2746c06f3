import { describe, expect, it } from 'vitest';
import { audit, doubleWins, latency, median, percentile } from '../../bench/stats.ts';
import type { Holdings } from '../../bench/stats.ts';

describe('bench statistics', () => {
  it('percentile takes the nearest rank', () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(sorted, 50)).toBe(50);
    expect(percentile(sorted, 99)).toBe(99);
    expect(percentile(sorted, 100)).toBe(100);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBeNaN();
  });

  it('latency sorts its samples numerically first', () => {
    expect(latency([5, 1, 30, 2, 4])).toEqual({ p50: 4, p99: 30, max: 30 });
    expect(latency([]).max).toBeNaN();
  });

  it('median reports the middle run and the spread as a fraction of it', () => {
    expect(median([10, 12, 8])).toEqual({ median: 10, spread: 0.4 });
    expect(median([10])).toEqual({ median: 10, spread: 0 });
  });
});

describe('the no-double-win check', () => {
  it('doubleWins finds every request won by two claimers, and only those', () => {
    expect(
      doubleWins([
        { brid: 1, master: 0 },
        { brid: 2, master: 1 },
      ]),
    ).toEqual([]);
    expect(
      doubleWins([
        { brid: 1, master: 0 },
        { brid: 2, master: 1 },
        { brid: 1, master: 2 },
        { brid: 3, master: 0 },
        { brid: 2, master: 1 },
      ]),
    ).toEqual([1, 2]);
  });

  const range = [1, 2, 3];
  const wins = [
    { brid: 1, master: 0 },
    { brid: 2, master: 1 },
    { brid: 3, master: 0 },
  ];
  const agreeing: Holdings = [
    [
      { brid: 1, complete: true },
      { brid: 3, complete: true },
    ],
    [{ brid: 2, complete: true }],
  ];

  it('audit passes a run whose store agrees with its claimers', () => {
    expect(audit(range, wins, agreeing)).toEqual([]);
  });

  it('audit ignores claims outside the range (warm-up requests)', () => {
    expect(audit(range, wins, [[...agreeing[0]!, { brid: 99, complete: true }], agreeing[1]!])).toEqual([]);
  });

  it('audit names a request won twice, one never won, and one whose claim the store gives to another master', () => {
    expect(audit(range, [...wins, { brid: 2, master: 0 }], agreeing)).toEqual(['request 2 was won twice']);
    expect(
      audit(
        range,
        wins.slice(0, 2),
        agreeing.map((h) => h.filter((c) => c.brid !== 3)),
      ),
    ).toEqual(['request 3 was never won']);
    expect(
      audit(range, wins, [
        [{ brid: 1, complete: true }],
        [
          { brid: 2, complete: true },
          { brid: 3, complete: true },
        ],
      ]),
    ).toEqual(['request 3 was won by master 0 but the store says master 1']);
  });

  it('audit names a request claimed by two masters in the store, and one left incomplete', () => {
    const both: Holdings = [agreeing[0]!, [...agreeing[1]!, { brid: 1, complete: true }]];
    expect(audit(range, wins, both)).toContain('request 1 is claimed by masters 0 and 1 in the store');
    expect(
      audit(range, wins, [
        [
          { brid: 1, complete: false },
          { brid: 3, complete: true },
        ],
        agreeing[1]!,
      ]),
    ).toEqual(['request 1 is not complete']);
  });

  it('audit stops at its limit', () => {
    expect(
      audit(
        Array.from({ length: 100 }, (_, i) => i + 1),
        [],
        [[], [], []],
        5,
      ),
    ).toHaveLength(5);
  });
});
