import { describe, expect, it } from 'vitest';
import { chart, logTicks, throughputChart } from '../../bench/chart.ts';
import { parseOptions, plan } from '../../bench/plan.ts';
import type { Job } from '../../bench/plan.ts';
import { goals } from '../../bench/goals.ts';
import { ratios, renderTable, summarize, table } from '../../bench/report.ts';
import type { Row } from '../../bench/report.ts';
import type { Sample } from '../../bench/worker.ts';

const MB = 2 ** 20;

/** A sample with round figures; `claimed` sets claims/s, the rest follow. */
function sample(claimed: number, over: Partial<Sample> = {}): Sample {
  return {
    claimedPerSecond: claimed,
    claimCallsPerSecond: claimed,
    completesPerSecond: claimed * 2,
    claimLatency: { p50: 1, p99: 1000 / claimed, max: 20 },
    completeLatency: { p50: 1, p99: 2, max: 3 },
    pollLatency: null,
    pollCalls: 0,
    wins: 100,
    losses: 0,
    doubleWins: [],
    problems: [],
    peakRss: 100 * MB,
    peakHeap: 50 * MB,
    liveActorsPeak: 10,
    storeBytes: MB,
    writes: { claim: { batches: 10, operations: 50, bytes: 5000 }, complete: { batches: 20, operations: 50, bytes: 5000 } },
    raw: { claimedPerSecond: claimed * 3, completesPerSecond: claimed * 4, claimWrite: { p50: 0.5, p99: 4, max: 9 } },
    phases: { claim: { seconds: 1, storeWriteSeconds: 0.5, rawWriteSeconds: 0.25 }, complete: { seconds: 1, storeWriteSeconds: null, rawWriteSeconds: null } },
    ...over,
  };
}

const jobs = plan(parseOptions(['--scenario', 'claim', '--concurrency', '64', '--durability', 'sync']));
const job = (target: Job['target']) => jobs.find((j) => j.target === target)!;

describe('bench report', () => {
  it('summarize takes the median run for throughput and latency, the worst for memory, and keeps every problem', () => {
    const row = summarize(job('buildcoord'), [sample(10_000, { peakRss: 300 * MB }), sample(30_000, { doubleWins: [7], problems: ['request 7 was won twice'] }), sample(20_000)]);
    expect(row.claimedPerSecond).toBe(20_000);
    expect(row.claimedSpread).toBe(1);
    expect(row.claimLatency.p99).toBe(0.05);
    expect(row.peakRssMB).toBe(300);
    expect(row.doubleWins).toEqual([7]);
    expect(row.problems).toEqual(['request 7 was won twice']);
    expect(row.callsPerWrite).toEqual({ claim: 10, complete: 5 });
    expect(row.raw!.claimedPerSecond).toBe(60_000);
  });

  it('latency over samples is the median of each percentile, whichever sample had the median throughput', () => {
    const at = (claimed: number, p99: number, max: number) => sample(claimed, { claimLatency: { p50: p99 / 10, p99, max } });
    const row = summarize(job('buildcoord'), [at(10_000, 9, 12), at(20_000, 14, 15), at(30_000, 11, 30)]);
    expect(row.claimLatency).toEqual({ p50: 1.1, p99: 11, max: 30 });
  });

  it('ratios divide each buildcoord figure by its baseline at the same scenario, level and durability', () => {
    const rows = [summarize(job('buildcoord'), [sample(20_000)]), summarize(job('sqlite'), [sample(5_000)]), summarize(job('memory'), [sample(40_000)])];
    const r = ratios(rows, rows[0]!);
    expect(r.sqlite).toEqual({ claimed: 4, completes: 4, claimP99: 0.25 });
    expect(r.raw!.claimed).toBeCloseTo(1 / 3);
    expect(r.memory).toEqual({ claimed: 0.5, completes: 0.5 });
  });

  it("issue 4's goals say met, MISS or not run, from the reference configuration", () => {
    const rows: Row[] = [summarize(job('buildcoord'), [sample(25_000)]), summarize(job('sqlite'), [sample(10_000)])];
    const [issue4] = goals(rows, { masters: 4 });
    expect(issue4!.of).toBe('issue 4');
    expect(issue4!.goals.map((g) => g.met)).toEqual([true, false, true, true, null]);
    expect(issue4!.goals[1]!.value).toMatch(/^2\.50x/);
    expect(issue4!.goals[3]!.value).toBe('0.04 ms (raw classic-level, same batches: write p99 4.00 ms, max 9.0 ms)');
    expect(goals([], { masters: 4 }).every((set) => set.goals.every((g) => g.met === null))).toBe(true);
  });

  it("issue 12's goals: memory and LevelDB rates, raw and tail, cycles against sqlite, one in flight, polls", () => {
    const all = plan(parseOptions(['--scenario', 'claim,poll', '--concurrency', '1,64', '--durability', 'sync']));
    const at = (scenario: string, target: Job['target'], concurrency: number) => all.find((j) => j.scenario === scenario && j.target === target && j.concurrency === concurrency)!;
    const raw = (claimed: number) => ({ claimedPerSecond: claimed, completesPerSecond: claimed, claimWrite: { p50: 0.5, p99: 4, max: 9 } });
    const rows = (sqliteOne: number, pollRss: number): Row[] => [
      summarize(at('claim', 'memory', 64), [sample(61_000)]),
      summarize(at('claim', 'buildcoord', 64), [sample(32_000)]), // raw 3x: 96,000; completes 64,000
      summarize(at('claim', 'sqlite', 64), [sample(3_000)]),
      summarize(at('claim', 'buildcoord', 1), [sample(5_800, { raw: raw(6_000) })]),
      summarize(at('claim', 'sqlite', 1), [sample(sqliteOne)]),
      summarize(at('poll', 'buildcoord', 64), [sample(2_000, { peakRss: pollRss * MB })]),
      summarize(at('poll', 'sqlite', 64), [sample(600)]),
    ];
    const issue12 = (sqliteOne: number, pollRss: number) => goals(rows(sqliteOne, pollRss), { masters: 4 })[1]!.goals;
    // LevelDB's sync write (raw 6,000/s) slower than sqlite's 7,000: 0.95x raw is the bar, and 5,800 clears it.
    const slower = issue12(7_000, 100);
    expect(slower.map((g) => g.met)).toEqual([true, true, false, true, true, true, true]);
    expect(slower[4]!.value).toBe('10.67x (21,333 vs 2,000 cycles/s)');
    expect(slower[5]!.value).toContain('0.97x raw classic-level');
    // Raw (6,000/s) faster than sqlite's 5,900 leaves no excuse: the bar is sqlite itself. Polls need the memory bound too.
    const faster = issue12(5_900, 400);
    expect(faster[5]!.met).toBe(false);
    expect(faster[5]!.value).toContain('0.98x sqlite FULL');
    expect(faster[6]!.met).toBe(false);
  });

  it('the table puts numbers right-aligned under their headers', () => {
    expect(
      table(
        ['name', 'n'],
        [
          ['a', '1'],
          ['bb', '1,000'],
        ],
      ).split('\n'),
    ).toEqual(['name      n', '----  -----', 'a         1', 'bb    1,000']);
    const text = renderTable([summarize(job('buildcoord'), [sample(20_000)])], [], parseOptions([]));
    expect(text).toContain('claim: 8,000 requests per run');
    expect(text).toMatch(/raw classic-level sync\s+60,000/);
    expect(text).toMatch(/buildcoord sync .* 50% /);
    expect(text).toMatch(/raw classic-level sync .* 25%$/m);
  });
});

describe('bench chart', () => {
  it('puts log ticks at 1, 2 and 5 of each power of ten', () => {
    expect(logTicks(1000, 100_000)).toEqual([1000, 2000, 5000, 10_000, 20_000, 50_000, 100_000]);
  });

  it('draws one panel per durability with buildcoord and each baseline, as well-formed SVG', () => {
    const rows = [summarize(job('buildcoord'), [sample(20_000)]), summarize(job('sqlite'), [sample(5_000)]), summarize(job('memory'), [sample(40_000)])];
    const svg = throughputChart(rows, 'caption <&>');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    for (const name of ['buildcoord, sync', 'raw classic-level, same batches, sync', 'better-sqlite3, synchronous=FULL', 'buildcoord, in-memory backend'])
      expect(svg).toContain(name);
    expect(svg).toContain('caption &lt;&amp;&gt;');
    expect(svg).not.toContain('NaN');
    expect(chart('empty', [])).toContain('</svg>');
  });
});
