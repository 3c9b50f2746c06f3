import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/api.ts';
import type { Connector } from '../../src/api.ts';
import { oneMaster } from './harness.ts';
import type { Harness } from './harness.ts';

export default function sourcestamps(h: Harness) {
  describe(`sourcestamps [${h.name}]`, () => {
    let db: Connector;
    const fixture = oneMaster(h);
    const setup = async () => {
      db = await fixture.open();
    };
    const base = (sourcestampsetid: number) => ({ branch: 'main', revision: 'abc', repository: 'repo', project: 'proj', sourcestampsetid });

    it('addSourceStampSet hands out increasing ids', async () => {
      await setup();
      const a = await db.sourcestampsets.addSourceStampSet();
      const b = await db.sourcestampsets.addSourceStampSet();
      expect(b).toBeGreaterThan(a);
    });

    it('a source stamp without a patch has every patch field null and codebase ""', async () => {
      await setup();
      const sss = await db.sourcestampsets.addSourceStampSet();
      const ssid = await db.sourcestamps.addSourceStamp({ ...base(sss), branch: null, revision: null });
      expect(await db.sourcestamps.getSourceStamp(ssid)).toEqual({
        ssid,
        sourcestampsetid: sss,
        branch: null,
        revision: null,
        patch_body: null,
        patch_level: null,
        patch_author: null,
        patch_comment: null,
        patch_subdir: null,
        repository: 'repo',
        project: 'proj',
        codebase: '',
        changeids: [],
      });
    });

    it('a patch gets Buildbot\'s defaults: level 0, author and comment "", subdir null', async () => {
      await setup();
      const sss = await db.sourcestampsets.addSourceStampSet();
      const ssid = await db.sourcestamps.addSourceStamp({ ...base(sss), patch_body: '--- a\n+++ b\n' });
      expect(await db.sourcestamps.getSourceStamp(ssid)).toMatchObject({
        patch_body: '--- a\n+++ b\n',
        patch_level: 0,
        patch_author: '',
        patch_comment: '',
        patch_subdir: null,
      });
      const full = await db.sourcestamps.addSourceStamp({
        ...base(sss),
        codebase: 'lib',
        patch_body: new Uint8Array([1, 2, 255]),
        patch_level: 2,
        patch_author: 'ann',
        patch_comment: 'fix',
        patch_subdir: 'src',
      });
      expect(await db.sourcestamps.getSourceStamp(full)).toMatchObject({
        codebase: 'lib',
        patch_body: new Uint8Array([1, 2, 255]),
        patch_level: 2,
        patch_author: 'ann',
        patch_comment: 'fix',
        patch_subdir: 'src',
      });
    });

    it('getSourceStamps returns every stamp of a set, and [] for a set without stamps or a missing one', async () => {
      await setup();
      const sss = await db.sourcestampsets.addSourceStampSet();
      const empty = await db.sourcestampsets.addSourceStampSet();
      const a = await db.sourcestamps.addSourceStamp(base(sss));
      const b = await db.sourcestamps.addSourceStamp({ ...base(sss), codebase: 'other' });
      expect((await db.sourcestamps.getSourceStamps(sss)).map((s) => s.ssid).sort((x, y) => x - y)).toEqual([a, b]);
      expect(await db.sourcestamps.getSourceStamps(empty)).toEqual([]);
      expect(await db.sourcestamps.getSourceStamps(9999)).toEqual([]);
      expect(await db.sourcestamps.getSourceStamp(9999)).toBeNull();
    });

    it('addSourceStamp hands out increasing ssids and stores the required fields as given', async () => {
      await setup();
      const sss = await db.sourcestampsets.addSourceStampSet();
      const a = await db.sourcestamps.addSourceStamp(base(sss));
      const b = await db.sourcestamps.addSourceStamp({ ...base(sss), branch: 'feature/ü', revision: 'f00', repository: 'git://r', project: '' });
      expect(b).toBeGreaterThan(a);
      expect(await db.sourcestamps.getSourceStamp(b)).toMatchObject({
        ssid: b,
        sourcestampsetid: sss,
        branch: 'feature/ü',
        revision: 'f00',
        repository: 'git://r',
        project: '',
        codebase: '',
      });
    });

    it('changeids come back in ascending order, each once', async () => {
      await setup();
      const c1 = await db.changes.addChange({ comments: 'one' });
      const c2 = await db.changes.addChange({ comments: 'two' });
      const c3 = await db.changes.addChange({ comments: 'three' });
      const sss = await db.sourcestampsets.addSourceStampSet();
      const ssid = await db.sourcestamps.addSourceStamp({ ...base(sss), changeids: [c3, c1, c2, c1] });
      expect((await db.sourcestamps.getSourceStamp(ssid))!.changeids).toEqual([c1, c2, c3]);
      expect((await db.sourcestamps.getSourceStamps(sss))[0]!.changeids).toEqual([c1, c2, c3]);
    });

    it('an empty patch body is still a patch, with the defaults', async () => {
      await setup();
      const sss = await db.sourcestampsets.addSourceStampSet();
      const ssid = await db.sourcestamps.addSourceStamp({ ...base(sss), patch_body: '' });
      expect(await db.sourcestamps.getSourceStamp(ssid)).toMatchObject({
        patch_body: '',
        patch_level: 0,
        patch_author: '',
        patch_comment: '',
        patch_subdir: null,
      });
    });

    it('patch_body null is the same as no patch', async () => {
      await setup();
      const sss = await db.sourcestampsets.addSourceStampSet();
      const ssid = await db.sourcestamps.addSourceStamp({ ...base(sss), patch_body: null });
      expect(await db.sourcestamps.getSourceStamp(ssid)).toMatchObject({
        patch_body: null,
        patch_level: null,
        patch_author: null,
        patch_comment: null,
        patch_subdir: null,
      });
    });

    it("getSourceStamps gives each stamp exactly as getSourceStamp does, and only the set's own", async () => {
      await setup();
      const sss = await db.sourcestampsets.addSourceStampSet();
      const other = await db.sourcestampsets.addSourceStampSet();
      const a = await db.sourcestamps.addSourceStamp({ ...base(sss), codebase: 'app', patch_body: 'diff', patch_level: 1 });
      const b = await db.sourcestamps.addSourceStamp({ ...base(sss), codebase: 'lib' });
      await db.sourcestamps.addSourceStamp(base(other)); // bystander
      const listed = (await db.sourcestamps.getSourceStamps(sss)).sort((x, y) => x.ssid - y.ssid);
      expect(listed).toEqual([await db.sourcestamps.getSourceStamp(a), await db.sourcestamps.getSourceStamp(b)]);
    });

    it('a returned ssdict is a copy: changing it changes nothing stored', async () => {
      await setup();
      const c1 = await db.changes.addChange({});
      const sss = await db.sourcestampsets.addSourceStampSet();
      const ssid = await db.sourcestamps.addSourceStamp({ ...base(sss), changeids: [c1], patch_body: new Uint8Array([7]) });
      const first = (await db.sourcestamps.getSourceStamp(ssid))!;
      first.changeids.push(99);
      (first.patch_body as Uint8Array)[0] = 0;
      expect(await db.sourcestamps.getSourceStamp(ssid)).toMatchObject({ changeids: [c1], patch_body: new Uint8Array([7]) });
    });

    it('bad arguments are InvalidArgumentError and add nothing', async () => {
      await setup();
      const sss = await db.sourcestampsets.addSourceStampSet();
      const bad: [string, unknown][] = [
        ['missing set', base(9999)],
        ['null repository', { ...base(sss), repository: null }],
        ['null project', { ...base(sss), project: null }],
        ['missing branch key', { revision: 'r', repository: 'r', project: 'p', sourcestampsetid: sss }],
        ['numeric branch', { ...base(sss), branch: 3 }],
        ['unknown key', { ...base(sss), patch: 'x' }],
        ['fractional patch_level', { ...base(sss), patch_body: 'p', patch_level: 0.5 }],
        ['changeids not ids', { ...base(sss), changeids: ['1'] }],
        ['changeids not an array', { ...base(sss), changeids: 1 }],
        ['a missing change', { ...base(sss), changeids: [9999] }],
        ['not an object', 'main'],
        ['missing revision key', { branch: 'b', repository: 'r', project: 'p', sourcestampsetid: sss }],
        ['missing repository', { branch: 'b', revision: 'r', project: 'p', sourcestampsetid: sss }],
        ['missing project', { branch: 'b', revision: 'r', repository: 'r', sourcestampsetid: sss }],
        ['missing sourcestampsetid', { branch: 'b', revision: 'r', repository: 'r', project: 'p' }],
        ['string sourcestampsetid', base(String(sss) as never)],
        ['numeric revision', { ...base(sss), revision: 1234 }],
        ['codebase null', { ...base(sss), codebase: null }],
        ['codebase not a string', { ...base(sss), codebase: 1 }],
        ['patch_body a number', { ...base(sss), patch_body: 5 }],
        ['patch_level a string', { ...base(sss), patch_body: 'p', patch_level: '1' }],
        ['patch_author a number', { ...base(sss), patch_body: 'p', patch_author: 1 }],
        ['patch_subdir a number', { ...base(sss), patch_body: 'p', patch_subdir: 1 }],
        ['patch_level ill-typed, without a body', { ...base(sss), patch_level: 'x' }],
        ['patch_comment ill-typed, without a body', { ...base(sss), patch_comment: 7 }],
      ];
      for (const [name, args] of bad) {
        await expect(db.sourcestamps.addSourceStamp(args as never), name).rejects.toThrow(InvalidArgumentError);
      }
      await expect(db.sourcestamps.getSourceStamp(-1)).rejects.toThrow(InvalidArgumentError);
      await expect(db.sourcestamps.getSourceStamps('1' as never)).rejects.toThrow(InvalidArgumentError);
      expect(await db.sourcestamps.getSourceStamps(sss)).toEqual([]);
    });
  });
}
