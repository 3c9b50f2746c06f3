import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, KeyError, SerializationError } from '../../src/api.ts';
import type { Connector } from '../../src/api.ts';
import { COMPLETE_AT, SUBMITTED_AT, TestClock, oneMaster } from './harness.ts';
import type { Harness } from './harness.ts';

export default function buildsets(h: Harness) {
  describe(`buildsets [${h.name}]`, () => {
    let clock: TestClock;
    let db: Connector;
    const fixture = oneMaster(h);

    async function setup() {
      clock = new TestClock(SUBMITTED_AT);
      db = await fixture.open({ now: clock.now });
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
          buildsetid: bsid,
          buildername,
          priority: 0,
          claimed: false,
          complete: false,
          results: -1,
          submitted_at: SUBMITTED_AT,
        });
      }
    });

    it('getBuildset returns the bsdict with exactly the contract keys', async () => {
      await setup();
      const sss = await stampSet();
      const [bsid] = await add(sss, { external_idstring: 'ext-1' });
      expect(await db.buildsets.getBuildset(bsid)).toEqual({
        bsid,
        external_idstring: 'ext-1',
        reason: 'because',
        sourcestampsetid: sss,
        submitted_at: SUBMITTED_AT,
        complete: false,
        complete_at: null,
        results: -1,
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

    it('addBuildset stamps the buildset and its requests with the clock; each call makes new ids', async () => {
      await setup();
      const sss = await stampSet();
      const [first, one] = await add(sss);
      clock.set(COMPLETE_AT);
      const [second, two] = await add(sss, { builderNames: ['a', 'b'] });
      expect(second).toBeGreaterThan(first);
      expect(two.a).toBeGreaterThan(one.a!);
      expect(two.b).toBeGreaterThan(one.a!);
      expect((await db.buildsets.getBuildset(first))!.submitted_at).toEqual(SUBMITTED_AT);
      expect((await db.buildsets.getBuildset(second))!.submitted_at).toEqual(COMPLETE_AT);
      for (const brid of Object.values(two)) {
        expect((await db.buildrequests.getBuildRequest(brid))!.submitted_at).toEqual(COMPLETE_AT);
      }
    });

    it('addBuildset with external_idstring null is the same as leaving it out', async () => {
      await setup();
      const [bsid] = await add(await stampSet(), { external_idstring: null });
      expect((await db.buildsets.getBuildset(bsid))!.external_idstring).toBeNull();
    });

    it('completeBuildset leaves its build requests as they are', async () => {
      await setup();
      const [bsid, brids] = await add(await stampSet(), { builderNames: ['a', 'b'] });
      await db.buildrequests.claimBuildRequests([brids.a!]);
      await db.buildsets.completeBuildset(bsid, 0, { complete_at: COMPLETE_AT });
      expect(await db.buildrequests.getBuildRequest(brids.a!)).toMatchObject({ claimed: true, complete: false, results: -1 });
      expect(await db.buildrequests.getBuildRequest(brids.b!)).toMatchObject({ claimed: false, complete: false, results: -1 });
    });

    it('completeBuildset touches only the buildset named', async () => {
      await setup();
      const sss = await stampSet();
      const [one] = await add(sss);
      const [two] = await add(sss);
      await db.buildsets.completeBuildset(one, 2, { complete_at: COMPLETE_AT });
      expect(await db.buildsets.getBuildset(two)).toMatchObject({ complete: false, complete_at: null, results: -1 });
    });

    it('a refused completeBuildset leaves the completion as it was', async () => {
      await setup();
      const [bsid] = await add(await stampSet());
      await db.buildsets.completeBuildset(bsid, 3, { complete_at: COMPLETE_AT });
      clock.advance(3600);
      await expect(db.buildsets.completeBuildset(bsid, 5, { complete_at: clock.now() })).rejects.toThrow(KeyError);
      expect(await db.buildsets.getBuildset(bsid)).toMatchObject({ complete: true, complete_at: COMPLETE_AT, results: 3 });
    });

    it('getBuildsets with complete null, or no options, lists them all', async () => {
      await setup();
      const sss = await stampSet();
      const [one] = await add(sss);
      const [two] = await add(sss);
      await db.buildsets.completeBuildset(one, 0);
      const sorted = (list: { bsid: number }[]) => list.map((b) => b.bsid).sort((a, b) => a - b);
      expect(sorted(await db.buildsets.getBuildsets({ complete: null }))).toEqual([one, two]);
      expect(sorted(await db.buildsets.getBuildsets({}))).toEqual([one, two]);
      expect(await db.buildsets.getBuildsets({ complete: false })).toEqual([await db.buildsets.getBuildset(two)]);
    });

    it('getRecentBuildsets breaks ties in submitted_at by submission order', async () => {
      await setup();
      const sss = await stampSet();
      const made: number[] = [];
      for (let i = 0; i < 4; i++) made.push((await add(sss))[0]); // all at the same instant
      const recent = async (count: number) => (await db.buildsets.getRecentBuildsets(count)).map((b) => b.bsid);
      expect(await recent(2)).toEqual(made.slice(2));
      expect(await recent(4)).toEqual(made);
    });

    it('getRecentBuildsets filters through every source stamp of the set, one stamp matching both branch and repository', async () => {
      await setup();
      const multi = await db.sourcestampsets.addSourceStampSet();
      await db.sourcestamps.addSourceStamp({ branch: 'main', revision: 'a', repository: 'r1', project: 'p', sourcestampsetid: multi, codebase: 'app' });
      await db.sourcestamps.addSourceStamp({ branch: 'dev', revision: 'b', repository: 'r2', project: 'p', sourcestampsetid: multi, codebase: 'lib' });
      await db.sourcestamps.addSourceStamp({ branch: 'dev', revision: 'c', repository: 'r1', project: 'p', sourcestampsetid: multi, codebase: 'doc' });
      const [bsid] = await add(multi);
      const recent = async (options: Record<string, unknown>) => (await db.buildsets.getRecentBuildsets(10, options)).map((b) => b.bsid);
      expect(await recent({ branch: 'main' })).toEqual([bsid]); // listed once
      expect(await recent({ branch: 'dev' })).toEqual([bsid]);
      expect(await recent({ branch: 'dev', repository: 'r1' })).toEqual([bsid]);
      expect(await recent({ branch: 'main', repository: 'r2' })).toEqual([]);
      expect(await recent({ repository: 'r3' })).toEqual([]);
      expect(await recent({ branch: null, repository: null, complete: null })).toEqual([bsid]); // null: not filtered
    });

    it('getRecentBuildsets with a filter skips buildsets whose set has no source stamps', async () => {
      await setup();
      const empty = await db.sourcestampsets.addSourceStampSet();
      const [bare] = await add(empty);
      clock.advance(1);
      const [stamped] = await add(await stampSet('main', 'r1'));
      expect((await db.buildsets.getRecentBuildsets(10, { branch: 'main' })).map((b) => b.bsid)).toEqual([stamped]);
      expect((await db.buildsets.getRecentBuildsets(10)).map((b) => b.bsid)).toEqual([bare, stamped]);
    });

    it('getRecentBuildsets reaches past many newer buildsets that do not match', async () => {
      await setup();
      const main = await stampSet('main', 'r1');
      const dev = await stampSet('dev', 'r1');
      const [old] = await add(main);
      clock.advance(1);
      for (let i = 0; i < 300; i++) await add(dev); // more than one scan chunk
      expect((await db.buildsets.getRecentBuildsets(1, { branch: 'main' })).map((b) => b.bsid)).toEqual([old]);
      expect(await db.buildsets.getRecentBuildsets(2, { branch: 'main' })).toEqual([await db.buildsets.getBuildset(old)]);
    });

    it('getBuildsetProperties gives back {} for a buildset added with none, and a fresh copy each time', async () => {
      await setup();
      const sss = await stampSet();
      const [none] = await add(sss);
      expect(await db.buildsets.getBuildsetProperties(none)).toEqual({});
      const given = { list: [[1, 2], 'Scheduler'] as [unknown, string] };
      const [bsid] = await add(sss, { properties: given });
      (given.list[0] as number[]).push(3); // changing the caller's object afterwards changes nothing stored
      const first = await db.buildsets.getBuildsetProperties(bsid);
      (first.list![0] as number[]).push(4);
      expect(await db.buildsets.getBuildsetProperties(bsid)).toEqual({ list: [[1, 2], 'Scheduler'] });
    });

    it('bad arguments are refused with typed errors and add nothing', async () => {
      await setup();
      const sss = await stampSet();
      const bad: [string, () => Promise<unknown>, new (...args: never[]) => Error][] = [
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
        [
          'circular property',
          () => {
            const c: Record<string, unknown> = {};
            c.c = c;
            return add(sss, { properties: { p: [c, 's'] } });
          },
          SerializationError,
        ],
        [
          'circular array property',
          () => {
            const c: unknown[] = [];
            c.push([c]);
            return add(sss, { properties: { p: [c, 's'] } });
          },
          SerializationError,
        ],
        ['Infinity property', () => add(sss, { properties: { p: [-Infinity, 's'] } }), SerializationError],
        ['symbol property', () => add(sss, { properties: { p: [Symbol('x'), 's'] } }), SerializationError],
        ['Date property', () => add(sss, { properties: { p: [new Date(0), 's'] } }), SerializationError],
        ['Map property', () => add(sss, { properties: { p: [new Map([[1, 2]]), 's'] } }), SerializationError],
        ['nested undefined property', () => add(sss, { properties: { ok: [1, 's'], p: [{ a: [1, undefined] }, 's'] } }), SerializationError],
        ['nested NaN property', () => add(sss, { properties: { p: [{ deep: { n: NaN } }, 's'] } }), SerializationError],
        ['properties not an object', () => add(sss, { properties: [['p', 1, 's']] }), InvalidArgumentError],
        ['properties null', () => add(sss, { properties: null }), InvalidArgumentError],
        ['property a triple', () => add(sss, { properties: { p: [1, 's', 'x'] } }), InvalidArgumentError],
        ['property source missing', () => add(sss, { properties: { p: [1] } }), InvalidArgumentError],
        ['builderNames not an array', () => add(sss, { builderNames: 'a' }), InvalidArgumentError],
        ['builderNames with null', () => add(sss, { builderNames: ['a', null] }), InvalidArgumentError],
        ['string sourcestampsetid', () => add(String(sss) as never), InvalidArgumentError],
        ['reason not a string', () => add(sss, { reason: 42 }), InvalidArgumentError],
        ['external_idstring not a string', () => add(sss, { external_idstring: 7 }), InvalidArgumentError],
        ['string bsid', () => db.buildsets.getBuildset('1' as never), InvalidArgumentError],
        ['fractional results', () => db.buildsets.completeBuildset(1, 1.5), InvalidArgumentError],
        ['complete: 1', () => db.buildsets.getBuildsets({ complete: 1 as never }), InvalidArgumentError],
        ['negative count', () => db.buildsets.getRecentBuildsets(-1), InvalidArgumentError],
        ['fractional count', () => db.buildsets.getRecentBuildsets(1.5), InvalidArgumentError],
        ['string count', () => db.buildsets.getRecentBuildsets('5' as never), InvalidArgumentError],
        ['unknown recent option', () => db.buildsets.getRecentBuildsets(1, { branches: 'x' } as never), InvalidArgumentError],
        ['recent complete: 0', () => db.buildsets.getRecentBuildsets(1, { complete: 0 as never }), InvalidArgumentError],
        ['recent branch not a string', () => db.buildsets.getRecentBuildsets(1, { branch: 3 as never }), InvalidArgumentError],
        ['unknown getBuildsets option', () => db.buildsets.getBuildsets({ completed: true } as never), InvalidArgumentError],
        ['completeBuildset of bsid 0', () => db.buildsets.completeBuildset(0, 0), InvalidArgumentError],
        ['completeBuildset with a non-Date complete_at', () => db.buildsets.completeBuildset(1, 0, { complete_at: 'now' as never }), InvalidArgumentError],
        ['completeBuildset with an unknown option', () => db.buildsets.completeBuildset(1, 0, { completed_at: new Date() } as never), InvalidArgumentError],
        ['properties of a string bsid', () => db.buildsets.getBuildsetProperties('1' as never), InvalidArgumentError],
      ];
      for (const [name, call, type] of bad) await expect(call(), name).rejects.toThrow(type as never);
      expect(await db.buildsets.getBuildsets()).toEqual([]);
      expect(await db.buildrequests.getBuildRequests()).toEqual([]);
    });
  });
}
