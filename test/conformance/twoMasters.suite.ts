import { afterEach, describe, expect, it } from 'vitest';
import { AlreadyClaimedError } from '../../src/api.ts';
import type { Coordinator } from '../../src/api.ts';
import type { Harness } from './harness.ts';

export default function twoMasters(h: Harness) {
  describe(`two masters [${h.name}]`, () => {
    let coordinator: Coordinator;
    afterEach(() => coordinator?.close());

    async function farm() {
      coordinator = await h.open();
      const m1 = await coordinator.connect('m1');
      const m2 = await coordinator.connect('m2');
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
      expect((await m2.buildrequests.getBuildRequests({ claimed: 'mine', complete: false })).map((br) => br.brid).sort((x, y) => x - y))
        .toEqual([brids.a, brids.b, brids.d]);
    });

    it('reconnecting the vanished master does not give it its old claims back', async () => {
      const { m1, m2, brids } = await farm();
      await m1.buildrequests.claimBuildRequests([brids.a]);
      await m2.masters.setMasterState(m1.masterid, false);
      const again = await coordinator.connect('m1');
      expect(again.masterid).toBe(m1.masterid);
      expect((await again.masters.getMaster(m1.masterid))!.active).toBe(true);
      expect(await again.buildrequests.getBuildRequests({ claimed: 'mine' })).toEqual([]);
    });

    it('expiry hands a silent master\'s requests to another', async () => {
      const { m1, m2, brids } = await farm();
      await m1.buildrequests.claimBuildRequests([brids.a], { claimed_at: new Date(Date.UTC(2020, 0, 1)) });
      expect(await m2.buildrequests.unclaimExpiredRequests(3600)).toBe(1);
      await m2.buildrequests.claimBuildRequests([brids.a]);
      await expect(m1.buildrequests.reclaimBuildRequests([brids.a])).rejects.toThrow(AlreadyClaimedError);
    });
  });
}
