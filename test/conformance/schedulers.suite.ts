import { afterEach, describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/api.ts';
import type { Connector, Coordinator } from '../../src/api.ts';
import type { Harness } from './harness.ts';

export default function schedulers(h: Harness) {
  describe(`schedulers [${h.name}]`, () => {
    let coordinator: Coordinator;
    let db: Connector;
    afterEach(() => coordinator?.close());

    /** A scheduler and changes 1..4: 1 and 2 on main, 3 on the default branch, 4 on dev. */
    async function setup() {
      coordinator = await h.open();
      db = await coordinator.connect('m1');
      const objectid = await db.state.getObjectId('nightly', 'Nightly');
      const c = [];
      for (const branch of ['main', 'main', null, 'dev']) c.push(await db.changes.addChange({ branch }));
      return { objectid, c: c as [number, number, number, number] };
    }

    it('classifyChanges records and getChangeClassifications returns them; later calls add and overwrite', async () => {
      const { objectid, c } = await setup();
      await db.schedulers.classifyChanges(objectid, { [c[0]]: true, [c[1]]: false });
      await db.schedulers.classifyChanges(objectid, { [c[1]]: true, [c[2]]: false });
      expect(await db.schedulers.getChangeClassifications(objectid)).toEqual({ [c[0]]: true, [c[1]]: true, [c[2]]: false });
    });

    it('classifications are per scheduler', async () => {
      const { objectid, c } = await setup();
      const other = await db.state.getObjectId('other', 'Nightly');
      await db.schedulers.classifyChanges(objectid, { [c[0]]: true });
      expect(await db.schedulers.getChangeClassifications(other)).toEqual({});
    });

    it("{ branch: 'main' } limits to that branch; { branch: null } is the default branch, not no filter", async () => {
      const { objectid, c } = await setup();
      await db.schedulers.classifyChanges(objectid, { [c[0]]: true, [c[1]]: false, [c[2]]: true, [c[3]]: false });
      expect(await db.schedulers.getChangeClassifications(objectid, { branch: 'main' })).toEqual({ [c[0]]: true, [c[1]]: false });
      expect(await db.schedulers.getChangeClassifications(objectid, { branch: null })).toEqual({ [c[2]]: true });
      expect(Object.keys(await db.schedulers.getChangeClassifications(objectid, {}))).toHaveLength(4);
    });

    it('flushChangeClassifications removes all, or those below less_than', async () => {
      const { objectid, c } = await setup();
      await db.schedulers.classifyChanges(objectid, { [c[0]]: true, [c[1]]: false, [c[2]]: true });
      await db.schedulers.flushChangeClassifications(objectid, { less_than: c[1] });
      expect(await db.schedulers.getChangeClassifications(objectid)).toEqual({ [c[1]]: false, [c[2]]: true });
      await db.schedulers.flushChangeClassifications(objectid);
      expect(await db.schedulers.getChangeClassifications(objectid)).toEqual({});
    });

    it('bad arguments are InvalidArgumentError and change nothing', async () => {
      const { objectid, c } = await setup();
      await expect(db.schedulers.classifyChanges(objectid, { [c[0]]: 1 } as never)).rejects.toThrow(InvalidArgumentError);
      await expect(db.schedulers.classifyChanges(objectid, { x: true } as never)).rejects.toThrow(InvalidArgumentError);
      await expect(db.schedulers.classifyChanges(objectid, { 9999: true })).rejects.toThrow(InvalidArgumentError);
      await expect(db.schedulers.classifyChanges(9999, { [c[0]]: true })).rejects.toThrow(InvalidArgumentError);
      await expect(db.schedulers.getChangeClassifications(objectid, { branch: 1 } as never)).rejects.toThrow(InvalidArgumentError);
      await expect(db.schedulers.flushChangeClassifications(objectid, { less_than: 'x' } as never)).rejects.toThrow(InvalidArgumentError);
      await expect(db.schedulers.flushChangeClassifications(objectid, { lessThan: 1 } as never)).rejects.toThrow(InvalidArgumentError);
      expect(await db.schedulers.getChangeClassifications(objectid)).toEqual({});
    });
  });
}
