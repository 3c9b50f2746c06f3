import { describe, expect, it } from 'vitest';
import { AlreadyClaimedError, ChangeSourceAlreadyClaimedError, KeyError, NotClaimedError } from '../../src/api.ts';
import type { Connector } from '../../src/api.ts';
import { severalMasters } from './harness.ts';
import type { Harness } from './harness.ts';

const ids = (list: { brid: number }[]) => list.map((br) => br.brid).sort((a, b) => a - b);

export default function twoMasters(h: Harness) {
  // With a shared store's harness, m1 and m2 are on coordinators of their own.
  describe(`two masters [${h.name}]`, () => {
    const masters = severalMasters(h);

    async function farm() {
      const [m1, m2] = (await masters.open(['m1', 'm2'])) as [Connector, Connector];
      const sss = await m1.sourcestampsets.addSourceStampSet();
      const [, brids] = await m1.buildsets.addBuildset({ sourcestampsetid: sss, reason: 'r', properties: {}, builderNames: ['a', 'b', 'c', 'd'] });
      const cs = await m1.changesources.findChangeSourceId('poller');
      await m1.changesources.setChangeSourceMaster(cs, m1.masterid);
      return { m1, m2, brids: brids as Record<'a' | 'b' | 'c' | 'd', number>, cs };
    }

    it('the second master to claim a request loses; the first keeps it', async () => {
      const { m1, m2, brids } = await farm();
      await m1.buildrequests.claimBuildRequests([brids.a]);
      await expect(m2.buildrequests.claimBuildRequests([brids.a])).rejects.toThrow(AlreadyClaimedError);
      expect(await m1.buildrequests.getBuildRequest(brids.a)).toMatchObject({ claimed: true, mine: true });
      expect(await m2.buildrequests.getBuildRequest(brids.a)).toMatchObject({ claimed: true, mine: false });
    });

    it('a master going inactive loses its claims on incomplete requests and its change sources, in one step', async () => {
      const { m1, m2, brids, cs } = await farm();
      await m1.buildrequests.claimBuildRequests([brids.a, brids.b, brids.c]);
      await m1.buildrequests.completeBuildRequests([brids.c], 0);
      await m2.buildrequests.claimBuildRequests([brids.d]);
      expect(await m2.masters.setMasterState(m1.masterid, false)).toBe(true);

      expect(await m2.buildrequests.getBuildRequest(brids.a)).toMatchObject({ claimed: false, claimed_at: null });
      expect(await m2.buildrequests.getBuildRequest(brids.b)).toMatchObject({ claimed: false });
      // Complete requests keep their claim, as in Buildbot 0.8.8; the other master's claim is untouched.
      expect(await m1.buildrequests.getBuildRequest(brids.c)).toMatchObject({ complete: true, claimed: true, mine: true });
      expect(await m2.buildrequests.getBuildRequest(brids.d)).toMatchObject({ claimed: true, mine: true });
      expect((await m2.changesources.getChangeSource(cs))!.masterid).toBeNull();

      // The survivor takes over.
      await m2.buildrequests.claimBuildRequests([brids.a, brids.b]);
      await m2.changesources.setChangeSourceMaster(cs, m2.masterid);
      expect((await m2.buildrequests.getBuildRequests({ claimed: 'mine', complete: false })).map((br) => br.brid).sort((x, y) => x - y)).toEqual([brids.a, brids.b, brids.d]);
    });

    it('reconnecting the vanished master does not give it its old claims back', async () => {
      const { m1, m2, brids } = await farm();
      await m1.buildrequests.claimBuildRequests([brids.a]);
      await m2.masters.setMasterState(m1.masterid, false);
      const again = await masters.connectBeside(m1, 'm1');
      expect(again.masterid).toBe(m1.masterid);
      expect((await again.masters.getMaster(m1.masterid))!.active).toBe(true);
      expect(await again.buildrequests.getBuildRequests({ claimed: 'mine' })).toEqual([]);
    });

    it('two masters claiming overlapping batches at once: one batch is claimed whole, the other not at all', async () => {
      const { m1, m2, brids } = await farm();
      const [one, two] = await Promise.allSettled([m1.buildrequests.claimBuildRequests([brids.a, brids.b]), m2.buildrequests.claimBuildRequests([brids.b, brids.c])]);
      expect([one.status, two.status].sort()).toEqual(['fulfilled', 'rejected']);
      const loser = one.status === 'rejected' ? one : (two as PromiseRejectedResult);
      expect(loser.reason).toBeInstanceOf(AlreadyClaimedError);
      const [winner, winning, losing] = one.status === 'fulfilled' ? [m1, [brids.a, brids.b], brids.c] : [m2, [brids.b, brids.c], brids.a];
      expect(ids(await winner.buildrequests.getBuildRequests({ claimed: 'mine' }))).toEqual(winning.sort((x, y) => x - y));
      expect(await m1.buildrequests.getBuildRequest(losing)).toMatchObject({ claimed: false, mine: false });
      expect(ids(await m1.buildrequests.getBuildRequests({ claimed: false }))).toEqual([losing, brids.d].sort((x, y) => x - y));
    });

    it('two masters linking one change source at once: one links it, the other is refused', async () => {
      const { m1, m2 } = await farm();
      const cs = await m1.changesources.findChangeSourceId('svn-poller');
      const outcomes = await Promise.allSettled([m1.changesources.setChangeSourceMaster(cs, m1.masterid), m2.changesources.setChangeSourceMaster(cs, m2.masterid)]);
      expect(outcomes.map((o) => o.status).sort()).toEqual(['fulfilled', 'rejected']);
      const refused = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected')!;
      expect(refused.reason).toBeInstanceOf(ChangeSourceAlreadyClaimedError);
      const winner = outcomes[0]!.status === 'fulfilled' ? m1 : m2;
      expect(await m1.changesources.getChangeSource(cs)).toEqual({ id: cs, name: 'svn-poller', masterid: winner.masterid });
    });

    it("mine and claimed: 'mine' are relative to the master asking", async () => {
      const { m1, m2, brids } = await farm();
      await m1.buildrequests.claimBuildRequests([brids.a, brids.b]);
      await m2.buildrequests.claimBuildRequests([brids.c]);
      expect(ids(await m1.buildrequests.getBuildRequests({ claimed: 'mine' }))).toEqual([brids.a, brids.b]);
      expect(ids(await m2.buildrequests.getBuildRequests({ claimed: 'mine' }))).toEqual([brids.c]);
      for (const brid of [brids.a, brids.b, brids.c]) {
        const [seen1, seen2] = [await m1.buildrequests.getBuildRequest(brid), await m2.buildrequests.getBuildRequest(brid)];
        expect(seen1!.mine).toBe(brid !== brids.c);
        expect(seen2!.mine).toBe(brid === brids.c);
        expect({ ...seen1, mine: null }).toEqual({ ...seen2, mine: null }); // the rest is the same for both
      }
    });

    it("one master can neither unclaim nor reclaim the other's claim, but can complete it", async () => {
      const { m1, m2, brids } = await farm();
      await m1.buildrequests.claimBuildRequests([brids.a, brids.b]);
      await m2.buildrequests.unclaimBuildRequests([brids.a]);
      await expect(m2.buildrequests.reclaimBuildRequests([brids.a])).rejects.toThrow(AlreadyClaimedError);
      expect(await m1.buildrequests.getBuildRequest(brids.a)).toMatchObject({ claimed: true, mine: true, complete: false });
      await m2.buildrequests.completeBuildRequests([brids.b], 0);
      expect(await m1.buildrequests.getBuildRequest(brids.b)).toMatchObject({ claimed: true, mine: true, complete: true, results: 0 });
    });

    it('after going inactive the master can no longer reclaim, and its reconnection gets back neither claims nor change sources', async () => {
      const { m1, m2, brids, cs } = await farm();
      await m1.buildrequests.claimBuildRequests([brids.a, brids.b]);
      await m1.buildrequests.completeBuildRequests([brids.b], 0);
      await m2.masters.setMasterState(m1.masterid, false);
      await expect(m1.buildrequests.reclaimBuildRequests([brids.a])).rejects.toThrow(AlreadyClaimedError);
      const again = await masters.connectBeside(m1, 'm1');
      expect(await again.buildrequests.getBuildRequest(brids.a)).toMatchObject({ claimed: false, mine: false });
      // The complete request kept its claim, so it is still this master's.
      expect(ids(await again.buildrequests.getBuildRequests({ claimed: 'mine' }))).toEqual([brids.b]);
      expect((await again.changesources.getChangeSource(cs))!.masterid).toBeNull();
      await again.changesources.setChangeSourceMaster(cs, again.masterid);
      expect(await m2.changesources.getChangeSources({ masterid: m1.masterid })).toEqual([{ id: cs, name: 'poller', masterid: m1.masterid }]);
    });

    it('a master that goes inactive while the other has taken over does not disturb the new owner', async () => {
      const { m1, m2, brids, cs } = await farm();
      await m1.buildrequests.claimBuildRequests([brids.a]);
      await m2.masters.setMasterState(m1.masterid, false);
      await m2.buildrequests.claimBuildRequests([brids.a]);
      await m2.changesources.setChangeSourceMaster(cs, m2.masterid);
      expect(await m2.masters.setMasterState(m1.masterid, false)).toBe(false); // again: nothing of m2's is released
      expect(await m2.buildrequests.getBuildRequest(brids.a)).toMatchObject({ claimed: true, mine: true });
      expect((await m2.changesources.getChangeSource(cs))!.masterid).toBe(m2.masterid);
    });

    it("expiry hands a silent master's requests to another", async () => {
      const { m1, m2, brids } = await farm();
      await m1.buildrequests.claimBuildRequests([brids.a], { claimed_at: new Date(Date.UTC(2020, 0, 1)) });
      expect(await m2.buildrequests.unclaimExpiredRequests(3600)).toBe(1);
      await m2.buildrequests.claimBuildRequests([brids.a]);
      await expect(m1.buildrequests.reclaimBuildRequests([brids.a])).rejects.toThrow(AlreadyClaimedError);
    });

    // The tests below matter most where each master has a coordinator of its
    // own: a master's coordinator has read (and may hold) the old state, and
    // must decide on the other's later write, never on its copy.

    it('a claim refused, then allowed, on what the other master did since this one last read', async () => {
      const { m1, m2, brids } = await farm();
      expect(await m1.buildrequests.getBuildRequest(brids.a)).toMatchObject({ claimed: false });
      await m2.buildrequests.claimBuildRequests([brids.a]);
      await expect(m1.buildrequests.claimBuildRequests([brids.b, brids.a])).rejects.toThrow(AlreadyClaimedError);
      expect(await m1.buildrequests.getBuildRequest(brids.b)).toMatchObject({ claimed: false }); // all or nothing
      expect(await m1.buildrequests.getBuildRequest(brids.a)).toMatchObject({ claimed: true, mine: false });
      await expect(m1.buildrequests.reclaimBuildRequests([brids.a])).rejects.toThrow(AlreadyClaimedError);

      await m2.buildrequests.unclaimBuildRequests([brids.a]);
      await m1.buildrequests.claimBuildRequests([brids.a, brids.b]);
      await expect(m2.buildrequests.claimBuildRequests([brids.a])).rejects.toThrow(AlreadyClaimedError);
      await expect(m2.buildrequests.reclaimBuildRequests([brids.a])).rejects.toThrow(AlreadyClaimedError);
      expect(ids(await m2.buildrequests.getBuildRequests({ claimed: true }))).toEqual([brids.a, brids.b]);
      expect(await m2.buildrequests.getBuildRequests({ claimed: 'mine' })).toEqual([]);

      await m2.buildrequests.completeBuildRequests([brids.a], 3);
      expect(await m1.buildrequests.getBuildRequest(brids.a)).toMatchObject({ complete: true, results: 3, claimed: true, mine: true });
      await expect(m1.buildrequests.completeBuildRequests([brids.b, brids.a], 0)).rejects.toThrow(NotClaimedError);
      expect(await m2.buildrequests.getBuildRequest(brids.b)).toMatchObject({ complete: false }); // all or nothing
      await m1.buildrequests.reclaimBuildRequests([brids.b]);
    });

    it("a deactivation by the other master releases claims this master's side still has in view", async () => {
      const { m1, m2, brids, cs } = await farm();
      const m3 = await masters.connectBeside(m1, 'm3'); // a master beside m1, on its coordinator
      await m1.buildrequests.claimBuildRequests([brids.a, brids.b]);
      await expect(m3.buildrequests.claimBuildRequests([brids.a])).rejects.toThrow(AlreadyClaimedError);
      await expect(m3.changesources.setChangeSourceMaster(cs, m3.masterid)).rejects.toThrow(ChangeSourceAlreadyClaimedError);

      expect(await m2.masters.setMasterState(m1.masterid, false)).toBe(true);
      expect(await m1.buildrequests.getBuildRequests({ claimed: 'mine' })).toEqual([]);
      expect(await m1.masters.getMaster(m1.masterid)).toMatchObject({ active: false });
      expect((await m1.changesources.getChangeSource(cs))!.masterid).toBeNull();
      await expect(m1.buildrequests.reclaimBuildRequests([brids.b])).rejects.toThrow(AlreadyClaimedError);
      await m3.buildrequests.claimBuildRequests([brids.a]);
      await m3.changesources.setChangeSourceMaster(cs, m3.masterid);
      await expect(m2.buildrequests.claimBuildRequests([brids.a])).rejects.toThrow(AlreadyClaimedError);
      await m2.buildrequests.claimBuildRequests([brids.b]);
      expect(ids(await m1.buildrequests.getBuildRequests({ claimed: true }))).toEqual([brids.a, brids.b]);
      // m1 comes back: a change, not a no-op, and nothing of its old claims returns.
      expect(await m1.masters.setMasterState(m1.masterid, true)).toBe(true);
      expect(await m1.buildrequests.getBuildRequests({ claimed: 'mine' })).toEqual([]);
    });

    it("expiry by the other master releases claims this master's side still has in view", async () => {
      const { m1, m2, brids } = await farm();
      const m3 = await masters.connectBeside(m1, 'm3');
      await m1.buildrequests.claimBuildRequests([brids.a], { claimed_at: new Date(Date.UTC(2020, 0, 1)) });
      await m1.buildrequests.claimBuildRequests([brids.b]);
      await expect(m3.buildrequests.claimBuildRequests([brids.a])).rejects.toThrow(AlreadyClaimedError);
      expect(await m2.buildrequests.unclaimExpiredRequests(3600)).toBe(1);
      await m3.buildrequests.claimBuildRequests([brids.a]);
      await expect(m1.buildrequests.reclaimBuildRequests([brids.a])).rejects.toThrow(AlreadyClaimedError);
      expect(ids(await m1.buildrequests.getBuildRequests({ claimed: 'mine' }))).toEqual([brids.b]);
    });

    it('a change source linked by one master is refused to the other, which read it unlinked', async () => {
      const { m1, m2 } = await farm();
      const cs = await m1.changesources.findChangeSourceId('hg-poller');
      expect(await m2.changesources.getChangeSource(cs)).toEqual({ id: cs, name: 'hg-poller', masterid: null });
      await m1.changesources.setChangeSourceMaster(cs, m1.masterid);
      await expect(m2.changesources.setChangeSourceMaster(cs, m2.masterid)).rejects.toThrow(ChangeSourceAlreadyClaimedError);
      await m1.masters.setMasterState(m1.masterid, false);
      await m2.changesources.setChangeSourceMaster(cs, m2.masterid);
      await m1.masters.setMasterState(m1.masterid, true);
      await expect(m1.changesources.setChangeSourceMaster(cs, m1.masterid)).rejects.toThrow(ChangeSourceAlreadyClaimedError);
      expect(await m1.changesources.getChangeSources({ masterid: m2.masterid })).toEqual([{ id: cs, name: 'hg-poller', masterid: m2.masterid }]);
    });

    it.runIf(h.peer !== undefined)('a master whose process restarts has its claims and change source again, until the other expires or deactivates it', async () => {
      const { m1, m2, brids, cs } = await farm();
      await m1.buildrequests.claimBuildRequests([brids.a], { claimed_at: new Date(Date.UTC(2020, 0, 1)) });
      await m1.buildrequests.claimBuildRequests([brids.b]);
      const again = await masters.restart(m1, 'm1');
      expect(again.masterid).toBe(m1.masterid);
      await expect(m2.buildrequests.claimBuildRequests([brids.a])).rejects.toThrow(AlreadyClaimedError);
      expect(ids(await again.buildrequests.getBuildRequests({ claimed: 'mine' }))).toEqual([brids.a, brids.b]);
      await again.buildrequests.reclaimBuildRequests([brids.b]);
      await expect(again.changesources.setChangeSourceMaster(cs, again.masterid)).rejects.toThrow(ChangeSourceAlreadyClaimedError);

      expect(await m2.buildrequests.unclaimExpiredRequests(3600)).toBe(1); // a only: b was reclaimed just now
      await m2.buildrequests.claimBuildRequests([brids.a]);
      await expect(again.buildrequests.reclaimBuildRequests([brids.a])).rejects.toThrow(AlreadyClaimedError);
      expect(await m2.masters.setMasterState(again.masterid, false)).toBe(true);
      await m2.buildrequests.claimBuildRequests([brids.b]);
      await m2.changesources.setChangeSourceMaster(cs, m2.masterid);
      expect(await again.buildrequests.getBuildRequests({ claimed: 'mine' })).toEqual([]);
      expect(ids(await again.buildrequests.getBuildRequests({ claimed: true }))).toEqual([brids.a, brids.b]);
    });

    it('find-or-add of one name by both masters at once gives one id, for every kind of name', async () => {
      const { m1, m2 } = await farm();
      const find = (db: Connector) =>
        Promise.all([
          db.masters.findMasterId('m9'),
          db.changesources.findChangeSourceId('cvs'),
          db.state.getObjectId('nightly', 'Nightly'),
          db.users.findUserByAttr({ identifier: 'ann', attr_type: 'git', attr_data: 'ann@x' }),
        ]);
      const [one, two] = await Promise.all([find(m1), find(m2)]);
      expect(two).toEqual(one);
      // And once added, found by both again.
      expect(await find(m2)).toEqual(one);
      expect(await find(m1)).toEqual(one);
      expect((await m1.masters.getMasters()).filter((m) => m.name === 'm9')).toHaveLength(1);
      expect((await m2.changesources.getChangeSources()).filter((c) => c.name === 'cvs')).toHaveLength(1);
      expect((await m1.users.getUsers()).filter((u) => u.identifier === 'ann')).toHaveLength(1);
      // Names added one after the other from both sides get distinct, increasing ids.
      const [x, y] = [await m1.state.getObjectId('x', 'X'), await m2.state.getObjectId('y', 'Y')];
      expect(y).toBeGreaterThan(x);
      expect(x).toBeGreaterThan(one[2]);
    });

    it('ids from both masters are unique and increase in the order the calls are answered', async () => {
      const { m1, m2 } = await farm();
      const sequential: number[] = [];
      for (let i = 0; i < 6; i++) sequential.push(await (i % 2 === 0 ? m1 : m2).changes.addChange({ author: `a${i}` }));
      expect(sequential).toEqual([...sequential].sort((a, b) => a - b));
      expect(new Set(sequential).size).toBe(6);
      expect(await m2.changes.getLatestChangeid()).toBe(sequential[5]);

      const concurrent = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? m1 : m2).changes.addChange({ author: `b${i}` })));
      expect(new Set(concurrent).size).toBe(20);
      expect(Math.min(...concurrent)).toBeGreaterThan(sequential[5]!);
      const all = [...sequential, ...concurrent].sort((a, b) => a - b);
      expect((await m1.changes.getRecentChanges(26)).map((c) => c.changeid)).toEqual(all);
      expect(await m1.changes.getLatestChangeid()).toBe(all[25]);

      const sets = await Promise.all([m1, m2, m1, m2].map((db) => db.sourcestampsets.addSourceStampSet()));
      expect(new Set(sets).size).toBe(4);
      const made = await Promise.all([m1, m2].map((db, i) => db.buildsets.addBuildset({ sourcestampsetid: sets[i]!, reason: 'r', properties: {}, builderNames: ['x', 'y'] })));
      const brids = made.flatMap(([, b]) => Object.values(b));
      expect(new Set(brids).size).toBe(4);
      expect(made[0]![0]).not.toBe(made[1]![0]);
    });

    it('what one master writes, the other reads at once, even what it has read before', async () => {
      const { m1, m2, brids } = await farm();
      const objectid = await m1.state.getObjectId('sched', 'Nightly');
      await m1.state.setState(objectid, 'last', 1);
      expect(await m2.state.getState(objectid, 'last')).toBe(1);
      await m2.state.setState(objectid, 'last', 2);
      expect(await m1.state.getState(objectid, 'last')).toBe(2);

      const changeid = await m2.changes.addChange({ author: 'ann', branch: 'main' });
      await m1.schedulers.classifyChanges(objectid, { [changeid]: false });
      await m2.schedulers.classifyChanges(objectid, { [changeid]: true });
      expect(await m1.schedulers.getChangeClassifications(objectid)).toEqual({ [changeid]: true });
      await m1.schedulers.flushChangeClassifications(objectid);
      expect(await m2.schedulers.getChangeClassifications(objectid)).toEqual({});

      const uid = await m1.users.findUserByAttr({ identifier: 'bob', attr_type: 'git', attr_data: 'bob' });
      expect(await m1.users.getUserByUsername('bob')).toBeNull();
      await m2.users.updateUser({ uid, bb_username: 'bob', bb_password: 'h' });
      expect(await m1.users.getUserByUsername('bob')).toMatchObject({ uid, bb_username: 'bob' });
      await m1.users.removeUser(uid);
      expect(await m2.users.getUser(uid)).toBeNull();

      const bid = await m2.builds.addBuild(brids.a, 1);
      expect((await m1.builds.getBuildsForRequest(brids.a)).map((b) => b.bid)).toEqual([bid]);
      await m1.builds.finishBuilds([bid]);
      expect((await m2.builds.getBuild(bid))!.finish_time).toBeInstanceOf(Date);

      const bsid = (await m1.buildrequests.getBuildRequest(brids.a))!.buildsetid;
      expect(await m1.buildsets.getBuildset(bsid)).toMatchObject({ complete: false });
      await m2.buildsets.completeBuildset(bsid, 0);
      expect(await m1.buildsets.getBuildset(bsid)).toMatchObject({ complete: true, results: 0 });
      await expect(m1.buildsets.completeBuildset(bsid, 1)).rejects.toThrow(KeyError);
      expect(await m1.buildsets.getBuildsets({ complete: false })).toEqual([]);
    });
  });
}
