import { afterEach, describe, expect, it } from 'vitest';
import { AlreadyClaimedError, InvalidArgumentError, NotClaimedError } from '../../src/api.ts';
import type { BrDict, Connector, Coordinator } from '../../src/api.ts';
import { CLAIMED_AT, COMPLETE_AT, SUBMITTED_AT, TestClock } from './harness.ts';
import type { Harness } from './harness.ts';

/**
 * Fixtures, as Buildbot's tests have them:
 *   bs1 (branch main, repo r1): linux (A), macos (B), docs (C)
 *   bs2 (branch dev,  repo r2): linux (D)
 */
interface World {
  coordinator: Coordinator;
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

async function world(h: Harness): Promise<World> {
  const clock = new TestClock(SUBMITTED_AT);
  const coordinator = await h.open({ now: clock.now });
  const m1 = await coordinator.connect('m1');
  const m2 = await coordinator.connect('m2');
  const buildset = async (branch: string, repository: string, builderNames: string[]) => {
    const sss = await m1.sourcestampsets.addSourceStampSet();
    await m1.sourcestamps.addSourceStamp({ branch, revision: 'r', repository, project: 'p', sourcestampsetid: sss });
    return m1.buildsets.addBuildset({ sourcestampsetid: sss, reason: 'test', properties: {}, builderNames });
  };
  const [bs1, one] = await buildset('main', 'r1', ['linux', 'macos', 'docs']);
  const [bs2, two] = await buildset('dev', 'r2', ['linux']);
  return { coordinator, clock, m1, m2, bs1, bs2, A: one.linux!, B: one.macos!, C: one.docs!, D: two.linux! };
}

const ids = (list: BrDict[]) => list.map((br) => br.brid).sort((a, b) => a - b);

export default function buildrequests(h: Harness) {
  describe(`buildrequests [${h.name}]`, () => {
    let w: World;
    afterEach(() => w?.coordinator.close());

    it('getBuildRequest returns the brdict with exactly the contract keys', async () => {
      w = await world(h);
      expect(await w.m1.buildrequests.getBuildRequest(w.A)).toEqual({
        brid: w.A, buildsetid: w.bs1, buildername: 'linux', priority: 0,
        claimed: false, claimed_at: null, mine: false,
        complete: false, complete_at: null, results: -1, submitted_at: SUBMITTED_AT,
      });
    });

    it('getBuildRequest of a missing id is null', async () => {
      w = await world(h);
      expect(await w.m1.buildrequests.getBuildRequest(9999)).toBeNull();
    });

    it('claimBuildRequests with claimed_at records it; mine is per master', async () => {
      w = await world(h);
      await w.m1.buildrequests.claimBuildRequests([w.A, w.B], { claimed_at: CLAIMED_AT });
      expect(await w.m1.buildrequests.getBuildRequest(w.A)).toMatchObject({ claimed: true, claimed_at: CLAIMED_AT, mine: true });
      expect(await w.m2.buildrequests.getBuildRequest(w.A)).toMatchObject({ claimed: true, claimed_at: CLAIMED_AT, mine: false });
      expect(await w.m1.buildrequests.getBuildRequest(w.C)).toMatchObject({ claimed: false }); // bystander
    });

    it('claimBuildRequests without claimed_at uses the clock', async () => {
      w = await world(h);
      w.clock.set(CLAIMED_AT);
      await w.m1.buildrequests.claimBuildRequests([w.A]);
      expect((await w.m1.buildrequests.getBuildRequest(w.A))!.claimed_at).toEqual(CLAIMED_AT);
    });

    it('claimBuildRequests of [] is a no-op', async () => {
      w = await world(h);
      await w.m1.buildrequests.claimBuildRequests([]);
      expect(await w.m1.buildrequests.getBuildRequests({ claimed: true })).toEqual([]);
    });

    it('claim of a request claimed by another master fails and none of the batch is claimed', async () => {
      w = await world(h);
      await w.m2.buildrequests.claimBuildRequests([w.C]);
      const error = await w.m1.buildrequests.claimBuildRequests([w.A, w.B, w.C]).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AlreadyClaimedError);
      expect((error as AlreadyClaimedError).brids).toEqual([w.C]);
      expect(ids(await w.m1.buildrequests.getBuildRequests({ claimed: true }))).toEqual([w.C]);
    });

    it('claim of a request this master already holds fails too (claims are not reclaims)', async () => {
      w = await world(h);
      await w.m1.buildrequests.claimBuildRequests([w.A]);
      await expect(w.m1.buildrequests.claimBuildRequests([w.A])).rejects.toThrow(AlreadyClaimedError);
    });

    it('claim of a missing or complete request fails with AlreadyClaimedError, claiming nothing', async () => {
      w = await world(h);
      await w.m1.buildrequests.completeBuildRequests([w.B], 0);
      await expect(w.m1.buildrequests.claimBuildRequests([w.A, 9999])).rejects.toThrow(AlreadyClaimedError);
      await expect(w.m1.buildrequests.claimBuildRequests([w.A, w.B])).rejects.toThrow(AlreadyClaimedError);
      expect(await w.m1.buildrequests.getBuildRequests({ claimed: true })).toEqual([]);
    });

    it('reclaimBuildRequests renews this master\'s claims to now', async () => {
      w = await world(h);
      await w.m1.buildrequests.claimBuildRequests([w.A, w.B], { claimed_at: CLAIMED_AT });
      w.clock.set(COMPLETE_AT);
      await w.m1.buildrequests.reclaimBuildRequests([w.A]);
      expect((await w.m1.buildrequests.getBuildRequest(w.A))!.claimed_at).toEqual(COMPLETE_AT);
      expect((await w.m1.buildrequests.getBuildRequest(w.B))!.claimed_at).toEqual(CLAIMED_AT); // bystander
    });

    it('reclaim of an unclaimed, another master\'s, or missing request fails and renews none', async () => {
      w = await world(h);
      await w.m1.buildrequests.claimBuildRequests([w.A], { claimed_at: CLAIMED_AT });
      await w.m2.buildrequests.claimBuildRequests([w.B], { claimed_at: CLAIMED_AT });
      w.clock.set(COMPLETE_AT);
      for (const other of [w.B, w.C, 9999]) {
        await expect(w.m1.buildrequests.reclaimBuildRequests([w.A, other])).rejects.toThrow(AlreadyClaimedError);
      }
      expect((await w.m1.buildrequests.getBuildRequest(w.A))!.claimed_at).toEqual(CLAIMED_AT);
    });

    it('unclaimBuildRequests releases only this master\'s claims, skipping others\' and missing ids', async () => {
      w = await world(h);
      await w.m1.buildrequests.claimBuildRequests([w.A]);
      await w.m2.buildrequests.claimBuildRequests([w.B]);
      await w.m1.buildrequests.unclaimBuildRequests([w.A, w.B, w.C, 9999]);
      expect(await w.m1.buildrequests.getBuildRequest(w.A)).toMatchObject({ claimed: false, claimed_at: null, mine: false });
      expect(await w.m2.buildrequests.getBuildRequest(w.B)).toMatchObject({ claimed: true, mine: true });
    });

    it('completeBuildRequests completes requests claimed by this master, another, or none', async () => {
      w = await world(h);
      await w.m1.buildrequests.claimBuildRequests([w.A]);
      await w.m2.buildrequests.claimBuildRequests([w.B]);
      await w.m1.buildrequests.completeBuildRequests([w.A, w.B, w.C], 7, { complete_at: COMPLETE_AT });
      for (const brid of [w.A, w.B, w.C]) {
        expect(await w.m1.buildrequests.getBuildRequest(brid)).toMatchObject({ complete: true, complete_at: COMPLETE_AT, results: 7 });
      }
      expect(await w.m1.buildrequests.getBuildRequest(w.D)).toMatchObject({ complete: false, results: -1 }); // bystander
    });

    it('completeBuildRequests without complete_at uses the clock; a complete request keeps its claim', async () => {
      w = await world(h);
      await w.m1.buildrequests.claimBuildRequests([w.A], { claimed_at: CLAIMED_AT });
      w.clock.set(COMPLETE_AT);
      await w.m1.buildrequests.completeBuildRequests([w.A], 0);
      expect(await w.m1.buildrequests.getBuildRequest(w.A)).toMatchObject({
        complete: true, complete_at: COMPLETE_AT, claimed: true, claimed_at: CLAIMED_AT, mine: true,
      });
    });

    it('completing a complete or missing request fails with NotClaimedError and completes none', async () => {
      w = await world(h);
      await w.m1.buildrequests.completeBuildRequests([w.B], 0);
      await expect(w.m1.buildrequests.completeBuildRequests([w.A, w.B], 1)).rejects.toThrow(NotClaimedError);
      await expect(w.m1.buildrequests.completeBuildRequests([w.A, 9999], 1)).rejects.toThrow(NotClaimedError);
      expect(await w.m1.buildrequests.getBuildRequest(w.A)).toMatchObject({ complete: false });
    });

    it('the owner may unclaim or reclaim a complete request; nobody may claim it', async () => {
      w = await world(h);
      await w.m1.buildrequests.claimBuildRequests([w.A]);
      await w.m1.buildrequests.completeBuildRequests([w.A], 0);
      await w.m1.buildrequests.reclaimBuildRequests([w.A]);
      await w.m1.buildrequests.unclaimBuildRequests([w.A]);
      expect(await w.m1.buildrequests.getBuildRequest(w.A)).toMatchObject({ complete: true, claimed: false, claimed_at: null });
      await expect(w.m2.buildrequests.claimBuildRequests([w.A])).rejects.toThrow(AlreadyClaimedError);
    });

    it('unclaimExpiredRequests releases claims strictly older than `old` on incomplete requests, from any master', async () => {
      w = await world(h);
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

    describe('getBuildRequests filters', () => {
      // A: claimed by m1; B: claimed by m1 then complete; C: complete, never claimed; D: claimed by m2
      async function states() {
        w = await world(h);
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

      it('branch and repository select through the buildset\'s source stamps', async () => {
        await states();
        const br = w.m1.buildrequests;
        expect(ids(await br.getBuildRequests({ branch: 'main' }))).toEqual([w.A, w.B, w.C]);
        expect(ids(await br.getBuildRequests({ branch: 'dev' }))).toEqual([w.D]);
        expect(ids(await br.getBuildRequests({ repository: 'r2' }))).toEqual([w.D]);
        expect(ids(await br.getBuildRequests({ branch: 'main', repository: 'r2' }))).toEqual([]);
        expect(ids(await br.getBuildRequests({ branch: 'main', buildername: 'linux' }))).toEqual([w.A]);
      });

      it('unclaimed requests of one builder, as a polling master asks', async () => {
        await states();
        await w.m2.buildrequests.unclaimBuildRequests([w.D]);
        expect(ids(await w.m1.buildrequests.getBuildRequests({ buildername: 'linux', claimed: false }))).toEqual([w.D]);
        expect(ids(await w.m1.buildrequests.getBuildRequests({ buildername: 'macos', claimed: false }))).toEqual([]);
      });
    });

    it('bad arguments are InvalidArgumentError and change nothing', async () => {
      w = await world(h);
      const br = w.m1.buildrequests;
      const bad: [string, () => Promise<unknown>][] = [
        ['string brid', () => br.getBuildRequest('1' as never)],
        ['negative brid', () => br.claimBuildRequests([-1])],
        ['fractional brid', () => br.claimBuildRequests([1.5])],
        ['brids not an array', () => br.claimBuildRequests(w.A as never)],
        ['non-Date claimed_at', () => br.claimBuildRequests([w.A], { claimed_at: '2020-01-01' as never })],
        ['invalid Date', () => br.claimBuildRequests([w.A], { claimed_at: new Date(NaN) })],
        ['unknown claim option', () => br.claimBuildRequests([w.A], { claimedAt: new Date() } as never)],
        ['reclaim of a string', () => br.reclaimBuildRequests(['x'] as never)],
        ['unclaim of null', () => br.unclaimBuildRequests(null as never)],
        ['fractional results', () => br.completeBuildRequests([w.A], 0.5)],
        ['string results', () => br.completeBuildRequests([w.A], '0' as never)],
        ['complete option typo', () => br.completeBuildRequests([w.A], 0, { completed_at: new Date() } as never)],
        ['complete: 1', () => br.getBuildRequests({ complete: 1 as never })],
        ["claimed: 'yes'", () => br.getBuildRequests({ claimed: 'yes' as never })],
        ['unknown filter', () => br.getBuildRequests({ builder: 'linux' } as never)],
        ['bsid zero', () => br.getBuildRequests({ bsid: 0 })],
        ['filter not an object', () => br.getBuildRequests('linux' as never)],
        ['negative old', () => br.unclaimExpiredRequests(-1)],
        ['NaN old', () => br.unclaimExpiredRequests(NaN)],
      ];
      for (const [name, call] of bad) {
        await expect(call(), name).rejects.toThrow(InvalidArgumentError);
      }
      expect(await br.getBuildRequests({ claimed: true })).toEqual([]);
      expect(await br.getBuildRequests({ complete: true })).toEqual([]);
    });
  });
}
