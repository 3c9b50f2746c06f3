import { describe, expect, it } from 'vitest';
import { openCoordinator } from '../../src/api.ts';
import type { Connector } from '../../src/api.ts';

const BOUND = 2_000;

async function addBuildset(db: Connector, sss: number, builders: number): Promise<number[]> {
  const builderNames = Array.from({ length: builders }, (_, i) => `builder-${i}`);
  const [, brids] = await db.buildsets.addBuildset({ sourcestampsetid: sss, reason: 'load', properties: {}, builderNames });
  return Object.values(brids);
}

describe('passivation', () => {
  it('200,000 requests created, claimed and completed never hold more live actors than the bound', async () => {
    const coordinator = await openCoordinator({ maxLiveActors: BOUND });
    const db = await coordinator.connect('m1');
    const sss = await db.sourcestampsets.addSourceStampSet();
    let peak = 0;
    let created = 0;
    // Rounds of 1,000 requests (10 buildsets of 100 builders), claimed and completed 100 per call.
    while (created < 200_000) {
      const brids = (await Promise.all(Array.from({ length: 10 }, () => addBuildset(db, sss, 100)))).flat();
      created += brids.length;
      peak = Math.max(peak, coordinator.liveActors);
      const chunks = Array.from({ length: 10 }, (_, i) => brids.slice(i * 100, i * 100 + 100));
      await Promise.all(chunks.map((chunk) => db.buildrequests.claimBuildRequests(chunk)));
      peak = Math.max(peak, coordinator.liveActors);
      await Promise.all(chunks.map((chunk) => db.buildrequests.completeBuildRequests(chunk, 0)));
      peak = Math.max(peak, coordinator.liveActors);
    }
    expect(created).toBe(200_000);
    expect(peak).toBeLessThanOrEqual(BOUND);
    // Complete actors are passivated at once; the store still has every one.
    expect(coordinator.liveActors).toBe(0);
    expect(await db.buildrequests.getBuildRequests({ complete: false })).toEqual([]);
    const last = await db.buildrequests.getBuildRequest(200_000);
    expect(last).toMatchObject({ complete: true, mine: true, results: 0 });
    await coordinator.close();
  });

  it('an idle actor evicted beyond the bound is rehydrated on demand in its state', async () => {
    const coordinator = await openCoordinator({ maxLiveActors: 10 });
    const [m1, m2] = [await coordinator.connect('m1'), await coordinator.connect('m2')];
    const sss = await m1.sourcestampsets.addSourceStampSet();
    const first = await addBuildset(m1, sss, 5);
    await m1.buildrequests.claimBuildRequests(first);
    for (let i = 0; i < 10; i++) await addBuildset(m1, sss, 5); // pushes the first ones out
    expect(coordinator.liveActors).toBeLessThanOrEqual(10);
    await expect(m2.buildrequests.claimBuildRequests([first[0]!])).rejects.toThrow(/claimed by master/);
    await m1.buildrequests.unclaimBuildRequests([first[0]!]);
    await m2.buildrequests.claimBuildRequests([first[0]!]);
    expect(await m2.buildrequests.getBuildRequest(first[0]!)).toMatchObject({ claimed: true, mine: true });
    await coordinator.close();
  });
});
