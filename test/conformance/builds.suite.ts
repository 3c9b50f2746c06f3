import { afterEach, describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/api.ts';
import type { Coordinator } from '../../src/api.ts';
import { COMPLETE_AT, SUBMITTED_AT, TestClock } from './harness.ts';
import type { Harness } from './harness.ts';

export default function builds(h: Harness) {
  describe(`builds [${h.name}]`, () => {
    let coordinator: Coordinator;
    afterEach(() => coordinator?.close());

    async function setup() {
      const clock = new TestClock(SUBMITTED_AT);
      coordinator = await h.open({ now: clock.now });
      const db = await coordinator.connect('m1');
      const sss = await db.sourcestampsets.addSourceStampSet();
      const [, brids] = await db.buildsets.addBuildset({ sourcestampsetid: sss, reason: 'r', properties: {}, builderNames: ['a', 'b'] });
      return { clock, db, a: brids.a!, b: brids.b! };
    }

    it('addBuild records the request, number and start time; getBuild returns the bdict', async () => {
      const { db, a } = await setup();
      const bid = await db.builds.addBuild(a, 7);
      expect(await db.builds.getBuild(bid)).toEqual({ bid, number: 7, brid: a, start_time: SUBMITTED_AT, finish_time: null });
      expect(await db.builds.getBuild(9999)).toBeNull();
    });

    it('getBuildsForRequest lists the builds of one request only', async () => {
      const { db, a, b } = await setup();
      const one = await db.builds.addBuild(a, 1);
      const two = await db.builds.addBuild(a, 2);
      await db.builds.addBuild(b, 1);
      expect((await db.builds.getBuildsForRequest(a)).map((x) => x.bid).sort((x, y) => x - y)).toEqual([one, two]);
      expect(await db.builds.getBuildsForRequest(9999)).toEqual([]);
    });

    it('finishBuilds sets finish_time to now, even on finished builds, and skips missing ids', async () => {
      const { clock, db, a } = await setup();
      const one = await db.builds.addBuild(a, 1);
      const two = await db.builds.addBuild(a, 2);
      clock.set(COMPLETE_AT);
      await db.builds.finishBuilds([one, 9999]);
      expect((await db.builds.getBuild(one))!.finish_time).toEqual(COMPLETE_AT);
      expect((await db.builds.getBuild(two))!.finish_time).toBeNull(); // bystander
      clock.advance(60);
      await db.builds.finishBuilds([one]);
      expect((await db.builds.getBuild(one))!.finish_time).toEqual(clock.now());
    });

    it('bad arguments are InvalidArgumentError and add nothing', async () => {
      const { db, a } = await setup();
      await expect(db.builds.addBuild(9999, 1)).rejects.toThrow(InvalidArgumentError);
      await expect(db.builds.addBuild(a, 1.5)).rejects.toThrow(InvalidArgumentError);
      await expect(db.builds.addBuild('1' as never, 1)).rejects.toThrow(InvalidArgumentError);
      await expect(db.builds.finishBuilds(1 as never)).rejects.toThrow(InvalidArgumentError);
      await expect(db.builds.getBuild(0)).rejects.toThrow(InvalidArgumentError);
      expect(await db.builds.getBuildsForRequest(a)).toEqual([]);
    });
  });
}
