import { describe, expect, it } from 'vitest';
import { AlreadyClaimedError, ClosedError, openCoordinator, StorageError } from '../../src/api.ts';
import type { Connector } from '../../src/api.ts';
import { ControlledBackend, isSettled, turns } from '../support/controlledBackend.ts';

async function setup(builders = ['a', 'b', 'c']) {
  const backend = new ControlledBackend();
  const coordinator = await openCoordinator({ backend });
  const m1 = await coordinator.connect('m1');
  const m2 = await coordinator.connect('m2');
  const sss = await m1.sourcestampsets.addSourceStampSet();
  const [, brids] = await m1.buildsets.addBuildset({ sourcestampsetid: sss, reason: 'r', properties: {}, builderNames: builders });
  return { backend, coordinator, m1, m2, brids: Object.values(brids) };
}

const claimedBy = async (db: Connector, brid: number) => {
  const br = await db.buildrequests.getBuildRequest(brid);
  return br!.claimed ? (br!.mine ? 'me' : 'other') : 'nobody';
};

describe('commit path', () => {
  it('concurrent commands are grouped into fewer store writes than commands', async () => {
    const builders = Array.from({ length: 64 }, (_, i) => `b${i}`);
    const { backend, coordinator, m1, brids } = await setup(builders);
    const before = backend.writes.length;
    await Promise.all(brids.map((brid) => m1.buildrequests.claimBuildRequests([brid])));
    const writes = backend.writes.length - before;
    expect(writes).toBeGreaterThanOrEqual(1);
    expect(writes).toBeLessThan(brids.length / 4);
    await coordinator.close();
  });

  it('callers that wait for each answer split into two groups: one decides while the other is written', async () => {
    const builders = Array.from({ length: 64 }, (_, i) => `b${i}`);
    const { backend, coordinator, m1, brids } = await setup(builders);
    backend.hold();
    const first = brids.map((brid) => m1.buildrequests.claimBuildRequests([brid]));
    await turns();
    // Half the callers' claims went to the store at once; the other half were decided meanwhile and wait their turn.
    expect(backend.heldWrites).toBe(1);
    backend.release();
    await Promise.all(first);
    const claimWrites = backend.writes.slice(-2).map((batch) => [...batch.keys()].filter((key) => key.startsWith('r/br/')).length);
    expect(claimWrites).toEqual([32, 32]);
    await coordinator.close();
  });

  it('a claim is answered only once its write is in the store', async () => {
    const { backend, coordinator, m1, brids } = await setup();
    backend.hold();
    const claim = m1.buildrequests.claimBuildRequests([brids[0]!]);
    await turns();
    expect(backend.heldWrites).toBe(1);
    expect(await isSettled(claim)).toBe(false);
    backend.release();
    await claim;
    expect(await claimedBy(m1, brids[0]!)).toBe('me');
    await coordinator.close();
  });

  it('a refusal that saw an undurable claim waits for that claim to be durable', async () => {
    const { backend, coordinator, m1, m2, brids } = await setup();
    backend.hold();
    const win = m1.buildrequests.claimBuildRequests([brids[0]!]);
    const lose = m2.buildrequests.claimBuildRequests([brids[0]!]);
    lose.catch(() => {});
    await turns();
    expect(await isSettled(lose)).toBe(false);
    backend.release();
    await win;
    await expect(lose).rejects.toThrow(AlreadyClaimedError);
    await coordinator.close();
  });

  it('a failed write fails its calls, leaves memory at the durable state, and later calls succeed', async () => {
    const { backend, coordinator, m1, m2, brids } = await setup();
    backend.failWrites(1);
    await expect(m1.buildrequests.claimBuildRequests([brids[0]!])).rejects.toThrow(StorageError);
    expect(await claimedBy(m1, brids[0]!)).toBe('nobody');
    // The actor is back at "unclaimed": another master can claim it now.
    await m2.buildrequests.claimBuildRequests([brids[0]!]);
    expect(await claimedBy(m2, brids[0]!)).toBe('me');
    await coordinator.close();
  });

  it('calls that only saw a failed write are decided again on the durable state', async () => {
    const { backend, coordinator, m1, m2, brids } = await setup();
    backend.hold();
    backend.failWrites(1);
    const doomed = m1.buildrequests.claimBuildRequests([brids[0]!]);
    doomed.catch(() => {});
    await turns(); // the doomed claim's write is in flight
    const second = m2.buildrequests.claimBuildRequests([brids[0]!]); // refused on the undurable state
    const third = m2.buildrequests.claimBuildRequests([brids[1]!]); // grouped behind the failing write
    backend.release();
    await expect(doomed).rejects.toThrow(StorageError);
    await second;
    await third;
    expect(await claimedBy(m2, brids[0]!)).toBe('me');
    expect(await claimedBy(m2, brids[1]!)).toBe('me');
    await coordinator.close();
  });

  it('a multi-request claim refused on its last request writes nothing at all', async () => {
    const { backend, coordinator, m1, m2, brids } = await setup();
    await m2.buildrequests.claimBuildRequests([brids[2]!]);
    const writes = backend.writes.length;
    await expect(m1.buildrequests.claimBuildRequests(brids)).rejects.toThrow(AlreadyClaimedError);
    expect(backend.writes.length).toBe(writes);
    expect(await claimedBy(m1, brids[0]!)).toBe('nobody');
    expect(await claimedBy(m1, brids[1]!)).toBe('nobody');
    await coordinator.close();
  });

  it('close answers every call already taken, then refuses new ones', async () => {
    const { coordinator, m1, brids } = await setup();
    const pending = brids.map((brid) => m1.buildrequests.claimBuildRequests([brid]));
    await coordinator.close();
    await Promise.all(pending);
    await expect(m1.buildrequests.claimBuildRequests([brids[0]!])).rejects.toThrow(ClosedError);
    await expect(m1.buildrequests.getBuildRequest(brids[0]!)).rejects.toThrow(ClosedError);
    await expect(coordinator.connect('m3')).rejects.toThrow(ClosedError);
  });
});
