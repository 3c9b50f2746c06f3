import { describe, expect, it } from 'vitest';
import { openCoordinator } from '../../src/api.ts';
import { SharedMemoryStore } from '../../src/persistence/shared/memory.ts';

const HOUR = 3_600_000;

describe("a shared store's clock", () => {
  it('is what claims are timed by when no clock is given, however far this machine is off', async () => {
    const store = new SharedMemoryStore();
    // The store's clock is an hour ahead of this machine's.
    const coordinator = await openCoordinator({ backend: store.connect({ clockOffset: HOUR }) });
    const db = await coordinator.connect('m');
    const sss = await db.sourcestampsets.addSourceStampSet();
    const [, brids] = await db.buildsets.addBuildset({ sourcestampsetid: sss, reason: 'r', properties: {}, builderNames: ['x'] });
    await db.buildrequests.claimBuildRequests([brids.x!]);
    const claimedAt = (await db.buildrequests.getBuildRequest(brids.x!))!.claimed_at!.getTime();
    expect(Math.abs(claimedAt - (Date.now() + HOUR))).toBeLessThan(5_000);
    // By the store's clock the claim is fresh; by this machine's it would not even have been made yet.
    expect(await db.buildrequests.unclaimExpiredRequests(60)).toBe(0);
    await coordinator.close();
  });

  it('leaves an injected clock alone', async () => {
    const store = new SharedMemoryStore();
    const at = new Date('2020-01-01T00:00:00Z');
    const coordinator = await openCoordinator({ backend: store.connect({ clockOffset: HOUR }), now: () => at });
    const db = await coordinator.connect('m');
    expect((await db.masters.getMaster(db.masterid))!.last_active).toEqual(at);
    await coordinator.close();
  });
});
