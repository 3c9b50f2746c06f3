import { afterEach, describe, expect, it } from 'vitest';
import { AlreadyClaimedError, ChangeSourceAlreadyClaimedError } from '../../src/api.ts';
import type { Coordinator } from '../../src/api.ts';
import type { Harness } from './harness.ts';

const ids = (list: { brid: number }[]) => list.map((br) => br.brid).sort((a, b) => a - b);

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

    it('two masters claiming overlapping batches at once: one batch is claimed whole, the other not at all', async () => {
      const { m1, m2, brids } = await farm();
      const [one, two] = await Promise.allSettled([
        m1.buildrequests.claimBuildRequests([brids.a, brids.b]),
        m2.buildrequests.claimBuildRequests([brids.b, brids.c]),
      ]);
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
      const outcomes = await Promise.allSettled([
        m1.changesources.setChangeSourceMaster(cs, m1.masterid),
        m2.changesources.setChangeSourceMaster(cs, m2.masterid),
      ]);
      expect(outcomes.map((o) => o.status).sort()).toEqual(['fulfilled', 'rejected']);
      const refused = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected')!;
      expect(refused.reason).toBeInstanceOf(ChangeSourceAlreadyClaimedError);
      const winner = outcomes[0]!.status === 'fulfilled' ? m1 : m2;
      expect(await m1.changesources.getChangeSource(cs)).toEqual({ id: cs, name: 'svn-poller', masterid: winner.masterid });
    });

    it('mine and claimed: \'mine\' are relative to the master asking', async () => {
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

    it('one master can neither unclaim nor reclaim the other\'s claim, but can complete it', async () => {
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
      const again = await coordinator.connect('m1');
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

    it('expiry hands a silent master\'s requests to another', async () => {
      const { m1, m2, brids } = await farm();
      await m1.buildrequests.claimBuildRequests([brids.a], { claimed_at: new Date(Date.UTC(2020, 0, 1)) });
      expect(await m2.buildrequests.unclaimExpiredRequests(3600)).toBe(1);
      await m2.buildrequests.claimBuildRequests([brids.a]);
      await expect(m1.buildrequests.reclaimBuildRequests([brids.a])).rejects.toThrow(AlreadyClaimedError);
    });
  });
}
