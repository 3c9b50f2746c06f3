import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/api.ts';
import type { Connector } from '../../src/api.ts';
import { CLAIMED_AT, COMPLETE_AT, SUBMITTED_AT, TestClock, oneMaster } from './harness.ts';
import type { Harness } from './harness.ts';

export default function builds(h: Harness) {
  describe(`builds [${h.name}]`, () => {
    let clock: TestClock;
    let db: Connector;
    const fixture = oneMaster(h);

    /** One buildset with requests for builders a and b; the clock at SUBMITTED_AT. */
    async function setup() {
      clock = new TestClock(SUBMITTED_AT);
      db = await fixture.open({ now: clock.now });
      const sss = await db.sourcestampsets.addSourceStampSet();
      const [, brids] = await db.buildsets.addBuildset({ sourcestampsetid: sss, reason: 'r', properties: {}, builderNames: ['a', 'b'] });
      return { a: brids.a!, b: brids.b! };
    }
    const byBid = (list: { bid: number }[]) => [...list].sort((x, y) => x.bid - y.bid);

    it('addBuild records request, number and start time now; getBuild returns exactly the bdict keys', async () => {
      const { a } = await setup();
      clock.set(CLAIMED_AT);
      const bid = await db.builds.addBuild(a, 7);
      const bdict = await db.builds.getBuild(bid);
      expect(bdict).toEqual({ bid, number: 7, brid: a, start_time: CLAIMED_AT, finish_time: null });
      expect(Object.keys(bdict!).sort()).toEqual(['bid', 'brid', 'finish_time', 'number', 'start_time']);
      expect(await db.builds.getBuild(bid + 1000)).toBeNull();
    });

    it('bids increase; build numbers need not be unique', async () => {
      const { a, b } = await setup();
      const first = await db.builds.addBuild(a, 0);
      const second = await db.builds.addBuild(b, 0);
      const third = await db.builds.addBuild(a, 0);
      expect(first).toBeGreaterThan(0);
      expect(second).toBeGreaterThan(first);
      expect(third).toBeGreaterThan(second);
      expect((await db.builds.getBuild(third))!.number).toBe(0);
    });

    it('getBuildsForRequest lists the bdicts of one request only', async () => {
      const { a, b } = await setup();
      const one = await db.builds.addBuild(a, 1);
      clock.advance(10);
      const two = await db.builds.addBuild(a, 2);
      const other = await db.builds.addBuild(b, 1); // bystander
      expect(byBid(await db.builds.getBuildsForRequest(a))).toEqual([await db.builds.getBuild(one), await db.builds.getBuild(two)]);
      expect(await db.builds.getBuildsForRequest(b)).toEqual([await db.builds.getBuild(other)]);
      expect(await db.builds.getBuildsForRequest(a + b + 1000)).toEqual([]);
    });

    it('finishBuilds sets finish_time to now, even on finished builds, skips missing ids and leaves others alone', async () => {
      const { a, b } = await setup();
      const one = await db.builds.addBuild(a, 1);
      const two = await db.builds.addBuild(a, 2);
      const three = await db.builds.addBuild(b, 3); // bystander
      clock.set(COMPLETE_AT);
      await db.builds.finishBuilds([one, two, three + 1000]);
      expect(await db.builds.getBuild(one)).toEqual({ bid: one, number: 1, brid: a, start_time: SUBMITTED_AT, finish_time: COMPLETE_AT });
      expect((await db.builds.getBuild(two))!.finish_time).toEqual(COMPLETE_AT);
      expect((await db.builds.getBuild(three))!.finish_time).toBeNull();
      expect(await db.builds.getBuild(three + 1000)).toBeNull();
      // Unconditional, as the spec says: a finished build gets the new time.
      clock.advance(60);
      await db.builds.finishBuilds([one, one]);
      expect((await db.builds.getBuild(one))!.finish_time).toEqual(clock.now());
      expect((await db.builds.getBuild(two))!.finish_time).toEqual(COMPLETE_AT);
      await db.builds.finishBuilds([]);
      expect((await db.builds.getBuild(one))!.finish_time).toEqual(clock.now());
    });

    it('addBuild of a build request that does not exist is InvalidArgumentError and adds nothing', async () => {
      const { a, b } = await setup();
      await expect(db.builds.addBuild(a + b + 1000, 1)).rejects.toThrow(InvalidArgumentError);
      expect(await db.builds.getBuildsForRequest(a + b + 1000)).toEqual([]);
      const bid = await db.builds.addBuild(a, 1);
      expect(await db.builds.getBuildsForRequest(a)).toEqual([await db.builds.getBuild(bid)]);
    });

    it('bad arguments are InvalidArgumentError and change nothing', async () => {
      const { a } = await setup();
      const bid = await db.builds.addBuild(a, 1);
      const before = await db.builds.getBuildsForRequest(a);
      clock.set(COMPLETE_AT);
      const bad: [string, () => Promise<unknown>][] = [
        ['getBuild string', () => db.builds.getBuild('1' as never)],
        ['getBuild 0', () => db.builds.getBuild(0)],
        ['getBuild negative', () => db.builds.getBuild(-1)],
        ['getBuild fraction', () => db.builds.getBuild(1.5)],
        ['getBuild null', () => db.builds.getBuild(null as never)],
        ['getBuildsForRequest string', () => db.builds.getBuildsForRequest('1' as never)],
        ['getBuildsForRequest array', () => db.builds.getBuildsForRequest([a] as never)],
        ['addBuild brid string', () => db.builds.addBuild(String(a) as never, 2)],
        ['addBuild brid 0', () => db.builds.addBuild(0, 2)],
        ['addBuild number fraction', () => db.builds.addBuild(a, 1.5)],
        ['addBuild number string', () => db.builds.addBuild(a, '2' as never)],
        ['addBuild number null', () => db.builds.addBuild(a, null as never)],
        ['addBuild number NaN', () => db.builds.addBuild(a, NaN)],
        ['finishBuilds not an array', () => db.builds.finishBuilds(bid as never)],
        ['finishBuilds string id', () => db.builds.finishBuilds([bid, String(bid)] as never)],
        ['finishBuilds id 0', () => db.builds.finishBuilds([bid, 0])],
        ['finishBuilds null', () => db.builds.finishBuilds(null as never)],
      ];
      for (const [name, call] of bad) await expect(call(), name).rejects.toThrow(InvalidArgumentError);
      expect(await db.builds.getBuildsForRequest(a)).toEqual(before);
      expect((await db.builds.getBuild(bid))!.finish_time).toBeNull();
    });

    it.runIf(h.capabilities.permanence)('every build is back after reopen, and bids keep increasing', async () => {
      const { a, b } = await setup();
      const one = await db.builds.addBuild(a, 1);
      const two = await db.builds.addBuild(b, 2);
      clock.set(COMPLETE_AT);
      await db.builds.finishBuilds([one]);
      const before = [await db.builds.getBuild(one), await db.builds.getBuild(two)];

      db = await fixture.reopen({ now: clock.now });
      expect([await db.builds.getBuild(one), await db.builds.getBuild(two)]).toEqual(before);
      expect(await db.builds.getBuildsForRequest(a)).toEqual([before[0]]);
      expect(await db.builds.getBuildsForRequest(b)).toEqual([before[1]]);
      const three = await db.builds.addBuild(a, 3);
      expect(three).toBeGreaterThan(two);
      expect(byBid(await db.builds.getBuildsForRequest(a)).map((x) => x.bid)).toEqual([one, three]);
    });
  });
}
