import { afterEach, describe, expect, it } from 'vitest';
import { InvalidArgumentError, KeyError, SerializationError } from '../../src/api.ts';
import type { Connector, Coordinator } from '../../src/api.ts';
import { COMPLETE_AT, SUBMITTED_AT, TestClock } from './harness.ts';
import type { Harness } from './harness.ts';

export default function buildsets(h: Harness) {
  describe(`buildsets [${h.name}]`, () => {
    let coordinator: Coordinator;
    let clock: TestClock;
    let db: Connector;
    afterEach(() => coordinator?.close());

    async function setup() {
      clock = new TestClock(SUBMITTED_AT);
      coordinator = await h.open({ now: clock.now });
      db = await coordinator.connect('m1');
    }
    /** A source stamp set with one source stamp on branch/repository. */
    async function stampSet(branch: string | null = 'main', repository = 'repo') {
      const sss = await db.sourcestampsets.addSourceStampSet();
      await db.sourcestamps.addSourceStamp({ branch, revision: null, repository, project: 'p', sourcestampsetid: sss });
      return sss;
    }
    const add = async (sss: number, extra: Record<string, unknown> = {}) =>
      db.buildsets.addBuildset({ sourcestampsetid: sss, reason: 'because', properties: {}, builderNames: ['a'], ...extra });

    it('addBuildset returns [bsid, { buildername: brid }] and makes one unclaimed request per builder', async () => {
      await setup();
      const sss = await stampSet();
      const [bsid, brids] = await db.buildsets.addBuildset({ sourcestampsetid: sss, reason: 'push', properties: {}, builderNames: ['linux', 'win'] });
      expect(Object.keys(brids).sort()).toEqual(['linux', 'win']);
      for (const [buildername, brid] of Object.entries(brids)) {
        expect(await db.buildrequests.getBuildRequest(brid)).toMatchObject({
          buildsetid: bsid, buildername, priority: 0, claimed: false, complete: false, results: -1, submitted_at: SUBMITTED_AT,
        });
      }
    });

    it('getBuildset returns the bsdict with exactly the contract keys', async () => {
      await setup();
      const sss = await stampSet();
      const [bsid] = await add(sss, { external_idstring: 'ext-1' });
      expect(await db.buildsets.getBuildset(bsid)).toEqual({
        bsid, external_idstring: 'ext-1', reason: 'because', sourcestampsetid: sss,
        submitted_at: SUBMITTED_AT, complete: false, complete_at: null, results: -1,
      });
      const [plain] = await add(sss);
      expect((await db.buildsets.getBuildset(plain))!.external_idstring).toBeNull();
      expect(await db.buildsets.getBuildset(9999)).toBeNull();
    });

    it('addBuildset with no builders makes a buildset and no requests', async () => {
      await setup();
      const [bsid, brids] = await add(await stampSet(), { builderNames: [] });
      expect(brids).toEqual({});
      expect(await db.buildrequests.getBuildRequests({ bsid })).toEqual([]);
    });

    it('properties round-trip exactly; a missing buildset has {}', async () => {
      await setup();
      const properties = {
        unicode: ['ünïcødé ☃ 😀', 'Scheduler'],
        nested: [{ a: [1, 2, { b: null }], c: true, d: 1.5 }, 'Build'],
        big: ['x'.repeat(200_000), 'Big'],
      } as Record<string, [unknown, string]>;
      Object.defineProperty(properties, '__proto__', { value: [{ x: 1 }, 'Weird'], enumerable: true });
      const [bsid] = await add(await stampSet(), { properties });
      const back = await db.buildsets.getBuildsetProperties(bsid);
      expect(JSON.stringify(back)).toBe(JSON.stringify(properties));
      expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
      expect(await db.buildsets.getBuildsetProperties(9999)).toEqual({});
    });

    it('completeBuildset marks it complete; KeyError if missing or already complete', async () => {
      await setup();
      const [bsid] = await add(await stampSet());
      await db.buildsets.completeBuildset(bsid, 3, { complete_at: COMPLETE_AT });
      expect(await db.buildsets.getBuildset(bsid)).toMatchObject({ complete: true, complete_at: COMPLETE_AT, results: 3 });
      await expect(db.buildsets.completeBuildset(bsid, 0)).rejects.toThrow(KeyError);
      await expect(db.buildsets.completeBuildset(9999, 0)).rejects.toThrow(KeyError);
      expect((await db.buildsets.getBuildset(bsid))!.results).toBe(3);
    });

    it('completeBuildset without complete_at uses the clock', async () => {
      await setup();
      const [bsid] = await add(await stampSet());
      clock.set(COMPLETE_AT);
      await db.buildsets.completeBuildset(bsid, 0);
      expect((await db.buildsets.getBuildset(bsid))!.complete_at).toEqual(COMPLETE_AT);
    });

    it('getBuildsets filters on complete', async () => {
      await setup();
      const sss = await stampSet();
      const [one] = await add(sss);
      const [two] = await add(sss);
      await db.buildsets.completeBuildset(two, 0);
      const ids = async (complete?: boolean) => (await db.buildsets.getBuildsets(complete === undefined ? undefined : { complete })).map((b) => b.bsid).sort();
      expect(await ids()).toEqual([one, two].sort());
      expect(await ids(true)).toEqual([two]);
      expect(await ids(false)).toEqual([one]);
    });

    it('getRecentBuildsets gives the count most recently submitted, oldest first, filtered by source stamps', async () => {
      await setup();
      const main = await stampSet('main', 'r1');
      const dev = await stampSet('dev', 'r2');
      const made: number[] = [];
      for (const sss of [main, dev, main, dev, main]) {
        clock.advance(10);
        made.push((await add(sss))[0]);
      }
      await db.buildsets.completeBuildset(made[4]!, 0);
      const recent = async (count: number, options?: Record<string, unknown>) => (await db.buildsets.getRecentBuildsets(count, options)).map((b) => b.bsid);
      expect(await recent(3)).toEqual(made.slice(2));
      expect(await recent(100)).toEqual(made);
      expect(await recent(0)).toEqual([]);
      expect(await recent(2, { branch: 'main' })).toEqual([made[2], made[4]]);
      expect(await recent(5, { repository: 'r2' })).toEqual([made[1], made[3]]);
      expect(await recent(5, { branch: 'main', complete: false })).toEqual([made[0], made[2]]);
      expect(await recent(5, { complete: true })).toEqual([made[4]]);
      expect(await recent(5, { branch: 'main', repository: 'r2' })).toEqual([]);
    });

    it('bad arguments are refused with typed errors and add nothing', async () => {
      await setup();
      const sss = await stampSet();
      const bad: [string, () => Promise<unknown>, Function][] = [
        ['missing set', () => add(9999), InvalidArgumentError],
        ['no arguments object', () => db.buildsets.addBuildset(undefined as never), InvalidArgumentError],
        ['missing reason', () => db.buildsets.addBuildset({ sourcestampsetid: sss, properties: {}, builderNames: [] } as never), InvalidArgumentError],
        ['unknown key', () => add(sss, { submitted_at: new Date() }), InvalidArgumentError],
        ['builderNames not strings', () => add(sss, { builderNames: [1] }), InvalidArgumentError],
        ['builder twice', () => add(sss, { builderNames: ['a', 'a'] }), InvalidArgumentError],
        ['property not a pair', () => add(sss, { properties: { p: 1 } }), InvalidArgumentError],
        ['property source not a string', () => add(sss, { properties: { p: [1, 2] } }), InvalidArgumentError],
        ['NaN property', () => add(sss, { properties: { p: [NaN, 's'] } }), SerializationError],
        ['function property', () => add(sss, { properties: { p: [() => 1, 's'] } }), SerializationError],
        ['undefined property', () => add(sss, { properties: { p: [undefined, 's'] } }), SerializationError],
        ['BigInt property', () => add(sss, { properties: { p: [1n, 's'] } }), SerializationError],
        ['circular property', () => { const c: Record<string, unknown> = {}; c.c = c; return add(sss, { properties: { p: [c, 's'] } }); }, SerializationError],
        ['string bsid', () => db.buildsets.getBuildset('1' as never), InvalidArgumentError],
        ['fractional results', () => db.buildsets.completeBuildset(1, 1.5), InvalidArgumentError],
        ['complete: 1', () => db.buildsets.getBuildsets({ complete: 1 as never }), InvalidArgumentError],
        ['negative count', () => db.buildsets.getRecentBuildsets(-1), InvalidArgumentError],
        ['unknown recent option', () => db.buildsets.getRecentBuildsets(1, { branches: 'x' } as never), InvalidArgumentError],
      ];
      for (const [name, call, type] of bad) await expect(call(), name).rejects.toThrow(type as never);
      expect(await db.buildsets.getBuildsets()).toEqual([]);
      expect(await db.buildrequests.getBuildRequests()).toEqual([]);
    });
  });
}
