import { describe, expect, it } from 'vitest';
import { isDefaultFullRun, parseOptions, plan, UsageError } from '../../bench/plan.ts';

describe('bench options', () => {
  it('defaults to every scenario, both durabilities, every baseline and the full sweep', () => {
    const o = parseOptions([]);
    expect(o).toMatchObject({
      quick: false,
      scenarios: ['claim', 'contended', 'poll'],
      scale: true,
      durabilities: ['sync', 'buffered'],
      concurrency: [1, 4, 16, 64, 256],
      baselines: ['sqlite', 'raw', 'memory'],
      scales: [10_000, 100_000, 1_000_000],
      samples: 3,
      masters: 4,
    });
    expect(isDefaultFullRun([])).toBe(true);
    expect(isDefaultFullRun(['--quick'])).toBe(false);
  });

  it('--quick shrinks sizes and samples but keeps every scenario', () => {
    const o = parseOptions(['--quick']);
    expect(o).toMatchObject({ samples: 1, scales: [10_000], scenarios: ['claim', 'contended', 'poll'], scale: true });
    expect(o.requests).toBeLessThan(parseOptions([]).requests);
  });

  it('takes lists repeated or comma-separated, and sizes with underscores', () => {
    const o = parseOptions(['--scenario', 'poll,claim', '--concurrency', '64', '--concurrency', '1,64', '--requests', '20_000', '--baseline', 'none']);
    expect(o).toMatchObject({ scenarios: ['claim', 'poll'], scale: false, concurrency: [1, 64], requests: 20_000, baselines: [] });
  });

  it.each([
    [['--scenario', 'sleep'], /unknown "sleep"/],
    [['--durability', 'eventual'], /unknown "eventual"/],
    [['--requests', '0'], /--requests must be an integer >= 1/],
    [['--concurrency', 'many'], /--concurrency must be an integer/],
    [['--samples', '1.5'], /--samples must be an integer/],
    [['--scale', '500'], /--scale 500 is smaller than --warmup plus --scale-requests/],
    [['--frobnicate'], /Unknown option '--frobnicate'/],
  ])('refuses %j', (argv, why) => {
    expect(() => parseOptions(argv)).toThrow(UsageError);
    expect(() => parseOptions(argv)).toThrow(why);
  });
});

describe('bench plan', () => {
  it('runs each scenario at every level and durability against each baseline, each configuration once', () => {
    const jobs = plan(parseOptions(['--scenario', 'claim', '--concurrency', '1,64']));
    expect(jobs.map((j) => j.key)).toEqual([
      'claim buildcoord sync x1',
      'claim sqlite FULL x1',
      'claim buildcoord buffered x1',
      'claim sqlite NORMAL x1',
      'claim memory x1',
      'claim buildcoord sync x64',
      'claim sqlite FULL x64',
      'claim buildcoord buffered x64',
      'claim sqlite NORMAL x64',
      'claim memory x64',
    ]);
    expect(jobs.filter((j) => j.replayRaw).map((j) => j.target)).toEqual(['buildcoord', 'buildcoord', 'buildcoord', 'buildcoord']);
    expect(new Set(jobs.map((j) => j.storeSize))).toEqual(new Set([parseOptions([]).warmup + parseOptions([]).requests]));
  });

  it('contended skips levels with fewer claimers than masters', () => {
    const jobs = plan(parseOptions(['--scenario', 'contended', '--concurrency', '1,4,16', '--baseline', 'none']));
    expect(jobs.map((j) => j.concurrency)).toEqual([4, 4, 16, 16]);
  });

  it('scale claims the same number of requests in stores of every size', () => {
    const jobs = plan(parseOptions(['--scenario', 'scale', '--baseline', 'sqlite', '--scale', '100000,20000']));
    expect(jobs.map((j) => [j.target, j.storeSize, j.requests, j.concurrency, j.durability])).toEqual([
      ['buildcoord', 20_000, 5_000, 64, 'sync'],
      ['sqlite', 20_000, 5_000, 64, 'sync'],
      ['buildcoord', 100_000, 5_000, 64, 'sync'],
      ['sqlite', 100_000, 5_000, 64, 'sync'],
    ]);
  });

  it('gives every job of the default run its own key', () => {
    const jobs = plan(parseOptions([]));
    expect(new Set(jobs.map((j) => j.key)).size).toBe(jobs.length);
  });
});
