import { describe, expect, it } from 'vitest';
import { AlreadyClaimedError, InvalidArgumentError, NotClaimedError } from '../../src/api.ts';
import type { BrDict, Connector } from '../../src/api.ts';
import { CLAIMED_AT, COMPLETE_AT, COMPLETE_AT_EPOCH, SUBMITTED_AT, TestClock, severalMasters } from './harness.ts';
import type { Harness, SeveralMasters } from './harness.ts';

/**
 * Fixtures, as Buildbot's tests have them:
 *   bs1 (branch main, repo r1): linux (A), macos (B), docs (C)
 *   bs2 (branch dev,  repo r2): linux (D)
 */
interface World {
  clock: TestClock;
  m1: Connector;
  m2: Connector;
  bs1: number;
  bs2: number;
  A: number;
  B: number;
  C: number;
  D: number;
}

/** The fixtures on a new store; m1 and m2 on coordinators of their own where the harness has peers, sharing one clock. */
async function world(masters: SeveralMasters): Promise<World> {
  const clock = new TestClock(SUBMITTED_AT);
  const [m1, m2] = (await masters.open(['m1', 'm2'], { now: clock.now })) as [Connector, Connector];
  const buildset = async (branch: string, repository: string, builderNames: string[]) => {
    const sss = await m1.sourcestampsets.addSourceStampSet();
    await m1.sourcestamps.addSourceStamp({ branch, revision: 'r', repository, project: 'p', sourcestampsetid: sss });
    return m1.buildsets.addBuildset({ sourcestampsetid: sss, reason: 'test', properties: {}, builderNames });
  };
  const [bs1, one] = await buildset('main', 'r1', ['linux', 'macos', 'docs']);
  const [bs2, two] = await buildset('dev', 'r2', ['linux']);
  return { clock, m1, m2, bs1, bs2, A: one.linux!, B: one.macos!, C: one.docs!, D: two.linux! };
}

const ids = (list: BrDict[]) => list.map((br) => br.brid).sort((a, b) => a - b);
const byId = (list: BrDict[]) => [...list].sort((a, b) => a.brid - b.brid);

export default function buildrequests(h: Harness) {
  describe(`buildrequests [${h.name}]`, () => {
    const masters = severalMasters(h);
    let w: World;

    it('getBuildRequest returns the brdict with exactly the contract keys', async () => {
      w = await world(masters);
      expect(await w.m1.buildrequests.getBuildRequest(w.A)).toEqual({
        brid: w.A,
        buildsetid: w.bs1,
        buildername: 'linux',
        priority: 0,
        claimed: false,
        claimed_at: null,
        mine: false,
        complete: false,
        complete_at: null,
        results: -1,
        submitted_at: SUBMITTED_AT,
      });
    });

    it('getBuildRequest of a missing id is null', async () => {
      w = await world(masters);
      expect(await w.m1.buildrequests.getBuildRequest(9999)).toBeNull();
    });

    it('claimBuildRequests with claimed_at records it; mine is per master', async () => {
      w = await world(masters);
      await w.m1.buildrequests.claimBuildRequests([w.A, w.B], { claimed_at: CLAIMED_AT });
      expect(await w.m1.buildrequests.getBuildRequest(w.A)).toMatchObject({ claimed: true, claimed_at: CLAIMED_AT, mine: true });
      expect(await w.m2.buildrequests.getBuildRequest(w.A)).toMatchObject({ claimed: true, claimed_at: CLAIMED_AT, mine: false });
      expect(await w.m1.buildrequests.getBuildRequest(w.C)).toMatchObject({ claimed: false }); // bystander
    });

    it('claimBuildRequests without claimed_at uses the clock', async () => {
      w = await world(masters);
      w.clock.set(CLAIMED_AT);
      await w.m1.buildrequests.claimBuildRequests([w.A]);
      expect((await w.m1.buildrequests.getBuildRequest(w.A))!.claimed_at).toEqual(CLAIMED_AT);
    });

    it('claimBuildRequests of [] is a no-op', async () => {
      w = await world(masters);
      await w.m1.buildrequests.claimBuildRequests([]);
      expect(await w.m1.buildrequests.getBuildRequests({ claimed: true })).toEqual([]);
    });

    it('claim of a request claimed by another master fails and none of the batch is claimed', async () => {
      w = await world(masters);
      await w.m2.buildrequests.claimBuildRequests([w.C]);
      const error = await w.m1.buildrequests.claimBuildRequests([w.A, w.B, w.C]).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AlreadyClaimedError);
      expect((error as AlreadyClaimedError).brids).toEqual([w.C]);
      expect(ids(await w.m1.buildrequests.getBuildRequests({ claimed: true }))).toEqual([w.C]);
    });

    it('claim of a request this master already holds fails too (claims are not reclaims)', async () => {
      w = await world(masters);
      await w.m1.buildrequests.claimBuildRequests([w.A]);
      await expect(w.m1.buildrequests.claimBuildRequests([w.A])).rejects.toThrow(AlreadyClaimedError);
    });

    it('claim of a missing or complete request fails with AlreadyClaimedError, claiming nothing', async () => {
      w = await world(masters);
      await w.m1.buildrequests.completeBuildRequests([w.B], 0);
      await expect(w.m1.buildrequests.claimBuildRequests([w.A, 9999])).rejects.toThrow(AlreadyClaimedError);
      await expect(w.m1.buildrequests.claimBuildRequests([w.A, w.B])).rejects.toThrow(AlreadyClaimedError);
      expect(await w.m1.buildrequests.getBuildRequests({ claimed: true })).toEqual([]);
    });

    it('claimBuildRequests with claimed_at: null uses the clock, as if it were not given', async () => {
      w = await world(masters);
      w.clock.set(CLAIMED_AT);
      await w.m1.buildrequests.claimBuildRequests([w.A], { claimed_at: null });
      expect(await w.m1.buildrequests.getBuildRequest(w.A)).toMatchObject({ claimed: true, claimed_at: CLAIMED_AT, mine: true });
    });

    it('claimBuildRequests naming a request twice fails and claims neither', async () => {
      w = await world(masters);
      await expect(w.m1.buildrequests.claimBuildRequests([w.A, w.B, w.A])).rejects.toThrow(AlreadyClaimedError);
      expect(await w.m1.buildrequests.getBuildRequests({ claimed: true })).toEqual([]);
    });

    it("a refused claim leaves the other master's claim exactly as it was", async () => {
      w = await world(masters);
      await w.m2.buildrequests.claimBuildRequests([w.C], { claimed_at: CLAIMED_AT });
      w.clock.set(COMPLETE_AT);
      await expect(w.m1.buildrequests.claimBuildRequests([w.C])).rejects.toThrow(AlreadyClaimedError);
      expect(await w.m2.buildrequests.getBuildRequest(w.C)).toMatchObject({ claimed: true, claimed_at: CLAIMED_AT, mine: true });
    });

    it('a request released by unclaim can be claimed again, by any master', async () => {
      w = await world(masters);
      await w.m1.buildrequests.claimBuildRequests([w.A]);
      await w.m1.buildrequests.unclaimBuildRequests([w.A]);
      w.clock.set(CLAIMED_AT);
      await w.m2.buildrequests.claimBuildRequests([w.A]);
      expect(await w.m2.buildrequests.getBuildRequest(w.A)).toMatchObject({ claimed: true, claimed_at: CLAIMED_AT, mine: true });
    });

    it('every method given [] is a no-op', async () => {
      w = await world(masters);
      await w.m1.buildrequests.claimBuildRequests([w.A], { claimed_at: CLAIMED_AT });
      const before = await w.m1.buildrequests.getBuildRequests();
      const br = w.m1.buildrequests;
      await br.claimBuildRequests([]);
      await br.reclaimBuildRequests([]);
      await br.unclaimBuildRequests([]);
      await br.completeBuildRequests([], 0);
      expect(byId(await br.getBuildRequests())).toEqual(byId(before));
    });

    it("reclaimBuildRequests renews this master's claims to now", async () => {
      w = await world(masters);
      await w.m1.buildrequests.claimBuildRequests([w.A, w.B], { claimed_at: CLAIMED_AT });
      w.clock.set(COMPLETE_AT);
      await w.m1.buildrequests.reclaimBuildRequests([w.A]);
      expect((await w.m1.buildrequests.getBuildRequest(w.A))!.claimed_at).toEqual(COMPLETE_AT);
      expect((await w.m1.buildrequests.getBuildRequest(w.B))!.claimed_at).toEqual(CLAIMED_AT); // bystander
    });

    it("reclaim of an unclaimed, another master's, or missing request fails and renews none", async () => {
      w = await world(masters);
      await w.m1.buildrequests.claimBuildRequests([w.A], { claimed_at: CLAIMED_AT });
      await w.m2.buildrequests.claimBuildRequests([w.B], { claimed_at: CLAIMED_AT });
      w.clock.set(COMPLETE_AT);
      for (const other of [w.B, w.C, 9999]) {
        await expect(w.m1.buildrequests.reclaimBuildRequests([w.A, other])).rejects.toThrow(AlreadyClaimedError);
      }
      expect((await w.m1.buildrequests.getBuildRequest(w.A))!.claimed_at).toEqual(CLAIMED_AT);
      expect(await w.m2.buildrequests.getBuildRequest(w.B)).toMatchObject({ claimed_at: CLAIMED_AT, mine: true }); // bystander
      expect(await w.m1.buildrequests.getBuildRequest(w.C)).toMatchObject({ claimed: false }); // not claimed by the attempt
    });

    it("unclaimBuildRequests releases only this master's claims, skipping others' and missing ids", async () => {
      w = await world(masters);
      await w.m1.buildrequests.claimBuildRequests([w.A]);
      await w.m2.buildrequests.claimBuildRequests([w.B]);
      await w.m1.buildrequests.unclaimBuildRequests([w.A, w.B, w.C, 9999]);
      expect(await w.m1.buildrequests.getBuildRequest(w.A)).toMatchObject({ claimed: false, claimed_at: null, mine: false });
      expect(await w.m2.buildrequests.getBuildRequest(w.B)).toMatchObject({ claimed: true, mine: true });
    });

    it('completeBuildRequests completes requests claimed by this master, another, or none', async () => {
      w = await world(masters);
      await w.m1.buildrequests.claimBuildRequests([w.A]);
      await w.m2.buildrequests.claimBuildRequests([w.B]);
      await w.m1.buildrequests.completeBuildRequests([w.A, w.B, w.C], 7, { complete_at: COMPLETE_AT });
      for (const brid of [w.A, w.B, w.C]) {
        expect(await w.m1.buildrequests.getBuildRequest(brid)).toMatchObject({ complete: true, complete_at: COMPLETE_AT, results: 7 });
      }
      expect(await w.m1.buildrequests.getBuildRequest(w.D)).toMatchObject({ complete: false, results: -1 }); // bystander
    });

    it('completeBuildRequests without complete_at uses the clock; a complete request keeps its claim', async () => {
      w = await world(masters);
      await w.m1.buildrequests.claimBuildRequests([w.A], { claimed_at: CLAIMED_AT });
      w.clock.set(COMPLETE_AT);
      await w.m1.buildrequests.completeBuildRequests([w.A], 0);
      expect(await w.m1.buildrequests.getBuildRequest(w.A)).toEqual({
        brid: w.A,
        buildsetid: w.bs1,
        buildername: 'linux',
        priority: 0,
        claimed: true,
        claimed_at: CLAIMED_AT,
        mine: true,
        complete: true,
        complete_at: COMPLETE_AT,
        results: 0,
        submitted_at: SUBMITTED_AT,
      });
      expect(await w.m2.buildrequests.getBuildRequest(w.A)).toMatchObject({ claimed: true, mine: false });
    });

    it('completing a complete or missing request fails with NotClaimedError and completes none', async () => {
      w = await world(masters);
      await w.m1.buildrequests.completeBuildRequests([w.B], 0);
      await expect(w.m1.buildrequests.completeBuildRequests([w.A, w.B], 1)).rejects.toThrow(NotClaimedError);
      await expect(w.m1.buildrequests.completeBuildRequests([w.A, 9999], 1)).rejects.toThrow(NotClaimedError);
      expect(await w.m1.buildrequests.getBuildRequest(w.A)).toMatchObject({ complete: false });
    });

    it('completeBuildRequests naming a request twice fails with NotClaimedError and completes neither', async () => {
      w = await world(masters);
      await expect(w.m1.buildrequests.completeBuildRequests([w.A, w.B, w.A], 0)).rejects.toThrow(NotClaimedError);
      expect(await w.m1.buildrequests.getBuildRequests({ complete: true })).toEqual([]);
    });

    it('a refused completion changes neither the incomplete request nor the complete one', async () => {
      w = await world(masters);
      await w.m1.buildrequests.claimBuildRequests([w.A], { claimed_at: CLAIMED_AT });
      await w.m1.buildrequests.completeBuildRequests([w.B], 3, { complete_at: CLAIMED_AT });
      await expect(w.m1.buildrequests.completeBuildRequests([w.A, w.B], 5, { complete_at: COMPLETE_AT })).rejects.toThrow(NotClaimedError);
      expect(await w.m1.buildrequests.getBuildRequest(w.A)).toMatchObject({ claimed: true, claimed_at: CLAIMED_AT, complete: false, complete_at: null, results: -1 });
      expect(await w.m1.buildrequests.getBuildRequest(w.B)).toMatchObject({ complete: true, complete_at: CLAIMED_AT, results: 3 });
    });

    it('another master cannot unclaim or reclaim a complete request it does not hold', async () => {
      w = await world(masters);
      await w.m1.buildrequests.claimBuildRequests([w.A], { claimed_at: CLAIMED_AT });
      await w.m1.buildrequests.completeBuildRequests([w.A], 0);
      await w.m2.buildrequests.unclaimBuildRequests([w.A]);
      await expect(w.m2.buildrequests.reclaimBuildRequests([w.A])).rejects.toThrow(AlreadyClaimedError);
      expect(await w.m1.buildrequests.getBuildRequest(w.A)).toMatchObject({ complete: true, claimed: true, claimed_at: CLAIMED_AT, mine: true });
    });

    it('the owner may unclaim or reclaim a complete request; nobody may claim it', async () => {
      w = await world(masters);
      await w.m1.buildrequests.claimBuildRequests([w.A]);
      await w.m1.buildrequests.completeBuildRequests([w.A], 0);
      await w.m1.buildrequests.reclaimBuildRequests([w.A]);
      await w.m1.buildrequests.unclaimBuildRequests([w.A]);
      expect(await w.m1.buildrequests.getBuildRequest(w.A)).toMatchObject({ complete: true, claimed: false, claimed_at: null });
      // Released but complete: neither claimed nor unclaimed.
      expect(await w.m1.buildrequests.getBuildRequests({ claimed: 'mine' })).toEqual([]);
      expect(ids(await w.m1.buildrequests.getBuildRequests({ claimed: false }))).toEqual([w.B, w.C, w.D]);
      await expect(w.m2.buildrequests.claimBuildRequests([w.A])).rejects.toThrow(AlreadyClaimedError);
    });

    it('unclaimExpiredRequests releases claims strictly older than `old` on incomplete requests, from any master', async () => {
      w = await world(masters);
      await w.m1.buildrequests.claimBuildRequests([w.A], { claimed_at: CLAIMED_AT });
      await w.m2.buildrequests.claimBuildRequests([w.B], { claimed_at: CLAIMED_AT });
      await w.m1.buildrequests.claimBuildRequests([w.C], { claimed_at: CLAIMED_AT });
      await w.m1.buildrequests.completeBuildRequests([w.C], 0);
      w.clock.set(new Date(CLAIMED_AT.getTime() + 100_000));
      await w.m1.buildrequests.claimBuildRequests([w.D]); // fresh claim, at now
      expect(await w.m1.buildrequests.unclaimExpiredRequests(100)).toBe(0); // exactly 100 s old: kept
      expect(await w.m1.buildrequests.unclaimExpiredRequests(99)).toBe(2);
      expect(ids(await w.m1.buildrequests.getBuildRequests({ claimed: false }))).toEqual([w.A, w.B]);
      expect(await w.m1.buildrequests.getBuildRequest(w.C)).toMatchObject({ claimed: true, complete: true }); // complete: kept
      expect(await w.m1.buildrequests.getBuildRequest(w.D)).toMatchObject({ claimed: true, mine: true });
      expect(await w.m1.buildrequests.unclaimExpiredRequests(99)).toBe(0);
    });

    it('unclaimExpiredRequests(0) releases every claim made before now and keeps those made now', async () => {
      w = await world(masters);
      await w.m1.buildrequests.claimBuildRequests([w.A], { claimed_at: new Date(-86_400_000) }); // before 1970
      await w.m2.buildrequests.claimBuildRequests([w.B], { claimed_at: CLAIMED_AT });
      w.clock.set(COMPLETE_AT);
      await w.m1.buildrequests.claimBuildRequests([w.C]); // at now
      expect(await w.m2.buildrequests.unclaimExpiredRequests(0)).toBe(2);
      expect(ids(await w.m1.buildrequests.getBuildRequests({ claimed: true }))).toEqual([w.C]);
      expect(ids(await w.m1.buildrequests.getBuildRequests({ claimed: false }))).toEqual([w.A, w.B, w.D]);
    });

    it('a reclaimed request is not expired by a claim age it would have had before', async () => {
      w = await world(masters);
      await w.m1.buildrequests.claimBuildRequests([w.A, w.B], { claimed_at: CLAIMED_AT });
      w.clock.set(COMPLETE_AT); // 300 s later
      await w.m1.buildrequests.reclaimBuildRequests([w.A]);
      expect(await w.m1.buildrequests.unclaimExpiredRequests(60)).toBe(1);
      expect(await w.m1.buildrequests.getBuildRequest(w.A)).toMatchObject({ claimed: true, claimed_at: COMPLETE_AT, mine: true });
      expect(await w.m1.buildrequests.getBuildRequest(w.B)).toMatchObject({ claimed: false, claimed_at: null, mine: false });
    });

    it('unclaimExpiredRequests with nothing claimed resolves 0 and changes nothing', async () => {
      w = await world(masters);
      const before = await w.m1.buildrequests.getBuildRequests();
      expect(await w.m1.buildrequests.unclaimExpiredRequests(0)).toBe(0);
      expect(byId(await w.m1.buildrequests.getBuildRequests())).toEqual(byId(before));
    });

    describe('getBuildRequests filters', () => {
      // A: claimed by m1; B: claimed by m1 then complete; C: complete, never claimed; D: claimed by m2
      async function states() {
        w = await world(masters);
        await w.m1.buildrequests.claimBuildRequests([w.A, w.B]);
        await w.m1.buildrequests.completeBuildRequests([w.B, w.C], 0);
        await w.m2.buildrequests.claimBuildRequests([w.D]);
      }

      it('no filter: every request, as brdicts', async () => {
        await states();
        expect(ids(await w.m1.buildrequests.getBuildRequests())).toEqual([w.A, w.B, w.C, w.D]);
        expect(ids(await w.m1.buildrequests.getBuildRequests({}))).toEqual([w.A, w.B, w.C, w.D]);
      });

      it('claimed: true includes complete requests that were claimed; false is unclaimed and incomplete', async () => {
        await states();
        expect(ids(await w.m1.buildrequests.getBuildRequests({ claimed: true }))).toEqual([w.A, w.B, w.D]);
        expect(ids(await w.m1.buildrequests.getBuildRequests({ claimed: false }))).toEqual([]);
        await w.m2.buildrequests.unclaimBuildRequests([w.D]);
        expect(ids(await w.m1.buildrequests.getBuildRequests({ claimed: false }))).toEqual([w.D]);
      });

      it("claimed: 'mine' is this master's claims, complete or not", async () => {
        await states();
        expect(ids(await w.m1.buildrequests.getBuildRequests({ claimed: 'mine' }))).toEqual([w.A, w.B]);
        expect(ids(await w.m2.buildrequests.getBuildRequests({ claimed: 'mine' }))).toEqual([w.D]);
      });

      it('complete, buildername and bsid, alone and combined', async () => {
        await states();
        const br = w.m1.buildrequests;
        expect(ids(await br.getBuildRequests({ complete: true }))).toEqual([w.B, w.C]);
        expect(ids(await br.getBuildRequests({ complete: false }))).toEqual([w.A, w.D]);
        expect(ids(await br.getBuildRequests({ buildername: 'linux' }))).toEqual([w.A, w.D]);
        expect(ids(await br.getBuildRequests({ buildername: 'nope' }))).toEqual([]);
        expect(ids(await br.getBuildRequests({ bsid: w.bs1 }))).toEqual([w.A, w.B, w.C]);
        expect(ids(await br.getBuildRequests({ bsid: w.bs1, complete: false }))).toEqual([w.A]);
        expect(ids(await br.getBuildRequests({ buildername: 'linux', claimed: 'mine' }))).toEqual([w.A]);
        expect(ids(await br.getBuildRequests({ buildername: 'linux', complete: true }))).toEqual([]);
        expect(ids(await br.getBuildRequests({ buildername: null, complete: null, claimed: null, bsid: null }))).toEqual([w.A, w.B, w.C, w.D]);
      });

      it("branch and repository select through the buildset's source stamps", async () => {
        await states();
        const br = w.m1.buildrequests;
        expect(ids(await br.getBuildRequests({ branch: 'main' }))).toEqual([w.A, w.B, w.C]);
        expect(ids(await br.getBuildRequests({ branch: 'dev' }))).toEqual([w.D]);
        expect(ids(await br.getBuildRequests({ repository: 'r2' }))).toEqual([w.D]);
        expect(ids(await br.getBuildRequests({ branch: 'main', repository: 'r2' }))).toEqual([]);
        expect(ids(await br.getBuildRequests({ branch: 'main', buildername: 'linux' }))).toEqual([w.A]);
      });

      it('claimed combined with complete, bsid, buildername and branch', async () => {
        await states();
        const br = w.m1.buildrequests;
        expect(ids(await br.getBuildRequests({ claimed: 'mine', complete: true }))).toEqual([w.B]);
        expect(ids(await br.getBuildRequests({ claimed: 'mine', complete: false }))).toEqual([w.A]);
        expect(ids(await br.getBuildRequests({ claimed: true, complete: false }))).toEqual([w.A, w.D]);
        expect(ids(await br.getBuildRequests({ claimed: true, complete: true }))).toEqual([w.B]);
        expect(ids(await br.getBuildRequests({ claimed: false, complete: true }))).toEqual([]);
        expect(ids(await br.getBuildRequests({ claimed: true, bsid: w.bs2 }))).toEqual([w.D]);
        expect(ids(await br.getBuildRequests({ claimed: 'mine', bsid: w.bs2 }))).toEqual([]);
        expect(ids(await br.getBuildRequests({ claimed: true, buildername: 'linux' }))).toEqual([w.A, w.D]);
        expect(ids(await br.getBuildRequests({ claimed: true, branch: 'dev' }))).toEqual([w.D]);
        expect(ids(await br.getBuildRequests({ claimed: 'mine', repository: 'r1', buildername: 'macos' }))).toEqual([w.B]);
        expect(ids(await w.m2.buildrequests.getBuildRequests({ claimed: 'mine', complete: false, branch: 'dev', bsid: w.bs2 }))).toEqual([w.D]);
      });

      it('claimed: false, alone and with bsid or branch, after a release', async () => {
        await states();
        await w.m2.buildrequests.unclaimBuildRequests([w.D]);
        const br = w.m1.buildrequests;
        expect(ids(await br.getBuildRequests({ claimed: false }))).toEqual([w.D]);
        expect(ids(await br.getBuildRequests({ claimed: false, bsid: w.bs2 }))).toEqual([w.D]);
        expect(ids(await br.getBuildRequests({ claimed: false, bsid: w.bs1 }))).toEqual([]);
        expect(ids(await br.getBuildRequests({ claimed: false, branch: 'dev', repository: 'r2' }))).toEqual([w.D]);
        expect(ids(await br.getBuildRequests({ claimed: false, complete: false }))).toEqual([w.D]);
      });

      it('a missing bsid, or a branch or repository nobody used, selects nothing', async () => {
        await states();
        const br = w.m1.buildrequests;
        expect(await br.getBuildRequests({ bsid: 9999 })).toEqual([]);
        expect(await br.getBuildRequests({ branch: 'mai' })).toEqual([]);
        expect(await br.getBuildRequests({ repository: 'r' })).toEqual([]);
      });

      it('the brdicts in a list are the same as getBuildRequest gives, mine relative to the caller', async () => {
        await states();
        for (const db of [w.m1, w.m2]) {
          for (const listed of await db.buildrequests.getBuildRequests()) {
            expect(listed).toEqual(await db.buildrequests.getBuildRequest(listed.brid));
          }
        }
        expect((await w.m2.buildrequests.getBuildRequests({ claimed: true })).map((br) => [br.brid, br.mine]).sort((a, b) => Number(a[0]) - Number(b[0]))).toEqual([
          [w.A, false],
          [w.B, false],
          [w.D, true],
        ]);
      });

      it('unclaimed requests of one builder, as a polling master asks', async () => {
        await states();
        await w.m2.buildrequests.unclaimBuildRequests([w.D]);
        expect(ids(await w.m1.buildrequests.getBuildRequests({ buildername: 'linux', claimed: false }))).toEqual([w.D]);
        expect(ids(await w.m1.buildrequests.getBuildRequests({ buildername: 'macos', claimed: false }))).toEqual([]);
      });
    });

    it('builder names that share a prefix, or hold odd characters, select only their own requests', async () => {
      w = await world(masters);
      const sss = await w.m1.sourcestampsets.addSourceStampSet();
      const names = ['lin', 'linux-arm', 'linux\u0000x', 'linux\u0001', ''];
      const [, made] = await w.m1.buildsets.addBuildset({ sourcestampsetid: sss, reason: 'odd', properties: {}, builderNames: names });
      const br = w.m1.buildrequests;
      expect(ids(await br.getBuildRequests({ buildername: 'linux' }))).toEqual([w.A, w.D]);
      expect(ids(await br.getBuildRequests({ buildername: 'linux', claimed: false }))).toEqual([w.A, w.D]);
      for (const name of names) {
        expect(ids(await br.getBuildRequests({ buildername: name })), JSON.stringify(name)).toEqual([made[name]]);
        expect(ids(await br.getBuildRequests({ buildername: name, claimed: false })), JSON.stringify(name)).toEqual([made[name]]);
      }
    });

    it('branch and repository must match the same source stamp; a buildset with several matching stamps is listed once', async () => {
      w = await world(masters);
      // bs3: two codebases, one stamp on main/r1 and one on dev/r2; E is its only request.
      const sss = await w.m1.sourcestampsets.addSourceStampSet();
      await w.m1.sourcestamps.addSourceStamp({ branch: 'main', revision: 'a', repository: 'r1', project: 'p', sourcestampsetid: sss, codebase: 'app' });
      await w.m1.sourcestamps.addSourceStamp({ branch: 'dev', revision: 'b', repository: 'r2', project: 'p', sourcestampsetid: sss, codebase: 'lib' });
      await w.m1.sourcestamps.addSourceStamp({ branch: 'dev', revision: 'c', repository: 'r3', project: 'p', sourcestampsetid: sss, codebase: 'doc' });
      const [, made] = await w.m1.buildsets.addBuildset({ sourcestampsetid: sss, reason: 'multi', properties: {}, builderNames: ['win'] });
      const E = made.win!;
      const br = w.m1.buildrequests;
      expect(ids(await br.getBuildRequests({ branch: 'main' }))).toEqual([w.A, w.B, w.C, E]);
      expect(ids(await br.getBuildRequests({ branch: 'dev' }))).toEqual([w.D, E]);
      expect(ids(await br.getBuildRequests({ branch: 'dev', repository: 'r2' }))).toEqual([w.D, E]);
      expect(ids(await br.getBuildRequests({ branch: 'main', repository: 'r2' }))).toEqual([]);
      expect(ids(await br.getBuildRequests({ repository: 'r3', buildername: 'win' }))).toEqual([E]);
    });

    it('a buildset whose source stamp has the default branch (null) matches no branch filter', async () => {
      w = await world(masters);
      const sss = await w.m1.sourcestampsets.addSourceStampSet();
      await w.m1.sourcestamps.addSourceStamp({ branch: null, revision: null, repository: 'r1', project: 'p', sourcestampsetid: sss });
      const [, made] = await w.m1.buildsets.addBuildset({ sourcestampsetid: sss, reason: 'default branch', properties: {}, builderNames: ['linux'] });
      const br = w.m1.buildrequests;
      expect(ids(await br.getBuildRequests({ branch: 'main' }))).toEqual([w.A, w.B, w.C]);
      expect(ids(await br.getBuildRequests({ repository: 'r1', buildername: 'linux' }))).toEqual([w.A, made.linux]);
      expect(ids(await br.getBuildRequests({ branch: null, buildername: 'linux' }))).toEqual([w.A, w.D, made.linux]); // null: not filtered
    });

    it('bad arguments are InvalidArgumentError and change nothing', async () => {
      w = await world(masters);
      const br = w.m1.buildrequests;
      // State that a bad call could disturb: A claimed by m1, B claimed by m1 and complete, D claimed by m2.
      await br.claimBuildRequests([w.A, w.B], { claimed_at: CLAIMED_AT });
      await br.completeBuildRequests([w.B], 0, { complete_at: CLAIMED_AT });
      await w.m2.buildrequests.claimBuildRequests([w.D], { claimed_at: CLAIMED_AT });
      w.clock.set(new Date(COMPLETE_AT.getTime() + 86_400_000)); // every claim is old now
      const before = byId(await br.getBuildRequests());
      const bad: [string, () => Promise<unknown>][] = [
        ['getBuildRequest of a string brid', () => br.getBuildRequest('1' as never)],
        ['getBuildRequest of brid 0', () => br.getBuildRequest(0)],
        ['getBuildRequest of null', () => br.getBuildRequest(null as never)],
        ['claim of a negative brid', () => br.claimBuildRequests([w.C, -1])],
        ['claim of a fractional brid', () => br.claimBuildRequests([w.C, 1.5])],
        ['claim of a string brid', () => br.claimBuildRequests([w.C, String(w.A)] as never)],
        ['claim of an unsafe integer', () => br.claimBuildRequests([2 ** 53])],
        ['claim with brids not an array', () => br.claimBuildRequests(w.C as never)],
        ['claim with a Set of brids', () => br.claimBuildRequests(new Set([w.C]) as never)],
        ['claim with a non-Date claimed_at', () => br.claimBuildRequests([w.C], { claimed_at: '2020-01-01' as never })],
        ['claim with an epoch-number claimed_at', () => br.claimBuildRequests([w.C], { claimed_at: CLAIMED_AT.getTime() as never })],
        ['claim with an invalid Date', () => br.claimBuildRequests([w.C], { claimed_at: new Date(NaN) })],
        ['claim with an unknown option', () => br.claimBuildRequests([w.C], { claimedAt: new Date() } as never)],
        ['claim with options not an object', () => br.claimBuildRequests([w.C], 'now' as never)],
        ['reclaim of a string', () => br.reclaimBuildRequests(['x'] as never)],
        ['reclaim of a negative brid', () => br.reclaimBuildRequests([w.A, -1])],
        ['reclaim of a non-array', () => br.reclaimBuildRequests(w.A as never)],
        ['unclaim of null', () => br.unclaimBuildRequests(null as never)],
        ['unclaim of a fractional brid', () => br.unclaimBuildRequests([w.A, 1.5])],
        ['unclaim of a string brid', () => br.unclaimBuildRequests([String(w.A)] as never)],
        ['complete with fractional results', () => br.completeBuildRequests([w.A], 0.5)],
        ['complete with string results', () => br.completeBuildRequests([w.A], '0' as never)],
        ['complete with NaN results', () => br.completeBuildRequests([w.A], NaN)],
        ['complete with null results', () => br.completeBuildRequests([w.A], null as never)],
        ['complete of a negative brid', () => br.completeBuildRequests([w.A, -3], 0)],
        ['complete of a non-array', () => br.completeBuildRequests(w.A as never, 0)],
        ['complete with a non-Date complete_at', () => br.completeBuildRequests([w.A], 0, { complete_at: COMPLETE_AT_EPOCH as never })],
        ['complete with an unknown option', () => br.completeBuildRequests([w.A], 0, { completed_at: new Date() } as never)],
        ['filter complete: 1', () => br.getBuildRequests({ complete: 1 as never })],
        ["filter complete: 'true'", () => br.getBuildRequests({ complete: 'true' as never })],
        ["filter claimed: 'yes'", () => br.getBuildRequests({ claimed: 'yes' as never })],
        ['filter claimed: 0', () => br.getBuildRequests({ claimed: 0 as never })],
        ['filter with an unknown key', () => br.getBuildRequests({ builder: 'linux' } as never)],
        ['filter bsid 0', () => br.getBuildRequests({ bsid: 0 })],
        ['filter bsid as a string', () => br.getBuildRequests({ bsid: String(w.bs1) as never })],
        ['filter buildername not a string', () => br.getBuildRequests({ buildername: 5 as never })],
        ['filter branch not a string', () => br.getBuildRequests({ branch: ['main'] as never })],
        ['filter repository not a string', () => br.getBuildRequests({ repository: 1 as never })],
        ['filter not an object', () => br.getBuildRequests('linux' as never)],
        ['expiry with a negative old', () => br.unclaimExpiredRequests(-1)],
        ['expiry with NaN old', () => br.unclaimExpiredRequests(NaN)],
        ['expiry with infinite old', () => br.unclaimExpiredRequests(Infinity)],
        ['expiry with a string old', () => br.unclaimExpiredRequests('60' as never)],
        ['expiry with no old', () => (br.unclaimExpiredRequests as () => Promise<number>)()],
      ];
      for (const [name, call] of bad) {
        await expect(call(), name).rejects.toThrow(InvalidArgumentError);
      }
      expect(byId(await br.getBuildRequests())).toEqual(before);
    });
  });
}
