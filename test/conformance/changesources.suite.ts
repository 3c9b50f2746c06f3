import { describe, expect, it } from 'vitest';
import { ChangeSourceAlreadyClaimedError, InvalidArgumentError } from '../../src/api.ts';
import type { Connector } from '../../src/api.ts';
import { severalMasters } from './harness.ts';
import type { Harness } from './harness.ts';

export default function changesources(h: Harness) {
  // With a shared store's harness, m1 and m2 are on coordinators of their own.
  describe(`changesources [${h.name}]`, () => {
    const masters = severalMasters(h);

    async function setup() {
      const [m1, m2] = (await masters.open(['m1', 'm2'])) as [Connector, Connector];
      const cs = await m1.changesources.findChangeSourceId('git-poller');
      return { m1, m2, cs };
    }

    it('findChangeSourceId gives the same id for the same name, a new one otherwise', async () => {
      const { m1, cs } = await setup();
      expect(await m1.changesources.findChangeSourceId('git-poller')).toBe(cs);
      expect(await m1.changesources.findChangeSourceId('svn-poller')).toBeGreaterThan(cs);
      expect(await m1.changesources.getChangeSource(cs)).toEqual({ id: cs, name: 'git-poller', masterid: null });
    });

    it('getChangeSource of a missing id is null', async () => {
      const { m1 } = await setup();
      expect(await m1.changesources.getChangeSource(999)).toBeNull();
    });

    it('setChangeSourceMaster links an unlinked change source', async () => {
      const { m1, cs } = await setup();
      await m1.changesources.setChangeSourceMaster(cs, m1.masterid);
      expect(await m1.changesources.getChangeSource(cs)).toEqual({ id: cs, name: 'git-poller', masterid: m1.masterid });
    });

    it('while its master is active it is refused for another master, the same one, and null', async () => {
      const { m1, m2, cs } = await setup();
      await m1.changesources.setChangeSourceMaster(cs, m1.masterid);
      for (const masterid of [m2.masterid, m1.masterid, null]) {
        await expect(m2.changesources.setChangeSourceMaster(cs, masterid)).rejects.toThrow(ChangeSourceAlreadyClaimedError);
      }
      expect((await m1.changesources.getChangeSource(cs))!.masterid).toBe(m1.masterid);
    });

    it('marking its master inactive unlinks it; then another master takes it over', async () => {
      const { m1, m2, cs } = await setup();
      await m1.changesources.setChangeSourceMaster(cs, m1.masterid);
      await m2.masters.setMasterState(m1.masterid, false);
      expect((await m2.changesources.getChangeSource(cs))!.masterid).toBeNull();
      await m2.changesources.setChangeSourceMaster(cs, m2.masterid);
      expect((await m2.changesources.getChangeSource(cs))!.masterid).toBe(m2.masterid);
    });

    it('a change source linked to an inactive master can be taken over or unlinked', async () => {
      const { m1, m2, cs } = await setup();
      const idle = await m1.masters.findMasterId('idle'); // never activated
      await m1.changesources.setChangeSourceMaster(cs, idle);
      await m2.changesources.setChangeSourceMaster(cs, null);
      expect((await m2.changesources.getChangeSource(cs))!.masterid).toBeNull();
      await m2.changesources.setChangeSourceMaster(cs, idle);
      await m2.changesources.setChangeSourceMaster(cs, m2.masterid);
      expect((await m2.changesources.getChangeSource(cs))!.masterid).toBe(m2.masterid);
    });

    it('unlinking an unlinked change source is a no-op', async () => {
      const { m1, cs } = await setup();
      await m1.changesources.setChangeSourceMaster(cs, null);
      expect((await m1.changesources.getChangeSource(cs))!.masterid).toBeNull();
    });

    it('a missing change source or master is InvalidArgumentError', async () => {
      const { m1, cs } = await setup();
      await expect(m1.changesources.setChangeSourceMaster(999, m1.masterid)).rejects.toThrow(InvalidArgumentError);
      await expect(m1.changesources.setChangeSourceMaster(cs, 999)).rejects.toThrow(InvalidArgumentError);
      expect((await m1.changesources.getChangeSource(cs))!.masterid).toBeNull();
    });

    it('getChangeSources filters by active (linked) and by master', async () => {
      const { m1, m2, cs } = await setup();
      const other = await m1.changesources.findChangeSourceId('other');
      const third = await m1.changesources.findChangeSourceId('third');
      await m1.changesources.setChangeSourceMaster(cs, m1.masterid);
      await m2.changesources.setChangeSourceMaster(third, m2.masterid);
      const ids = async (options?: Parameters<typeof m1.changesources.getChangeSources>[0]) =>
        (await m1.changesources.getChangeSources(options)).map((c) => c.id).sort((a, b) => a - b);
      expect(await ids()).toEqual([cs, other, third]);
      expect(await ids({ active: true })).toEqual([cs, third]);
      expect(await ids({ active: false })).toEqual([other]);
      expect(await ids({ masterid: m1.masterid })).toEqual([cs]);
      expect(await ids({ masterid: m2.masterid, active: true })).toEqual([third]);
      expect(await ids({ masterid: m2.masterid, active: false })).toEqual([]);
      expect(await m1.changesources.getChangeSources({ masterid: m2.masterid })).toEqual([{ id: third, name: 'third', masterid: m2.masterid }]);
    });

    it('names that share a prefix, or hold odd characters, are different change sources', async () => {
      const { m1, cs } = await setup();
      const names = ['git', 'git-poller-2', 'git-poller\u0000', ''];
      const found = await Promise.all(names.map((name) => m1.changesources.findChangeSourceId(name)));
      expect(new Set([cs, ...found]).size).toBe(names.length + 1);
      for (const [i, name] of names.entries()) {
        expect(await m1.changesources.findChangeSourceId(name)).toBe(found[i]);
        expect(await m1.changesources.getChangeSource(found[i]!)).toEqual({ id: found[i], name, masterid: null });
      }
    });

    it('concurrent findChangeSourceId calls for one new name agree on one id', async () => {
      const { m1, m2 } = await setup();
      const [a, b, c] = await Promise.all([m1.changesources.findChangeSourceId('svn'), m2.changesources.findChangeSourceId('svn'), m1.changesources.findChangeSourceId('svn')]);
      expect(b).toBe(a);
      expect(c).toBe(a);
      expect((await m1.changesources.getChangeSources()).filter((x) => x.name === 'svn')).toHaveLength(1);
    });

    it("while its master is active it is refused even for that master's own connector, unlinking included", async () => {
      const { m1, cs } = await setup();
      await m1.changesources.setChangeSourceMaster(cs, m1.masterid);
      const error = await m1.changesources.setChangeSourceMaster(cs, null).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ChangeSourceAlreadyClaimedError);
      await expect(m1.changesources.setChangeSourceMaster(cs, m1.masterid)).rejects.toThrow(ChangeSourceAlreadyClaimedError);
      expect(await m1.changesources.getChangeSource(cs)).toEqual({ id: cs, name: 'git-poller', masterid: m1.masterid });
    });

    it('a refusal for one change source leaves the others alone', async () => {
      const { m1, m2, cs } = await setup();
      const other = await m1.changesources.findChangeSourceId('other');
      await m1.changesources.setChangeSourceMaster(cs, m1.masterid);
      await expect(m2.changesources.setChangeSourceMaster(cs, m2.masterid)).rejects.toThrow(ChangeSourceAlreadyClaimedError);
      await m2.changesources.setChangeSourceMaster(other, m2.masterid);
      expect((await m1.changesources.getChangeSources()).sort((a, b) => a.id - b.id)).toEqual([
        { id: cs, name: 'git-poller', masterid: m1.masterid },
        { id: other, name: 'other', masterid: m2.masterid },
      ]);
    });

    it('a master going inactive unlinks only its own change sources', async () => {
      const { m1, m2, cs } = await setup();
      const other = await m1.changesources.findChangeSourceId('other');
      await m1.changesources.setChangeSourceMaster(cs, m1.masterid);
      await m2.changesources.setChangeSourceMaster(other, m2.masterid);
      await m1.masters.setMasterState(m1.masterid, false);
      expect(await m2.changesources.getChangeSource(cs)).toEqual({ id: cs, name: 'git-poller', masterid: null });
      expect(await m2.changesources.getChangeSource(other)).toEqual({ id: other, name: 'other', masterid: m2.masterid });
      expect(await m2.changesources.getChangeSources({ masterid: m1.masterid })).toEqual([]);
      expect((await m2.changesources.getChangeSources({ active: true })).map((c) => c.id)).toEqual([other]);
    });

    it('after a takeover the old master is refused while the new one is active', async () => {
      const { m1, m2, cs } = await setup();
      await m1.changesources.setChangeSourceMaster(cs, m1.masterid);
      await m1.masters.setMasterState(m1.masterid, false);
      await m2.changesources.setChangeSourceMaster(cs, m2.masterid);
      await m1.masters.setMasterState(m1.masterid, true);
      await expect(m1.changesources.setChangeSourceMaster(cs, m1.masterid)).rejects.toThrow(ChangeSourceAlreadyClaimedError);
      expect((await m1.changesources.getChangeSource(cs))!.masterid).toBe(m2.masterid);
    });

    it('getChangeSources with null options is unfiltered', async () => {
      const { m1, cs } = await setup();
      const other = await m1.changesources.findChangeSourceId('other');
      await m1.changesources.setChangeSourceMaster(cs, m1.masterid);
      const ids = async (options?: Parameters<typeof m1.changesources.getChangeSources>[0]) =>
        (await m1.changesources.getChangeSources(options)).map((c) => c.id).sort((a, b) => a - b);
      expect(await ids({ active: null, masterid: null })).toEqual([cs, other]);
      expect(await ids({})).toEqual([cs, other]);
      expect(await ids({ masterid: 999 })).toEqual([]);
    });

    it('bad arguments are InvalidArgumentError and change nothing', async () => {
      const { m1, cs } = await setup();
      await expect(m1.changesources.findChangeSourceId(5 as never)).rejects.toThrow(InvalidArgumentError);
      await expect(m1.changesources.setChangeSourceMaster('1' as never, m1.masterid)).rejects.toThrow(InvalidArgumentError);
      await expect(m1.changesources.setChangeSourceMaster(cs, -2)).rejects.toThrow(InvalidArgumentError);
      await expect(m1.changesources.getChangeSource(0)).rejects.toThrow(InvalidArgumentError);
      await expect(m1.changesources.getChangeSources({ active: 1 as never })).rejects.toThrow(InvalidArgumentError);
      await expect(m1.changesources.getChangeSources({ master: 1 } as never)).rejects.toThrow(InvalidArgumentError);
      await expect(m1.changesources.getChangeSources({ masterid: '1' } as never)).rejects.toThrow(InvalidArgumentError);
      await expect(m1.changesources.getChangeSources('active' as never)).rejects.toThrow(InvalidArgumentError);
      await expect(m1.changesources.setChangeSourceMaster(cs, 1.5)).rejects.toThrow(InvalidArgumentError);
      await expect(m1.changesources.setChangeSourceMaster(cs, undefined as never)).rejects.toThrow(InvalidArgumentError);
      await expect(m1.changesources.setChangeSourceMaster(cs, String(m1.masterid) as never)).rejects.toThrow(InvalidArgumentError);
      await expect(m1.changesources.getChangeSource('1' as never)).rejects.toThrow(InvalidArgumentError);
      await expect(m1.changesources.findChangeSourceId(null as never)).rejects.toThrow(InvalidArgumentError);
      expect(await m1.changesources.getChangeSources()).toEqual([{ id: cs, name: 'git-poller', masterid: null }]);
    });
  });
}
