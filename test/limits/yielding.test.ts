import { describe, expect, it } from 'vitest';
import { AlreadyClaimedError } from '../../src/api.ts';
import type { Connector } from '../../src/api.ts';
import { CHUNK } from '../../src/breathe.ts';
import { LIMITS } from '../../src/validate.ts';
import { requests, storeFixture, STORES } from './stores.ts';

/**
 * Long commands let the event loop turn between chunks (no wall-clock
 * assertions: a setImmediate ticker must run while the call is in flight),
 * and doing so keeps them one command: all or nothing, unseen until
 * committed, and serialized with every other. The in-memory store is where
 * this matters (LevelDB's reads wait on I/O anyway); both are run.
 */

/** Runs `call` while a setImmediate ticker counts its turns; `onTick` runs at each (before the call has resolved). */
async function ticksDuring<T>(call: () => Promise<T>, onTick: (tick: number) => void = () => {}): Promise<{ ticks: number; result: PromiseSettledResult<T> }> {
  let ticks = 0;
  let done = false;
  const tick = () => {
    if (done) return;
    onTick(++ticks);
    setImmediate(tick);
  };
  setImmediate(tick);
  const [result] = await Promise.allSettled([call()]);
  done = true;
  return { ticks, result: result! };
}

describe.each(STORES)('yielding in long commands [%s]', (kind) => {
  const open = storeFixture(kind);
  const N = LIMITS.idsPerCall;
  expect(N).toBeGreaterThan(2 * CHUNK); // so the largest legal call spans chunks

  it('a claim of idsPerCall requests lets the event loop turn; readers meanwhile see all of it or none; then all are claimed', async () => {
    const { db } = await open();
    const brids = await requests(db, N);
    const seen: Promise<number>[] = [];
    const { ticks, result } = await ticksDuring(
      () => db.buildrequests.claimBuildRequests(brids),
      () => seen.push(db.buildrequests.getBuildRequests({ claimed: 'mine' }).then((mine) => mine.length)),
    );
    expect(result.status).toBe('fulfilled');
    expect(ticks).toBeGreaterThan(0);
    // Never part of it: nothing decided is seen before it is durable, and a commit's records turn current at once.
    for (const count of await Promise.all(seen)) expect([0, N]).toContain(count);
    expect(await db.buildrequests.getBuildRequests({ claimed: 'mine' })).toHaveLength(N);
  });

  it('a claim refused at its last request, after turning the event loop, leaves every request unclaimed', async () => {
    const store = await open();
    const brids = await requests(store.db, N);
    const other = await store.coordinator.connect('m2');
    await other.buildrequests.claimBuildRequests([brids.at(-1)!]);
    const before = await store.dump();
    const { ticks, result } = await ticksDuring(() => store.db.buildrequests.claimBuildRequests(brids));
    expect(ticks).toBeGreaterThan(0);
    expect(result.status === 'rejected' && result.reason).toBeInstanceOf(AlreadyClaimedError);
    expect(await store.dump()).toBe(before);
  });

  it('a claim issued by another master while a long claim breathes waits its turn, and loses', async () => {
    const store = await open();
    const brids = await requests(store.db, N);
    const other = await store.coordinator.connect('m2');
    let rival: Promise<unknown> | undefined;
    const { ticks, result } = await ticksDuring(
      () => store.db.buildrequests.claimBuildRequests(brids),
      () =>
        void (rival ??= other.buildrequests.claimBuildRequests([brids[0]!]).then(
          () => 'won',
          (error: unknown) => error,
        )),
    );
    expect(ticks).toBeGreaterThan(0);
    expect(result.status).toBe('fulfilled');
    expect(await rival).toBeInstanceOf(AlreadyClaimedError);
    expect((await store.db.buildrequests.getBuildRequest(brids[0]!))!.mine).toBe(true);
  });

  const largest: [string, (db: Connector, brids: number[]) => Promise<() => Promise<unknown>>][] = [
    ['completeBuildRequests of idsPerCall', async (db, brids) => () => db.buildrequests.completeBuildRequests(brids, 0)],
    [
      'unclaimBuildRequests of idsPerCall',
      async (db, brids) => {
        await db.buildrequests.claimBuildRequests(brids);
        return () => db.buildrequests.unclaimBuildRequests(brids);
      },
    ],
    [
      'finishBuilds of idsPerCall',
      async (db, brids) => {
        const bids = await Promise.all(brids.map((brid) => db.builds.addBuild(brid, 1)));
        return () => db.builds.finishBuilds(bids);
      },
    ],
    [
      'addBuildset of buildersPerBuildset',
      async (db) => {
        const sss = await db.sourcestampsets.addSourceStampSet();
        const builderNames = Array.from({ length: LIMITS.buildersPerBuildset }, (_, i) => `new-${i}`);
        return () => db.buildsets.addBuildset({ sourcestampsetid: sss, reason: 'r', properties: {}, builderNames });
      },
    ],
    [
      'addSourceStamp and classifyChanges of idsPerCall changeids',
      async (db) => {
        const changeids = await Promise.all(Array.from({ length: N }, () => db.changes.addChange({})));
        const sss = await db.sourcestampsets.addSourceStampSet();
        const objectid = await db.state.getObjectId('s', 'Scheduler');
        return async () => {
          await db.sourcestamps.addSourceStamp({ branch: null, revision: null, repository: '', project: '', sourcestampsetid: sss, changeids });
          await db.schedulers.classifyChanges(objectid, Object.fromEntries(changeids.map((id) => [id, true])));
        };
      },
    ],
  ];
  it.each(largest)('%s lets the event loop turn', async (_, prepare) => {
    const { db } = await open();
    const call = await prepare(db, await requests(db, N));
    const { ticks, result } = await ticksDuring(call);
    expect(result.status).toBe('fulfilled');
    expect(ticks).toBeGreaterThan(0);
  });

  describe('bulk releases, bounded by no input, are one command that breathes', () => {
    const MANY = 3 * N;

    it('unclaimExpiredRequests of many claims', async () => {
      const { db } = await open();
      const brids = await requests(db, MANY);
      for (let i = 0; i < MANY; i += N) await db.buildrequests.claimBuildRequests(brids.slice(i, i + N), { claimed_at: new Date(0) });
      const { ticks, result } = await ticksDuring(() => db.buildrequests.unclaimExpiredRequests(60));
      expect(ticks).toBeGreaterThan(0);
      expect(result).toEqual({ status: 'fulfilled', value: MANY });
    });

    it('setMasterState(m, false) of a master with many claims: readers meanwhile see every claim held, or none', async () => {
      const store = await open();
      const gone = await store.coordinator.connect('m2');
      const brids = await requests(store.db, MANY);
      for (let i = 0; i < MANY; i += N) await gone.buildrequests.claimBuildRequests(brids.slice(i, i + N));
      const seen: Promise<number>[] = [];
      const { ticks, result } = await ticksDuring(
        () => store.db.masters.setMasterState(gone.masterid, false),
        () => seen.push(store.db.buildrequests.getBuildRequests({ claimed: true }).then((held) => held.length)),
      );
      expect(ticks).toBeGreaterThan(0);
      expect(result).toEqual({ status: 'fulfilled', value: true });
      for (const count of await Promise.all(seen)) expect([0, MANY]).toContain(count);
      expect(await store.db.buildrequests.getBuildRequests({ claimed: true })).toEqual([]);
    });

    it('removeUser of a user with many changes', async () => {
      const { db } = await open();
      const uid = await db.users.findUserByAttr({ identifier: 'ann', attr_type: 'git', attr_data: 'ann' });
      await Promise.all(Array.from({ length: 2 * CHUNK + 1 }, () => db.changes.addChange({ uid })));
      const { ticks, result } = await ticksDuring(() => db.users.removeUser(uid));
      expect(result.status).toBe('fulfilled');
      expect(ticks).toBeGreaterThan(0);
      expect(await db.changes.getChangeUids(1)).toEqual([]);
    });
  });
});
