// The shared-store scenario: how work is split over processes, its figures and goals, its two sides on the
// in-memory stand-in, and a tiny run of the whole thing against the test server with a password in the URL.
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { runCycles } from '../../bench/pg/cycles.ts';
import { ceilingOf, comparisons, pgGoals, renderPg } from '../../bench/pg/report.ts';
import { cut, pgConfigs, proportional, runPgScenario, shares } from '../../bench/pg/run.ts';
import type { PgConfig, PgSample, PgScenarioResult } from '../../bench/pg/run.ts';
import { inspect, open, seed } from '../../bench/pg/sides.ts';
import { audit } from '../../bench/stats.ts';
import * as api from '../../src/api.ts';
import { SharedMemoryStore } from '../../src/persistence/shared/memory.ts';
import { describePg, pgConfig } from '../support/postgres.ts';

describe('splitting the work over processes', () => {
  it('spreads slots, requests and connections near-evenly, and runs each side at every process count', () => {
    expect(shares(64, 4)).toEqual([16, 16, 16, 16]);
    expect(shares(10, 4)).toEqual([3, 3, 2, 2]);
    expect(proportional(100, [3, 3, 2, 2])).toEqual([30, 30, 20, 20]);
    expect(proportional(7, [1, 1, 1]).reduce((a, b) => a + b)).toBe(7);
    expect(cut([1, 2, 3, 4, 5], [2, 0, 3])).toEqual([[1, 2], [], [3, 4, 5]]);
    expect(pgConfigs([1, 4])).toEqual([
      { side: 'buildbot', processes: 1 },
      { side: 'buildcoord', processes: 1 },
      { side: 'buildbot', processes: 4 },
      { side: 'buildcoord', processes: 4 },
    ]);
  });
});

const latencyOf = (ms: number) => ({ p50: ms, p99: ms * 2, max: ms * 3 });
function fakeSample(config: PgConfig, round: number, cyclesPerSecond: number, extra: Partial<PgSample> = {}): PgSample {
  return {
    ...config,
    round,
    schema: 's',
    seconds: 1,
    cycles: cyclesPerSecond,
    cyclesPerSecond,
    cycleLatency: latencyOf(10),
    claimLatency: latencyOf(5),
    completeLatency: latencyOf(5),
    losses: 0,
    failed: 0,
    failures: [],
    doubleWins: [],
    problems: [],
    commitsPerCycle: 2,
    rollbacksPerCycle: 0,
    commitsCounted: 'COMMIT statements',
    statementsPerCycle: 6,
    pgCpuUsPerCycle: 600,
    pgStatementUsPerCycle: 200,
    topStatements: null,
    clientCpuUsPerCycle: 300,
    floorCpuUsPerCycle: config.side === 'buildcoord' ? 100 : null,
    processSeconds: [1],
    loadAverage: 0.5,
    ...extra,
  };
}

describe('the pg figures and goals', () => {
  const result = (bc: number[], bb: number[], bad: Partial<PgSample> = {}): PgScenarioResult => {
    const configs = pgConfigs([1]);
    return {
      settings: { fsync: 'on', synchronousCommit: 'on', serverVersion: '15', sharedBuffers: '128MB' },
      machine: { cpus: 2, loadAtStart: [0.5, 0.5, 0.5], loadAtEnd: [1, 1, 1] },
      configs,
      samples: [bb.map((r, i) => fakeSample(configs[0]!, i, r)), bc.map((r, i) => fakeSample(configs[1]!, i, r, { pgCpuUsPerCycle: 200, ...bad }))],
    };
  };

  it('compares medians in the same run, round by round too, and meets the goal at 3x', () => {
    const { rows, compared } = comparisons(result([3_000, 3_300, 2_400], [1_000, 1_000, 1_200]));
    expect(rows.map((r) => [r.side, r.cyclesPerSecond])).toEqual([
      ['buildbot', 1_000],
      ['buildcoord', 3_000],
    ]);
    // The ceiling: 2 cpus over (200 µs of server + 100 µs of the masters on the in-memory store) per cycle,
    // under 1 thread over 100 µs.
    expect(compared).toEqual([
      { processes: 1, ratio: 3, byRound: [3, 3.3, 2], loadByRound: [0.5, 0.5, 0.5], pgCpuRatio: 3, ceiling: { cyclesPerSecond: 2e6 / 300, ratio: 2e6 / 300 / 1_000 } },
    ]);
    const goals = pgGoals(rows, compared, { inFlight: 64 });
    expect(goals.map((g) => g.met)).toEqual([true, true]);
    expect(goals[0]!.value).toMatch(/^3\.00x \(buildcoord 3,000 cycles\/s, Buildbot's schema 1,000; by round 3\.00x, 3\.30x, 2\.00x\); ceiling on these cores 6\.67x$/);
    const shown = renderPg(result([3_000], [1_000]), { inFlight: 64, requests: 1, warmup: 0, masters: 4, connections: 16, samples: 1 } as never, 'x');
    expect(shown.text).toContain('at most min(1 thread / 100 µs, 2 cpus / (200 + 100 µs)) = ~6,667 cycles/s, 6.67x');
  });

  it('bounds the ceiling by one JavaScript thread per process as well as by the cores', () => {
    expect(ceilingOf({ cpus: 2, processes: 1, pgCpuUs: 50, floorUs: 200 })).toBe(5_000); // the thread: 1e6 / 200
    expect(ceilingOf({ cpus: 2, processes: 4, pgCpuUs: 300, floorUs: 100 })).toBe(5_000); // the cores: 2e6 / 400
    expect(ceilingOf({ cpus: 2, processes: 1, pgCpuUs: null, floorUs: 100 })).toBeNull();
    expect(ceilingOf({ cpus: 2, processes: 1, pgCpuUs: 100, floorUs: null })).toBeNull();
  });

  it('misses below 3x, and fails the check on a double claim or a disagreeing store', () => {
    expect(pgGoals(...withRows(result([2_000], [1_000])), { inFlight: 64 }).map((g) => g.met)).toEqual([false, true]);
    const bad = result([5_000], [1_000], { doubleWins: [7], problems: ['request 7 was won twice'] });
    const goals = pgGoals(...withRows(bad), { inFlight: 64 });
    expect(goals.map((g) => g.met)).toEqual([true, false]);
    expect(goals[1]!.value).toContain('request 7 was won twice');
    const shown = renderPg(bad, { inFlight: 64, requests: 1, warmup: 0, masters: 4, connections: 16, samples: 1 } as never, 'postgresql://u:***@h/db');
    expect(shown.text).toMatch(/FAILED/);
    expect(shown.text).toContain("buildcoord / Buildbot's schema = 5.00x");
  });
});

function withRows(r: PgScenarioResult) {
  const { rows, compared } = comparisons(r);
  return [rows, compared] as const;
}

describe('the buildcoord side, on the in-memory stand-in of the shared store', () => {
  it('seeds, runs two coordinators as different masters, and reads back what a third sees', async () => {
    const store = new SharedMemoryStore();
    const brids = await seed('buildcoord', api, { backend: store.connect() }, { requests: 40, builders: 8, masters: 4 });
    expect(brids).toHaveLength(40);
    expect(new Set(brids).size).toBe(40);
    const sides = [
      await open('buildcoord', api, { backend: store.connect() }, { firstMaster: 0, masters: 2, allMasters: 4, connections: 1 }),
      await open('buildcoord', api, { backend: store.connect() }, { firstMaster: 2, masters: 2, allMasters: 4, connections: 1 }),
    ];
    const runs = await Promise.all(sides.map((side, p) => runCycles(side, p === 0 ? brids.slice(0, 20) : brids.slice(20), { inFlight: 4, masterOf: (s) => 2 * p + (s % 2) })));
    // A request the other coordinator won is refused here, not won again.
    expect(await sides[0]!.claim(0, brids[30]!)).toBe(false);
    await Promise.all(sides.map((side) => side.close()));
    const wins = runs.flatMap((r) => r.wins);
    expect(runs.map((r) => [r.wins.length, r.failed, r.cycleTimes.length])).toEqual([
      [20, 0, 20],
      [20, 0, 20],
    ]);
    const view = await inspect('buildcoord', api, { backend: store.connect() }, { masters: 4 });
    expect(view.doubleClaims).toBe(0);
    expect(audit(brids, wins, view.holdings)).toEqual([]);
    // And the check sees a win the store does not hold.
    expect(audit(brids, [...wins, { brid: brids[0]!, master: 3 }], view.holdings)).toContain(`request ${brids[0]} was won twice`);
  });
});

describePg('the pg scenario, end to end', (url) => {
  it('runs both sides over 2 processes, checks the store, drops its schemas and never shows the password', async () => {
    const secret = 's3cret-pw-for-the-bench';
    // The test server trusts every connection, so a password in the URL is sent only if asked for: never.
    const withPassword = url.replace(/^(postgres(?:ql)?:\/\/)([^:@/]*)@/, `$1$2:${secret}@`);
    expect(withPassword).toContain(secret);
    const options = {
      url: withPassword,
      processes: [2],
      inFlight: 8,
      requests: 48,
      warmup: 8,
      masters: 2,
      builders: 4,
      connections: 4,
      samples: 1,
      api: pathToFileURL(new URL('../../src/api.ts', import.meta.url).pathname).href,
      execArgv: ['--import', 'tsx'],
      profileDir: null,
    };
    const result = await runPgScenario(options);
    const samples = result.samples.flat();
    expect(samples.map((s) => [s.side, s.processes, s.cycles, s.losses, s.failed, s.problems, s.doubleWins])).toEqual([
      ['buildbot', 2, 48, 0, 0, [], []],
      ['buildcoord', 2, 48, 0, 0, [], []],
    ]);
    for (const s of samples) {
      expect(s.cyclesPerSecond).toBeGreaterThan(0);
      expect(s.cycleLatency.p99).toBeGreaterThanOrEqual(s.cycleLatency.p50);
      expect(s.processSeconds).toHaveLength(2);
      // Read from /proc in clock ticks (10 ms): a run this short may see none.
      expect(s.pgCpuUsPerCycle).toBeGreaterThanOrEqual(0);
      expect(s.clientCpuUsPerCycle).toBeGreaterThan(0);
    }
    // The floor is buildcoord's alone: its masters' CPU per cycle on the in-memory store.
    expect(samples[0]!.floorCpuUsPerCycle).toBeNull();
    expect(samples[1]!.floorCpuUsPerCycle).toBeGreaterThan(0);
    // Buildbot: a transaction per call (the test server has pg_stat_statements: COMMITs are counted exactly).
    expect(samples.map((s) => s.commitsCounted)).toEqual(['COMMIT statements', 'COMMIT statements']);
    expect(samples[0]!.commitsPerCycle).toBe(2);
    expect(samples[0]!.statementsPerCycle).toBe(6); // BEGIN, INSERT, COMMIT; BEGIN, UPDATE, COMMIT
    expect(samples[1]!.commitsPerCycle).toBeGreaterThan(0);
    const shown = renderPg(result, options, 'shown');
    expect(shown.goals).toHaveLength(2);
    expect(shown.goals[1]!.met).toBe(true);
    expect(`${shown.text}${JSON.stringify(result)}${JSON.stringify(shown)}`).not.toContain(secret);

    const client = new pg.Client(pgConfig(url));
    await client.connect();
    try {
      const left = await client.query('SELECT nspname FROM pg_namespace WHERE nspname = ANY($1::text[])', [samples.map((s) => s.schema)]);
      expect(left.rows).toEqual([]);
    } finally {
      await client.end();
    }
  });
});
