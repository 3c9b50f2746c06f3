// The sqlite baseline must refuse and accept exactly what buildcoord does, or the comparison means nothing.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteClaims, sqliteTarget } from '../../bench/baselines/sqlite.ts';
import { runScenario } from '../../bench/scenarios.ts';
import type { Scenario } from '../../bench/scenarios.ts';
import { audit } from '../../bench/stats.ts';
import { openBuildcoord } from '../../bench/targets.ts';
import type { Target } from '../../bench/targets.ts';
import { seedThrough } from '../../bench/workload.ts';
import * as api from '../../src/api.ts';

const root = mkdtempSync(join(tmpdir(), 'buildcoord-bench-test-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let files = 0;
const sqlite = (requests: number, builders: number) => {
  const claims = new SqliteClaims(join(root, `state-${++files}.sqlite`), 'FULL');
  claims.addRequests(requests, builders);
  return claims;
};
const range = (first: number, count: number) => Array.from({ length: count }, (_, i) => first + i);

/** One scripted run over requests 1..5: [master, call, brid]. 6 does not exist. */
const script: [number, 'claim' | 'complete', number][] = [
  [0, 'claim', 1], // unclaimed: won
  [1, 'claim', 1], // claimed by master 0: refused
  [0, 'claim', 1], // claimed by itself: refused too
  [1, 'claim', 2],
  [1, 'complete', 2], // its own claim
  [0, 'claim', 2], // complete: refused
  [0, 'complete', 2], // complete already: refused
  [1, 'complete', 3], // unclaimed: completes, as Buildbot does
  [1, 'claim', 3], // complete: refused
  [0, 'complete', 1],
  [1, 'claim', 6], // missing: refused
  [0, 'complete', 6], // missing: refused
  [1, 'claim', 4],
];

describe('the sqlite baseline against buildcoord', () => {
  it('gives the same answer to every call of a scripted run, and ends in the same state', async () => {
    const claims = sqlite(5, 5);
    const theirs = sqliteTarget(claims);
    const { target: ours, dbs, coordinator } = await openBuildcoord(api, api.memoryBackend(), { durability: 'sync', masters: 2 });
    await seedThrough(dbs[0]!, 5, 5);
    const outcome = (target: Target, call: 'claim' | 'complete', master: number, brid: number) =>
      call === 'claim'
        ? target.claim(master, brid)
        : target.complete(master, brid).then(
            () => true,
            () => false,
          );

    for (const [master, call, brid] of script) {
      const expected = await outcome(ours, call, master, brid);
      expect(await outcome(theirs, call, master, brid), `${call} ${brid} by master ${master}`).toBe(expected);
    }
    for (let brid = 1; brid <= 5; brid++) {
      const br = (await dbs[0]!.buildrequests.getBuildRequest(brid))!;
      const holder = !br.claimed ? null : br.mine ? 1 : 2; // sqlite's masterid is the master's index + 1
      expect([claims.claimedBy(brid), claims.isComplete(brid)], `request ${brid}`).toEqual([holder, br.complete]);
    }
    for (let m = 0; m < 2; m++) {
      const sort = (held: { brid: number; complete: boolean }[]) => held.sort((a, b) => a.brid - b.brid);
      expect(sort(await theirs.claimedBy(m))).toEqual(sort(await ours.claimedBy(m)));
    }
    expect(claims.unclaimed('builder-4').map((br) => br.brid)).toEqual([5]);
    expect(await ours.unclaimed(0, 'builder-4')).toEqual([5]);
    await coordinator.close();
    await theirs.close();
  });

  it('answers polls as getBuildRequests({ buildername, claimed: false }) does, whole rows', async () => {
    const claims = sqlite(20, 4);
    const theirs = sqliteTarget(claims);
    const { target: ours, dbs, coordinator } = await openBuildcoord(api, api.memoryBackend(), { durability: 'sync', masters: 2 });
    await seedThrough(dbs[0]!, 20, 4);
    for (const t of [ours, theirs]) {
      await t.claim(0, 1);
      await t.claim(1, 5);
      await t.complete(0, 9);
    }
    expect(await theirs.unclaimed(0, 'builder-0')).toEqual(await ours.unclaimed(0, 'builder-0'));
    expect(await theirs.unclaimed(0, 'builder-0')).toEqual([13, 17]);
    const row = claims.unclaimed('builder-1')[0]!;
    const br = (await dbs[0]!.buildrequests.getBuildRequest(2))!;
    expect(Object.keys(row).sort()).toEqual(Object.keys(br).sort());
    expect({ ...row, submitted_at: null }).toEqual({ ...br, submitted_at: null, buildsetid: row.buildsetid });
    await coordinator.close();
    await theirs.close();
  });

  it.each<[Scenario, number]>([
    ['claim', 8],
    ['contended', 8],
    ['poll', 8],
    ['poll', 1],
  ])('%s at %i in flight: the same wins and losses on both, and each store agrees with its claimers', async (scenario, concurrency) => {
    const work = { brids: range(1, 64), masters: 4, builders: 8 };
    const claims = sqlite(64, 8);
    const theirs = sqliteTarget(claims);
    const { target: ours, dbs, coordinator } = await openBuildcoord(api, api.memoryBackend(), { durability: 'sync', masters: 4 });
    await seedThrough(dbs[0]!, 64, 8);
    const results = [];
    for (const target of [ours, theirs]) {
      const r = await runScenario(target, scenario, concurrency, work);
      const held = [];
      for (let m = 0; m < 4; m++) held.push(await target.claimedBy(m));
      expect(audit(work.brids, r.wins, held)).toEqual([]);
      results.push({ wins: r.wins.length, losses: scenario === 'poll' ? 'varies' : r.losses, completes: r.completeCalls });
    }
    expect(results[1]).toEqual(results[0]);
    await coordinator.close();
    await theirs.close();
  });
});
