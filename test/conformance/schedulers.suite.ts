import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/api.ts';
import type { Connector } from '../../src/api.ts';
import { oneMaster } from './harness.ts';
import type { Harness } from './harness.ts';

export default function schedulers(h: Harness) {
  describe(`schedulers [${h.name}]`, () => {
    let db: Connector;
    const fixture = oneMaster(h);

    /** A scheduler and changes c0..c4: c0, c1 on main, c2 on the default branch, c3 on dev, c4 on the empty-named branch. */
    async function setup() {
      db = await fixture.open();
      const objectid = await db.state.getObjectId('nightly', 'Nightly');
      const c = [];
      for (const branch of ['main', 'main', null, 'dev', '']) c.push(await db.changes.addChange({ branch }));
      return { objectid, c: c as [number, number, number, number, number] };
    }

    it('classifyChanges records and getChangeClassifications returns them; later calls add and overwrite', async () => {
      const { objectid, c } = await setup();
      expect(await db.schedulers.getChangeClassifications(objectid)).toEqual({});
      await db.schedulers.classifyChanges(objectid, { [c[0]]: true, [c[1]]: false });
      expect(await db.schedulers.getChangeClassifications(objectid)).toEqual({ [c[0]]: true, [c[1]]: false });
      await db.schedulers.classifyChanges(objectid, { [c[1]]: true, [c[2]]: false });
      await db.schedulers.classifyChanges(objectid, {});
      expect(await db.schedulers.getChangeClassifications(objectid)).toEqual({ [c[0]]: true, [c[1]]: true, [c[2]]: false });
    });

    it('classifications are per scheduler', async () => {
      const { objectid, c } = await setup();
      const other = await db.state.getObjectId('other', 'Nightly');
      await db.schedulers.classifyChanges(objectid, { [c[0]]: true });
      await db.schedulers.classifyChanges(other, { [c[0]]: false, [c[1]]: true });
      expect(await db.schedulers.getChangeClassifications(objectid)).toEqual({ [c[0]]: true });
      expect(await db.schedulers.getChangeClassifications(other)).toEqual({ [c[0]]: false, [c[1]]: true });
      expect(await db.schedulers.getChangeClassifications(other + 1000)).toEqual({});
    });

    it("{ branch: 'main' } limits to that branch; { branch: null } is the default branch, not the same as no branch", async () => {
      const { objectid, c } = await setup();
      const all = { [c[0]]: true, [c[1]]: false, [c[2]]: true, [c[3]]: false, [c[4]]: true };
      await db.schedulers.classifyChanges(objectid, all);
      expect(await db.schedulers.getChangeClassifications(objectid, { branch: 'main' })).toEqual({ [c[0]]: true, [c[1]]: false });
      expect(await db.schedulers.getChangeClassifications(objectid, { branch: null })).toEqual({ [c[2]]: true });
      expect(await db.schedulers.getChangeClassifications(objectid, { branch: '' })).toEqual({ [c[4]]: true });
      expect(await db.schedulers.getChangeClassifications(objectid, { branch: 'nowhere' })).toEqual({});
      // No branch key (or an absent one) is no filter at all.
      expect(await db.schedulers.getChangeClassifications(objectid, {})).toEqual(all);
      expect(await db.schedulers.getChangeClassifications(objectid, { branch: undefined })).toEqual(all);
      expect(await db.schedulers.getChangeClassifications(objectid)).toEqual(all);
    });

    it('flushChangeClassifications removes those below less_than, or all without it, for that scheduler only', async () => {
      const { objectid, c } = await setup();
      const other = await db.state.getObjectId('other', 'Nightly');
      await db.schedulers.classifyChanges(objectid, { [c[0]]: true, [c[1]]: false, [c[2]]: true });
      await db.schedulers.classifyChanges(other, { [c[0]]: true }); // bystander
      await db.schedulers.flushChangeClassifications(objectid, { less_than: c[1] });
      expect(await db.schedulers.getChangeClassifications(objectid)).toEqual({ [c[1]]: false, [c[2]]: true });
      await db.schedulers.flushChangeClassifications(objectid, { less_than: c[0] });
      expect(await db.schedulers.getChangeClassifications(objectid)).toEqual({ [c[1]]: false, [c[2]]: true });
      await db.schedulers.flushChangeClassifications(objectid);
      expect(await db.schedulers.getChangeClassifications(objectid)).toEqual({});
      expect(await db.schedulers.getChangeClassifications(other)).toEqual({ [c[0]]: true });
      // less_than: null is "not given", as Python's None: all go.
      await db.schedulers.flushChangeClassifications(other, { less_than: null });
      expect(await db.schedulers.getChangeClassifications(other)).toEqual({});
      // Flushing what has none, or a scheduler that does not exist, does nothing.
      await db.schedulers.flushChangeClassifications(objectid, {});
      await db.schedulers.flushChangeClassifications(other + 1000);
      await db.schedulers.classifyChanges(objectid, { [c[3]]: false });
      expect(await db.schedulers.getChangeClassifications(objectid)).toEqual({ [c[3]]: false });
    });

    it('a classification naming a missing change or scheduler is InvalidArgumentError and records none of the batch', async () => {
      const { objectid, c } = await setup();
      await expect(db.schedulers.classifyChanges(objectid, { [c[0]]: true, [c[4] + 1000]: true })).rejects.toThrow(InvalidArgumentError);
      await expect(db.schedulers.classifyChanges(objectid + 1000, { [c[0]]: true })).rejects.toThrow(InvalidArgumentError);
      expect(await db.schedulers.getChangeClassifications(objectid)).toEqual({});
      expect(await db.schedulers.getChangeClassifications(objectid + 1000)).toEqual({});
    });

    it('bad arguments are InvalidArgumentError and change nothing', async () => {
      const { objectid, c } = await setup();
      await db.schedulers.classifyChanges(objectid, { [c[0]]: true });
      const bad: [string, () => Promise<unknown>][] = [
        ['important 1', () => db.schedulers.classifyChanges(objectid, { [c[1]]: 1 } as never)],
        ['important string', () => db.schedulers.classifyChanges(objectid, { [c[1]]: 'true' } as never)],
        ['important null', () => db.schedulers.classifyChanges(objectid, { [c[1]]: null } as never)],
        ['one bad among good', () => db.schedulers.classifyChanges(objectid, { [c[1]]: true, [c[2]]: 0 } as never)],
        ['key not a number', () => db.schedulers.classifyChanges(objectid, { x: true } as never)],
        ['key 0', () => db.schedulers.classifyChanges(objectid, { 0: true })],
        ['key negative', () => db.schedulers.classifyChanges(objectid, { [-c[1]]: true })],
        ['key with a leading zero', () => db.schedulers.classifyChanges(objectid, { [`0${c[1]}`]: true } as never)],
        ['key with a decimal point', () => db.schedulers.classifyChanges(objectid, { [`${c[1]}.0`]: true } as never)],
        ['key with a space', () => db.schedulers.classifyChanges(objectid, { [` ${c[1]}`]: true } as never)],
        ['classifications an array', () => db.schedulers.classifyChanges(objectid, [true] as never)],
        ['classifications a Map', () => db.schedulers.classifyChanges(objectid, new Map([[c[1], true]]) as never)],
        ['classifications null', () => db.schedulers.classifyChanges(objectid, null as never)],
        ['classify objectid string', () => db.schedulers.classifyChanges(String(objectid) as never, { [c[1]]: true })],
        ['classify objectid 0', () => db.schedulers.classifyChanges(0, { [c[1]]: true })],
        ['get objectid string', () => db.schedulers.getChangeClassifications(String(objectid) as never)],
        ['get objectid negative', () => db.schedulers.getChangeClassifications(-1)],
        ['get branch number', () => db.schedulers.getChangeClassifications(objectid, { branch: 1 } as never)],
        ['get unknown option', () => db.schedulers.getChangeClassifications(objectid, { branches: ['main'] } as never)],
        ['get options not an object', () => db.schedulers.getChangeClassifications(objectid, 'main' as never)],
        ['flush objectid string', () => db.schedulers.flushChangeClassifications(String(objectid) as never)],
        ['flush less_than string', () => db.schedulers.flushChangeClassifications(objectid, { less_than: String(c[4]) } as never)],
        ['flush less_than fraction', () => db.schedulers.flushChangeClassifications(objectid, { less_than: 1.5 })],
        ['flush unknown option', () => db.schedulers.flushChangeClassifications(objectid, { lessThan: c[4] } as never)],
        ['flush options a number', () => db.schedulers.flushChangeClassifications(objectid, c[4] as never)],
      ];
      for (const [name, call] of bad) await expect(call(), name).rejects.toThrow(InvalidArgumentError);
      expect(await db.schedulers.getChangeClassifications(objectid)).toEqual({ [c[0]]: true });
    });

    it.runIf(h.capabilities.permanence)('classifications are back after reopen, branch filter included', async () => {
      const { objectid, c } = await setup();
      const other = await db.state.getObjectId('other', 'Nightly');
      await db.schedulers.classifyChanges(objectid, { [c[0]]: true, [c[2]]: false, [c[3]]: true });
      await db.schedulers.classifyChanges(other, { [c[1]]: false });
      await db.schedulers.flushChangeClassifications(objectid, { less_than: c[1] });

      db = await fixture.reopen();
      expect(await db.schedulers.getChangeClassifications(objectid)).toEqual({ [c[2]]: false, [c[3]]: true });
      expect(await db.schedulers.getChangeClassifications(objectid, { branch: null })).toEqual({ [c[2]]: false });
      expect(await db.schedulers.getChangeClassifications(other)).toEqual({ [c[1]]: false });
      await db.schedulers.classifyChanges(objectid, { [c[0]]: false });
      expect(await db.schedulers.getChangeClassifications(objectid, { branch: 'main' })).toEqual({ [c[0]]: false });
    });
  });
}
