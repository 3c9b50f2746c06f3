// The bench's bookkeeping on small runs of the source (src/), on the in-memory backend: counts, not speed.
import { describe, expect, it } from 'vitest';
import { runScenario } from '../../bench/scenarios.ts';
import { audit } from '../../bench/stats.ts';
import { openBuildcoord } from '../../bench/targets.ts';
import type { Target } from '../../bench/targets.ts';
import { seedThrough } from '../../bench/workload.ts';
import * as api from '../../src/api.ts';

const MASTERS = 4;
const BUILDERS = 8;
const range = (first: number, count: number) => Array.from({ length: count }, (_, i) => first + i);

async function farm(requests: number) {
  const opened = await openBuildcoord(api, api.memoryBackend(), { durability: 'sync', masters: MASTERS });
  await seedThrough(opened.dbs[0]!, requests, BUILDERS);
  return opened;
}

async function holdings(target: Target) {
  const held = [];
  for (let m = 0; m < MASTERS; m++) held.push(await target.claimedBy(m));
  return held;
}

describe('seeding', () => {
  it('adds requests 1..N, request i on builder (i - 1) % builders, the last buildset short', async () => {
    const { dbs, coordinator } = await farm(20);
    const all = await dbs[0]!.buildrequests.getBuildRequests();
    expect(all.map((br) => [br.brid, br.buildername]).sort((a, b) => (a[0] as number) - (b[0] as number))).toEqual(
      range(1, 20).map((brid) => [brid, `builder-${(brid - 1) % BUILDERS}`]),
    );
    expect(all.every((br) => !br.claimed && !br.complete)).toBe(true);
    await coordinator.close();
  });
});

describe('scenarios (bookkeeping, not speed)', () => {
  it.each([1, 3, 16])('claim at %i in flight: every request won once, none lost, every win completed', async (concurrency) => {
    const { target, coordinator } = await farm(200);
    const r = await runScenario(target, 'claim', concurrency, { brids: range(1, 200), masters: MASTERS, builders: BUILDERS });
    expect([r.wins.length, r.losses, r.claimCalls, r.completeCalls, r.pollCalls]).toEqual([200, 0, 200, 200, 0]);
    expect(new Set(r.wins.map((w) => w.master)).size).toBe(Math.min(concurrency, MASTERS));
    expect(audit(range(1, 200), r.wins, await holdings(target))).toEqual([]);
    await coordinator.close();
  });

  it('contended: four masters try every request; each is won once and lost three times', async () => {
    const { target, coordinator } = await farm(200);
    const r = await runScenario(target, 'contended', 16, { brids: range(1, 200), masters: MASTERS, builders: BUILDERS });
    expect([r.wins.length, r.losses, r.claimCalls]).toEqual([200, 600, 800]);
    expect(audit(range(1, 200), r.wins, await holdings(target))).toEqual([]);
    await coordinator.close();
  });

  it.each([1, 8, 64])('poll at %i in flight: claimers find every request through getBuildRequests and win each once', async (concurrency) => {
    const { target, coordinator, dbs } = await farm(96);
    const r = await runScenario(target, 'poll', concurrency, { brids: range(1, 96), masters: MASTERS, builders: BUILDERS });
    expect(r.wins).toHaveLength(96);
    expect(r.claimCalls).toBe(96 + r.losses);
    expect(r.pollCalls).toBeGreaterThanOrEqual(r.claimCalls);
    expect(audit(range(1, 96), r.wins, await holdings(target))).toEqual([]);
    expect(await dbs[0]!.buildrequests.getBuildRequests({ claimed: false })).toEqual([]);
    await coordinator.close();
  });

  it('leaves requests outside the range alone', async () => {
    const { target, coordinator, dbs } = await farm(40);
    await runScenario(target, 'claim', 4, { brids: range(11, 20), masters: MASTERS, builders: BUILDERS });
    const untouched = await dbs[0]!.buildrequests.getBuildRequests({ claimed: false });
    expect(untouched.map((br) => br.brid).sort((a, b) => a - b)).toEqual([...range(1, 10), ...range(31, 10)]);
    await coordinator.close();
  });

  it('calls the phase hook as the claim and complete phases start', async () => {
    const { target, coordinator } = await farm(16);
    const phases: string[] = [];
    await runScenario(target, 'claim', 4, { brids: range(1, 16), masters: MASTERS, builders: BUILDERS }, { phase: (p) => phases.push(p) });
    expect(phases).toEqual(['claim', 'complete']);
    await coordinator.close();
  });
});

describe('the no-double-win check catches a store that lets two masters win', () => {
  /** A store without the unique claim: every claim succeeds, as two masters' racing writes would. */
  function leakyTarget(): Target {
    const claims = new Map<number, number>();
    return {
      claim: async (master, brid) => {
        claims.set(brid, master);
        return true;
      },
      complete: async () => {},
      unclaimed: async () => [],
      claimedBy: async (master) => [...claims].filter(([, m]) => m === master).map(([brid]) => ({ brid, complete: true })),
      liveActors: () => 0,
      close: async () => {},
    };
  }

  it('contended: every request is reported, by the claimers and against the store', async () => {
    const target = leakyTarget();
    const r = await runScenario(target, 'contended', 8, { brids: range(1, 10), masters: MASTERS, builders: BUILDERS });
    expect(r.wins).toHaveLength(40);
    const problems = audit(range(1, 10), r.wins, await holdings(target), 100);
    expect(problems.filter((p) => p.endsWith('was won twice'))).toHaveLength(10);
    expect(problems.some((p) => / but the store says master /.test(p))).toBe(true);
  });
});
