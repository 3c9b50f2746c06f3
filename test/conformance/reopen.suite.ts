import { afterEach, describe, expect, it } from 'vitest';
import { AlreadyClaimedError } from '../../src/api.ts';
import type { Connector, Coordinator } from '../../src/api.ts';
import { CLAIMED_AT, SUBMITTED_AT, TestClock, severalMasters } from './harness.ts';
import type { Harness } from './harness.ts';

export default function reopen(h: Harness) {
  describe.runIf(h.capabilities.permanence)(`reopen [${h.name}]`, () => {
    let coordinator: Coordinator;
    afterEach(() => coordinator?.close());
    const several = severalMasters(h); // for tests of two masters: on two coordinators where the harness has peers

    it('builds, changes, classifications, state and users are all back after reopen, ids still increasing', async () => {
      coordinator = await h.open();
      let db = await coordinator.connect('m1');
      const uid = await db.users.findUserByAttr({ identifier: 'ann', attr_type: 'git', attr_data: 'ann' });
      await db.users.updateUser({ uid, bb_username: 'ann', bb_password: 'h' });
      const changeid = await db.changes.addChange({ author: 'ann', files: ['f'], properties: { p: [{ x: 'ü' }, 'Change'] }, uid, branch: 'main' });
      const objectid = await db.state.getObjectId('sched', 'Nightly');
      await db.state.setState(objectid, 'last', { at: [1, 2, 3] });
      await db.schedulers.classifyChanges(objectid, { [changeid]: true });
      const sss = await db.sourcestampsets.addSourceStampSet();
      const [, brids] = await db.buildsets.addBuildset({ sourcestampsetid: sss, reason: 'r', properties: {}, builderNames: ['a'] });
      const bid = await db.builds.addBuild(brids.a!, 1);
      const before = {
        change: await db.changes.getChange(changeid),
        user: await db.users.getUser(uid),
        build: await db.builds.getBuild(bid),
      };

      coordinator = await h.reopen(coordinator);
      db = await coordinator.connect('m1');
      expect(await db.changes.getChange(changeid)).toEqual(before.change);
      expect(await db.changes.getChangeUids(changeid)).toEqual([uid]);
      expect(await db.users.getUser(uid)).toEqual(before.user);
      expect(await db.users.getUserByUsername('ann')).toEqual(before.user);
      expect(await db.builds.getBuild(bid)).toEqual(before.build);
      expect(await db.state.getObjectId('sched', 'Nightly')).toBe(objectid);
      expect(await db.state.getState(objectid, 'last')).toEqual({ at: [1, 2, 3] });
      expect(await db.schedulers.getChangeClassifications(objectid, { branch: 'main' })).toEqual({ [changeid]: true });
      expect(await db.changes.addChange({})).toBeGreaterThan(changeid);
      expect(await db.users.findUserByAttr({ identifier: 'bob', attr_type: 'git', attr_data: 'bob' })).toBeGreaterThan(uid);
      expect(await db.builds.addBuild(brids.a!, 2)).toBeGreaterThan(bid);
      expect(await db.state.getObjectId('new', 'X')).toBeGreaterThan(objectid);
    });

    it('every row, claim and id counter is back after close and reopen, and actors rehydrate in the right state', async () => {
      const clock = new TestClock(SUBMITTED_AT);
      let [m1, m2] = (await several.open(['m1', 'm2'], { now: clock.now })) as [Connector, Connector];
      const sss = await m1.sourcestampsets.addSourceStampSet();
      const ssid = await m1.sourcestamps.addSourceStamp({ branch: 'main', revision: 'abc', repository: 'repo', project: 'proj', sourcestampsetid: sss });
      const [bsid, brids] = await m1.buildsets.addBuildset({
        sourcestampsetid: sss,
        reason: 'push',
        properties: { owner: ['ann', 'Change'] },
        builderNames: ['a', 'b', 'c'],
        external_idstring: 'ext',
      });
      await m1.buildrequests.claimBuildRequests([brids.a!, brids.b!], { claimed_at: CLAIMED_AT });
      await m1.buildrequests.completeBuildRequests([brids.b!], 0);
      const cs = await m2.changesources.findChangeSourceId('poller');
      await m2.changesources.setChangeSourceMaster(cs, m2.masterid);

      const before = {
        requests: await m1.buildrequests.getBuildRequests(),
        buildset: await m1.buildsets.getBuildset(bsid),
        properties: await m1.buildsets.getBuildsetProperties(bsid),
        stamp: await m1.sourcestamps.getSourceStamp(ssid),
        masters: await m1.masters.getMasters(),
        sources: await m1.changesources.getChangeSources(),
      };

      [m1, m2] = (await several.reopen(['m1', 'm2'], { now: clock.now })) as [Connector, Connector];
      expect(m1.masterid).toBeLessThan(m2.masterid);
      expect(await m1.buildrequests.getBuildRequests()).toEqual(before.requests);
      expect(await m1.buildsets.getBuildset(bsid)).toEqual(before.buildset);
      expect(await m1.buildsets.getBuildsetProperties(bsid)).toEqual(before.properties);
      expect(await m1.sourcestamps.getSourceStamp(ssid)).toEqual(before.stamp);
      expect((await m1.masters.getMasters()).map((m) => m.name)).toEqual(before.masters.map((m) => m.name));
      expect(await m1.changesources.getChangeSources()).toEqual(before.sources);

      // Actors come back in their state: a claimed request refuses a claim,
      // its owner can complete it, and the unclaimed one can be claimed.
      await expect(m2.buildrequests.claimBuildRequests([brids.a!])).rejects.toThrow(AlreadyClaimedError);
      await m1.buildrequests.reclaimBuildRequests([brids.a!]);
      await m2.buildrequests.claimBuildRequests([brids.c!]);
      await m1.buildrequests.completeBuildRequests([brids.a!], 0);
      expect((await m1.buildrequests.getBuildRequests({ complete: true })).map((br) => br.brid)).toEqual([brids.a, brids.b]);

      // Ids keep increasing past everything stored before.
      const sss2 = await m1.sourcestampsets.addSourceStampSet();
      const [bsid2, brids2] = await m1.buildsets.addBuildset({ sourcestampsetid: sss2, reason: 'again', properties: {}, builderNames: ['a'] });
      expect(sss2).toBeGreaterThan(sss);
      expect(bsid2).toBeGreaterThan(bsid);
      expect(brids2.a).toBeGreaterThan(brids.c!);
      expect(await m1.changesources.findChangeSourceId('poller')).toBe(cs);
      expect(await m1.changesources.findChangeSourceId('other')).toBeGreaterThan(cs);
    });
  });
}
