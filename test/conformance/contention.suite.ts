import { describe, expect, it } from 'vitest';
import { AlreadyClaimedError } from '../../src/api.ts';
import type { Connector } from '../../src/api.ts';
import { severalMasters } from './harness.ts';
import type { Harness } from './harness.ts';

/** Adds buildsets until `count` requests exist; returns their brids. */
async function addRequests(db: Connector, count: number, perBuildset = 50): Promise<number[]> {
  const sss = await db.sourcestampsets.addSourceStampSet();
  const brids: number[] = [];
  while (brids.length < count) {
    const n = Math.min(perBuildset, count - brids.length);
    const builderNames = Array.from({ length: n }, (_, i) => `builder-${i}`);
    const [, made] = await db.buildsets.addBuildset({ sourcestampsetid: sss, reason: 'load', properties: {}, builderNames });
    brids.push(...Object.values(made));
  }
  return brids;
}

export default function contention(h: Harness) {
  // With a shared store's harness, each master is on a coordinator of its own.
  describe(`contention [${h.name}]`, () => {
    const several = severalMasters(h);

    // With a bound of 16 live actors, most claims rehydrate their request while others are deciding.
    it.each([{ maxLiveActors: undefined }, { maxLiveActors: 16 }])(
      '1,000 concurrent claims from 4 masters over 250 requests: each request won by exactly one master (%o)',
      async ({ maxLiveActors }) => {
        const masters = await several.open(['m1', 'm2', 'm3', 'm4'], maxLiveActors === undefined ? {} : { maxLiveActors });
        const brids = await addRequests(masters[0]!, 250);
        // Every master tries every request once: 4 x 250 = 1,000 calls in flight.
        const attempts = masters.flatMap((db) => brids.map((brid) => ({ db, brid })));
        const outcomes = await Promise.all(
          attempts.map(({ db, brid }) =>
            db.buildrequests.claimBuildRequests([brid]).then(
              () => ({ brid, masterid: db.masterid, won: true as const }),
              (error: unknown) => ({ brid, masterid: db.masterid, won: false as const, error }),
            ),
          ),
        );
        const winners = new Map<number, number[]>();
        for (const o of outcomes) {
          if (o.won) winners.set(o.brid, [...(winners.get(o.brid) ?? []), o.masterid]);
          else expect(o.error).toBeInstanceOf(AlreadyClaimedError);
        }
        expect(brids.every((brid) => winners.get(brid)?.length === 1)).toBe(true);
        expect(outcomes.filter((o) => !o.won)).toHaveLength(750);
        // What each master reads agrees with who won.
        for (const db of masters) {
          const mine = await db.buildrequests.getBuildRequests({ claimed: 'mine' });
          const won = brids.filter((brid) => winners.get(brid)![0] === db.masterid);
          expect(mine.map((br) => br.brid).sort((a, b) => a - b)).toEqual(won);
        }
        expect(await masters[0]!.buildrequests.getBuildRequests({ claimed: false })).toEqual([]);
      },
    );

    it('a 1,000-request claim that fails on one request leaves none claimed', async () => {
      const [m1, m2] = (await several.open(['m1', 'm2'])) as [Connector, Connector];
      const brids = await addRequests(m1, 1000, 100);
      await m2.buildrequests.claimBuildRequests([brids[617]!]);
      await expect(m1.buildrequests.claimBuildRequests(brids)).rejects.toThrow(AlreadyClaimedError);
      expect(await m1.buildrequests.getBuildRequests({ claimed: 'mine' })).toEqual([]);
      const claimed = await m1.buildrequests.getBuildRequests({ claimed: true });
      expect(claimed.map((br) => br.brid)).toEqual([brids[617]]);
      expect(await m1.buildrequests.getBuildRequests({ claimed: false })).toHaveLength(999);
    });
  });
}
