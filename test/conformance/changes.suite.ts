import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, SerializationError } from '../../src/api.ts';
import type { Connector } from '../../src/api.ts';
import { COMPLETE_AT, SUBMITTED_AT, TestClock, oneMaster } from './harness.ts';
import type { Harness } from './harness.ts';

// A time from the version-control system, unrelated to the clock.
const WHEN = new Date(Date.UTC(2011, 2, 4, 5, 6, 7));
const CHDICT_KEYS = [
  'author',
  'branch',
  'category',
  'changeid',
  'codebase',
  'comments',
  'files',
  'is_dir',
  'links',
  'project',
  'properties',
  'repository',
  'revision',
  'revlink',
  'when_timestamp',
];

/** Property values JSON must bring back exactly. */
function awkwardProperties(): Record<string, [unknown, string]> {
  return {
    unicode: ['ünïcødé ☃ 😀 中文 \u0000 \u2028', 'Change'],
    nested: [{ a: [1, { b: [null, true, 'x'] }], ключ: { '': -1.5e300 } }, 'Change'],
    large: ['x'.repeat(1_000_000), 'Change'],
    numbers: [[0, -1, 2 ** 53 - 1, 0.1], 'Change'],
    empty: [{}, 'Change'],
    nothing: [null, 'Change'],
    ...JSON.parse('{"__proto__": [{"polluted": true}, "Change"], "constructor": [{"prototype": {"polluted": true}}, "Change"]}'),
  };
}

export default function changes(h: Harness) {
  describe(`changes [${h.name}]`, () => {
    let db: Connector;
    let clock: TestClock;
    const fixture = oneMaster(h);
    const setup = async () => {
      clock = new TestClock(SUBMITTED_AT);
      db = await fixture.open({ now: clock.now });
    };
    const ann = () => db.users.findUserByAttr({ identifier: 'ann', attr_type: 'git', attr_data: 'ann <ann@example.org>' });

    it('addChange stores every argument; getChange returns the chdict with exactly its keys', async () => {
      await setup();
      const uid = await ann();
      const changeid = await db.changes.addChange({
        author: 'ann',
        files: ['a.c', 'dir/b.h'],
        comments: 'fix it',
        is_dir: 0,
        links: ['http://review/1', 'http://ci/2'],
        revision: 'abc',
        when_timestamp: WHEN,
        branch: 'main',
        category: 'bugfix',
        revlink: 'http://web/abc',
        properties: { ticket: [42, 'Change'] },
        repository: 'git://repo',
        codebase: 'core',
        project: 'app',
        uid,
      });
      const chdict = await db.changes.getChange(changeid);
      expect(chdict).toEqual({
        changeid,
        author: 'ann',
        files: ['a.c', 'dir/b.h'],
        comments: 'fix it',
        is_dir: 0,
        links: ['http://review/1', 'http://ci/2'],
        revision: 'abc',
        when_timestamp: WHEN,
        branch: 'main',
        category: 'bugfix',
        revlink: 'http://web/abc',
        properties: { ticket: [42, 'Change'] },
        repository: 'git://repo',
        codebase: 'core',
        project: 'app',
      });
      expect(Object.keys(chdict!).sort()).toEqual(CHDICT_KEYS);
      expect(await db.changes.getChangeUids(changeid)).toEqual([uid]);
    });

    it('addChange defaults every argument as the spec signature does; when_timestamp defaults to now', async () => {
      await setup();
      const changeid = await db.changes.addChange({});
      expect(await db.changes.getChange(changeid)).toEqual({
        changeid,
        author: null,
        files: [],
        comments: null,
        is_dir: 0,
        links: [],
        revision: null,
        when_timestamp: SUBMITTED_AT,
        branch: null,
        category: null,
        revlink: '',
        properties: {},
        repository: '',
        codebase: '',
        project: '',
      });
      expect(await db.changes.getChangeUids(changeid)).toEqual([]);
      clock.set(COMPLETE_AT);
      const explicit = await db.changes.addChange({
        author: null,
        files: null,
        comments: null,
        links: null,
        revision: null,
        when_timestamp: null,
        branch: null,
        category: null,
        revlink: null,
        uid: null,
      });
      expect(await db.changes.getChange(explicit)).toMatchObject({ files: [], links: [], when_timestamp: COMPLETE_AT, revlink: null });
      expect(await db.changes.getChangeUids(explicit)).toEqual([]);
      expect(explicit).toBeGreaterThan(changeid);
    });

    it('properties round-trip exactly as JSON does, through the cache, around it, and in getRecentChanges', async () => {
      await setup();
      const properties = awkwardProperties();
      const changeid = await db.changes.addChange({ properties, author: 'Zoë 😀' });
      const expected = JSON.parse(JSON.stringify(properties));
      for (const chdict of [
        await db.changes.getChange(changeid),
        await db.changes.getChange(changeid),
        await db.changes.getChange(changeid, { no_cache: true }),
        (await db.changes.getRecentChanges(1))[0],
      ]) {
        expect(chdict!.properties).toEqual(expected);
        expect(JSON.stringify(chdict!.properties)).toBe(JSON.stringify(expected));
        expect(Object.getPrototypeOf(chdict!.properties)).toBe(Object.prototype);
        expect(chdict!.author).toBe('Zoë 😀');
      }
      expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
    });

    it('getChange of a missing change is null, and is not remembered as null once the change exists', async () => {
      await setup();
      const first = await db.changes.addChange({});
      expect(await db.changes.getChange(first + 1)).toBeNull();
      const second = await db.changes.addChange({ comments: 'later' });
      expect((await db.changes.getChange(second))!.comments).toBe('later');
      expect((await db.changes.getChange(first + 1))!.changeid).toBe(first + 1);
    });

    it('getChange returns copies: changing one changes neither the cache nor the store', async () => {
      await setup();
      const changeid = await db.changes.addChange({ files: ['x'], links: ['l'], when_timestamp: WHEN, properties: { p: [{ deep: [1] }, 'Change'] } });
      const pristine = await db.changes.getChange(changeid, { no_cache: true });
      for (const options of [undefined, { no_cache: true }, { no_cache: false }, {}]) {
        const copy = (await db.changes.getChange(changeid, options))!;
        copy.files.push('tampered');
        copy.links.length = 0;
        copy.when_timestamp.setTime(0);
        (copy.properties.p![0] as { deep: number[] }).deep.push(2);
        copy.properties.added = [1, 'Change'];
        copy.author = 'mallory';
        expect(await db.changes.getChange(changeid), JSON.stringify(options)).toEqual(pristine);
        expect(await db.changes.getChange(changeid, { no_cache: true })).toEqual(pristine);
      }
      const [recent] = await db.changes.getRecentChanges(1);
      recent!.files.push('tampered');
      expect(await db.changes.getChange(changeid)).toEqual(pristine);
    });

    it('getChange stays right for more changes than its cache holds', async () => {
      await setup();
      const ids = await Promise.all(Array.from({ length: 250 }, (_, i) => db.changes.addChange({ comments: `change ${i}` })));
      for (const round of [0, 1]) {
        for (const [i, changeid] of ids.entries()) {
          expect((await db.changes.getChange(changeid))!.comments, `round ${round}`).toBe(`change ${i}`);
        }
      }
      expect((await db.changes.getChange(ids[0]!))!.comments).toBe('change 0');
    });

    it('getChangeUids lists the user who made a change; none for a change without one or a missing change', async () => {
      await setup();
      const uid = await ann();
      const bob = await db.users.findUserByAttr({ identifier: 'bob', attr_type: 'git', attr_data: 'bob' });
      const mine = await db.changes.addChange({ uid });
      const his = await db.changes.addChange({ uid: bob });
      const nobodys = await db.changes.addChange({});
      expect(await db.changes.getChangeUids(mine)).toEqual([uid]);
      expect(await db.changes.getChangeUids(his)).toEqual([bob]);
      expect(await db.changes.getChangeUids(nobodys)).toEqual([]);
      expect(await db.changes.getChangeUids(nobodys + 1000)).toEqual([]);
    });

    it('getRecentChanges gives the count highest changeids ascending, whatever their timestamps', async () => {
      await setup();
      const ids: number[] = [];
      // Newer changes carry older timestamps, as merged DVCS history does.
      for (let i = 0; i < 5; i++) ids.push(await db.changes.addChange({ when_timestamp: new Date(Date.UTC(2020, 0, 10 - i)) }));
      const three = await db.changes.getRecentChanges(3);
      expect(three.map((c) => c.changeid)).toEqual(ids.slice(2));
      expect(three[0]).toEqual(await db.changes.getChange(ids[2]!));
      expect((await db.changes.getRecentChanges(10)).map((c) => c.changeid)).toEqual(ids);
      expect((await db.changes.getRecentChanges(1)).map((c) => c.changeid)).toEqual([ids[4]]);
      expect(await db.changes.getRecentChanges(0)).toEqual([]);
    });

    it('getRecentChanges and getLatestChangeid with no changes: [] and null', async () => {
      await setup();
      expect(await db.changes.getRecentChanges(5)).toEqual([]);
      expect(await db.changes.getLatestChangeid()).toBeNull();
    });

    it('getLatestChangeid is the newest changeid', async () => {
      await setup();
      const first = await db.changes.addChange({});
      expect(await db.changes.getLatestChangeid()).toBe(first);
      const last = await db.changes.addChange({ when_timestamp: new Date(0) });
      expect(last).toBeGreaterThan(first);
      expect(await db.changes.getLatestChangeid()).toBe(last);
    });

    it('addChange by a user that does not exist is InvalidArgumentError and adds nothing', async () => {
      await setup();
      const uid = await ann();
      await db.users.removeUser(uid);
      await expect(db.changes.addChange({ uid })).rejects.toThrow(InvalidArgumentError);
      await expect(db.changes.addChange({ uid: uid + 1000 })).rejects.toThrow(InvalidArgumentError);
      expect(await db.changes.getLatestChangeid()).toBeNull();
    });

    it('bad arguments are refused with typed errors and change nothing', async () => {
      await setup();
      const kept = await db.changes.addChange({ files: ['kept'] });
      const before = await db.changes.getRecentChanges(10);
      const circular: Record<string, unknown> = {};
      circular.self = circular;
      const badAdds: [string, unknown, new (...args: never[]) => Error][] = [
        ['null project', { project: null }, InvalidArgumentError],
        ['null repository', { repository: null }, InvalidArgumentError],
        ['null codebase', { codebase: null }, InvalidArgumentError],
        ['numeric project', { project: 1 }, InvalidArgumentError],
        ['author not a string', { author: 5 }, InvalidArgumentError],
        ['author with a lone surrogate', { author: 'a\uD800' }, InvalidArgumentError],
        ['comments not a string', { comments: ['x'] }, InvalidArgumentError],
        ['files a string', { files: 'a.c' }, InvalidArgumentError],
        ['files not strings', { files: ['a.c', 1] }, InvalidArgumentError],
        ['links not strings', { links: [null] }, InvalidArgumentError],
        ['is_dir boolean', { is_dir: true }, InvalidArgumentError],
        ['is_dir fraction', { is_dir: 0.5 }, InvalidArgumentError],
        ['is_dir null', { is_dir: null }, InvalidArgumentError],
        ['revision number', { revision: 1 }, InvalidArgumentError],
        ['when_timestamp epoch number', { when_timestamp: 1300000000 }, InvalidArgumentError],
        ['when_timestamp string', { when_timestamp: '2011-03-04' }, InvalidArgumentError],
        ['when_timestamp invalid Date', { when_timestamp: new Date(NaN) }, InvalidArgumentError],
        ['branch number', { branch: 1 }, InvalidArgumentError],
        ['category object', { category: {} }, InvalidArgumentError],
        ['revlink number', { revlink: 1 }, InvalidArgumentError],
        ['properties null', { properties: null }, InvalidArgumentError],
        ['properties array', { properties: [] }, InvalidArgumentError],
        ['property not a pair', { properties: { p: 1 } }, InvalidArgumentError],
        ['property without source', { properties: { p: [1] } }, InvalidArgumentError],
        ['property source not Change', { properties: { p: [1, 'Build'] } }, InvalidArgumentError],
        ['property Infinity', { properties: { p: [Infinity, 'Change'] } }, SerializationError],
        ['property undefined', { properties: { p: [undefined, 'Change'] } }, SerializationError],
        ['property function', { properties: { p: [() => 1, 'Change'] } }, SerializationError],
        ['property BigInt', { properties: { p: [1n, 'Change'] } }, SerializationError],
        ['property circular', { properties: { p: [circular, 'Change'] } }, SerializationError],
        ['property Date', { properties: { p: [new Date(), 'Change'] } }, SerializationError],
        ['property Map', { properties: { p: [new Map(), 'Change'] } }, SerializationError],
        ['uid string', { uid: '1' }, InvalidArgumentError],
        ['uid 0', { uid: 0 }, InvalidArgumentError],
        ['uid negative', { uid: -1 }, InvalidArgumentError],
        ['unknown key', { who: 'ann' }, InvalidArgumentError],
        ['misspelt key', { when: WHEN }, InvalidArgumentError],
        ['a string', 'ann', InvalidArgumentError],
        ['null', null, InvalidArgumentError],
        ['an array', [], InvalidArgumentError],
      ];
      for (const [name, args, type] of badAdds) await expect(db.changes.addChange(args as never), name).rejects.toThrow(type as never);
      const badCalls: [string, () => Promise<unknown>][] = [
        ['getChange 0', () => db.changes.getChange(0)],
        ['getChange negative', () => db.changes.getChange(-1)],
        ['getChange string', () => db.changes.getChange(String(kept) as never)],
        ['getChange fraction', () => db.changes.getChange(1.5)],
        ['getChange no_cache number', () => db.changes.getChange(kept, { no_cache: 1 } as never)],
        ['getChange no_cache string', () => db.changes.getChange(kept, { no_cache: 'yes' } as never)],
        ['getChange unknown option', () => db.changes.getChange(kept, { nocache: true } as never)],
        ['getChange options not an object', () => db.changes.getChange(kept, true as never)],
        ['getChangeUids string', () => db.changes.getChangeUids(String(kept) as never)],
        ['getChangeUids 0', () => db.changes.getChangeUids(0)],
        ['getRecentChanges negative', () => db.changes.getRecentChanges(-1)],
        ['getRecentChanges fraction', () => db.changes.getRecentChanges(1.5)],
        ['getRecentChanges string', () => db.changes.getRecentChanges('3' as never)],
        ['getRecentChanges null', () => db.changes.getRecentChanges(null as never)],
      ];
      for (const [name, call] of badCalls) await expect(call(), name).rejects.toThrow(InvalidArgumentError);
      expect(await db.changes.getLatestChangeid()).toBe(kept);
      expect(await db.changes.getRecentChanges(10)).toEqual(before);
    });

    it('source stamps refer to existing changes, listed ascending', async () => {
      await setup();
      const [c1, c2] = [await db.changes.addChange({}), await db.changes.addChange({})];
      const sss = await db.sourcestampsets.addSourceStampSet();
      const stamp = { branch: null, revision: null, repository: '', project: '', sourcestampsetid: sss };
      const ssid = await db.sourcestamps.addSourceStamp({ ...stamp, changeids: [c2, c1] });
      expect((await db.sourcestamps.getSourceStamp(ssid))!.changeids).toEqual([c1, c2]);
      await expect(db.sourcestamps.addSourceStamp({ ...stamp, changeids: [c1, c2 + 1000] })).rejects.toThrow(InvalidArgumentError);
      expect(await db.sourcestamps.getSourceStamps(sss)).toHaveLength(1);
    });

    it.runIf(h.capabilities.permanence)('every change, property and user link is back after reopen, and changeids keep increasing', async () => {
      await setup();
      const uid = await ann();
      const first = await db.changes.addChange({ author: 'ann', files: ['f'], links: ['l'], when_timestamp: WHEN, branch: 'main', properties: awkwardProperties(), uid });
      const second = await db.changes.addChange({ codebase: 'cb', repository: 'r', project: 'p', revlink: null });
      const before = await db.changes.getRecentChanges(2);

      db = await fixture.reopen({ now: clock.now });
      expect(await db.changes.getRecentChanges(2)).toEqual(before);
      expect([await db.changes.getChange(first), await db.changes.getChange(second)]).toEqual(before);
      expect(await db.changes.getChangeUids(first)).toEqual([uid]);
      expect(await db.changes.getChangeUids(second)).toEqual([]);
      expect(await db.changes.getLatestChangeid()).toBe(second);
      const third = await db.changes.addChange({});
      expect(third).toBeGreaterThan(second);
      expect(await db.changes.getLatestChangeid()).toBe(third);
    });
  });
}
