import { afterEach, describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/api.ts';
import type { Connector, Coordinator } from '../../src/api.ts';
import { SUBMITTED_AT, TestClock, severalMasters } from './harness.ts';
import type { Harness } from './harness.ts';

export default function masters(h: Harness) {
  describe(`masters [${h.name}]`, () => {
    let coordinator: Coordinator;
    afterEach(() => coordinator?.close());
    const several = severalMasters(h); // for tests of two masters: on two coordinators where the harness has peers

    it('connect(name) adds an active master and binds the connector to it', async () => {
      const clock = new TestClock(SUBMITTED_AT);
      coordinator = await h.open({ now: clock.now });
      const db = await coordinator.connect('master-1');
      expect(await db.masters.getMaster(db.masterid)).toEqual({ id: db.masterid, name: 'master-1', active: true, last_active: SUBMITTED_AT });
    });

    it('findMasterId returns the same id for the same name and a new, larger one for a new name', async () => {
      coordinator = await h.open();
      const db = await coordinator.connect('a');
      const b = await db.masters.findMasterId('b');
      expect(await db.masters.findMasterId('a')).toBe(db.masterid);
      expect(await db.masters.findMasterId('b')).toBe(b);
      expect(b).toBeGreaterThan(db.masterid);
      expect((await db.masters.getMaster(b))!.active).toBe(false);
    });

    it('setMasterState reports whether the state changed and refreshes last_active on activation', async () => {
      const clock = new TestClock(SUBMITTED_AT);
      coordinator = await h.open({ now: clock.now });
      const db = await coordinator.connect('a');
      clock.advance(60);
      expect(await db.masters.setMasterState(db.masterid, true)).toBe(false);
      expect((await db.masters.getMaster(db.masterid))!.last_active).toEqual(clock.now());
      expect(await db.masters.setMasterState(db.masterid, false)).toBe(true);
      clock.advance(60);
      expect(await db.masters.setMasterState(db.masterid, false)).toBe(false);
      expect(await db.masters.getMaster(db.masterid)).toMatchObject({ active: false, last_active: new Date(clock.now().getTime() - 60_000) });
    });

    it('setMasterState of a missing master resolves false and adds nothing', async () => {
      coordinator = await h.open();
      const db = await coordinator.connect('a');
      expect(await db.masters.setMasterState(99, true)).toBe(false);
      expect(await db.masters.getMaster(99)).toBeNull();
      expect(await db.masters.getMasters()).toHaveLength(1);
    });

    it('getMasters lists every master', async () => {
      const [db, b] = (await several.open(['a', 'b'])) as [Connector, Connector];
      const list = await db.masters.getMasters();
      expect(list.map((m) => m.name).sort()).toEqual(['a', 'b']);
      expect(list.every((m) => m.active && m.last_active instanceof Date)).toBe(true);
      expect(await b.masters.getMasters()).toEqual(list);
    });

    it("one master's state, as another master sets it, is what both read", async () => {
      const clock = new TestClock(SUBMITTED_AT);
      const [a, b] = (await several.open(['a', 'b'], { now: clock.now })) as [Connector, Connector];
      expect(await b.masters.findMasterId('a')).toBe(a.masterid);
      clock.advance(60);
      expect(await b.masters.setMasterState(a.masterid, false)).toBe(true);
      expect(await a.masters.getMaster(a.masterid)).toMatchObject({ id: a.masterid, name: 'a', active: false });
      expect(await a.masters.setMasterState(a.masterid, false)).toBe(false);
      clock.advance(60);
      expect(await a.masters.setMasterState(a.masterid, true)).toBe(true);
      expect(await b.masters.getMaster(a.masterid)).toEqual({ id: a.masterid, name: 'a', active: true, last_active: clock.now() });
      expect(await b.masters.setMasterState(a.masterid, true)).toBe(false);
    });

    it('bad arguments are InvalidArgumentError and change nothing', async () => {
      coordinator = await h.open();
      const db = await coordinator.connect('a');
      await expect(db.masters.findMasterId(7 as never)).rejects.toThrow(InvalidArgumentError);
      await expect(db.masters.setMasterState('1' as never, true)).rejects.toThrow(InvalidArgumentError);
      await expect(db.masters.setMasterState(db.masterid, 1 as never)).rejects.toThrow(InvalidArgumentError);
      await expect(db.masters.getMaster(-1)).rejects.toThrow(InvalidArgumentError);
      await expect(coordinator.connect(null as never)).rejects.toThrow(InvalidArgumentError);
      expect(await db.masters.getMasters()).toEqual([expect.objectContaining({ name: 'a', active: true })]);
    });
  });
}
