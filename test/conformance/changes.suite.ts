import { afterEach, describe, expect, it } from 'vitest';
import { InvalidArgumentError, SerializationError } from '../../src/api.ts';
import type { Connector, Coordinator } from '../../src/api.ts';
import { SUBMITTED_AT, TestClock } from './harness.ts';
import type { Harness } from './harness.ts';

export default function changes(h: Harness) {
  describe(`changes [${h.name}]`, () => {
    let coordinator: Coordinator;
    let db: Connector;
    let clock: TestClock;
    afterEach(() => coordinator?.close());
    const setup = async () => {
      clock = new TestClock(SUBMITTED_AT);
      coordinator = await h.open({ now: clock.now });
      db = await coordinator.connect('m1');
    };

    it('addChange stores every field; getChange returns the chdict', async () => {
      await setup();
      const when = new Date(Date.UTC(2011, 2, 4, 5, 6, 7));
      const uid = await db.users.findUserByAttr({ identifier: 'ann', attr_type: 'git', attr_data: 'ann@example.org' });
      const changeid = await db.changes.addChange({
        author: 'ann', files: ['a.c', 'dir/b.h'], comments: 'fix it', is_dir: 0, links: ['http://review/1'],
        revision: 'abc', when_timestamp: when, branch: 'main', category: 'bugfix', revlink: 'http://web/abc',
        properties: { ticket: [42, 'Change'], nested: [{ a: [1, 'ü'] }, 'Change'] },
        repository: 'git://repo', codebase: 'core', project: 'app', uid,
      });
      expect(await db.changes.getChange(changeid)).toEqual({
        changeid, author: 'ann', files: ['a.c', 'dir/b.h'], comments: 'fix it', is_dir: 0, links: ['http://review/1'],
        revision: 'abc', when_timestamp: when, branch: 'main', category: 'bugfix', revlink: 'http://web/abc',
        properties: { ticket: [42, 'Change'], nested: [{ a: [1, 'ü'] }, 'Change'] },
        repository: 'git://repo', codebase: 'core', project: 'app',
      });
      expect(await db.changes.getChangeUids(changeid)).toEqual([uid]);
    });

    it('addChange defaults every argument as the spec signature does', async () => {
      await setup();
      const changeid = await db.changes.addChange({});
      expect(await db.changes.getChange(changeid)).toEqual({
        changeid, author: null, files: [], comments: null, is_dir: 0, links: [], revision: null,
        when_timestamp: SUBMITTED_AT, branch: null, category: null, revlink: '', properties: {},
        repository: '', codebase: '', project: '',
      });
      expect(await db.changes.getChangeUids(changeid)).toEqual([]);
    });

    it('getChange of a missing change is null; its result is a copy the cache does not share', async () => {
      await setup();
      expect(await db.changes.getChange(9999)).toBeNull();
      const changeid = await db.changes.addChange({ files: ['x'] });
      const first = (await db.changes.getChange(changeid))!;
      first.files.push('tampered');
      expect((await db.changes.getChange(changeid))!.files).toEqual(['x']);
      expect((await db.changes.getChange(changeid, { no_cache: true }))!.files).toEqual(['x']);
    });

    it('getRecentChanges gives the count highest changeids ascending, whatever their timestamps', async () => {
      await setup();
      const ids: number[] = [];
      for (let i = 0; i < 5; i++) ids.push(await db.changes.addChange({ when_timestamp: new Date(Date.UTC(2020, 0, 10 - i)) }));
      expect((await db.changes.getRecentChanges(3)).map((c) => c.changeid)).toEqual(ids.slice(2));
      expect((await db.changes.getRecentChanges(10)).map((c) => c.changeid)).toEqual(ids);
      expect(await db.changes.getRecentChanges(0)).toEqual([]);
    });

    it('getLatestChangeid is null with no changes, then the newest changeid', async () => {
      await setup();
      expect(await db.changes.getLatestChangeid()).toBeNull();
      await db.changes.addChange({});
      const last = await db.changes.addChange({});
      expect(await db.changes.getLatestChangeid()).toBe(last);
    });

    it('bad arguments are refused with typed errors and add nothing', async () => {
      await setup();
      const bad: [string, unknown, Function][] = [
        ['null project', { project: null }, InvalidArgumentError],
        ['null repository', { repository: null }, InvalidArgumentError],
        ['files not strings', { files: [1] }, InvalidArgumentError],
        ['when_timestamp not a Date', { when_timestamp: 1300000000 }, InvalidArgumentError],
        ['property source not Change', { properties: { p: [1, 'Build'] } }, InvalidArgumentError],
        ['property not JSON-able', { properties: { p: [Infinity, 'Change'] } }, SerializationError],
        ['missing user', { uid: 9999 }, InvalidArgumentError],
        ['unknown key', { who: 'ann' }, InvalidArgumentError],
        ['not an object', 'ann', InvalidArgumentError],
      ];
      for (const [name, args, type] of bad) await expect(db.changes.addChange(args as never), name).rejects.toThrow(type as never);
      await expect(db.changes.getChange(0)).rejects.toThrow(InvalidArgumentError);
      await expect(db.changes.getChange(1, { no_cache: 1 } as never)).rejects.toThrow(InvalidArgumentError);
      await expect(db.changes.getRecentChanges(-1)).rejects.toThrow(InvalidArgumentError);
      expect(await db.changes.getLatestChangeid()).toBeNull();
    });

    it('source stamps refer to existing changes, listed ascending', async () => {
      await setup();
      const [c1, c2] = [await db.changes.addChange({}), await db.changes.addChange({})];
      const sss = await db.sourcestampsets.addSourceStampSet();
      const stamp = { branch: null, revision: null, repository: '', project: '', sourcestampsetid: sss };
      const ssid = await db.sourcestamps.addSourceStamp({ ...stamp, changeids: [c2, c1] });
      expect((await db.sourcestamps.getSourceStamp(ssid))!.changeids).toEqual([c1, c2]);
      await expect(db.sourcestamps.addSourceStamp({ ...stamp, changeids: [c1, 9999] })).rejects.toThrow(InvalidArgumentError);
      expect(await db.sourcestamps.getSourceStamps(sss)).toHaveLength(1);
    });
  });
}
