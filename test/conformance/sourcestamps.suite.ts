import { afterEach, describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/api.ts';
import type { Connector, Coordinator } from '../../src/api.ts';
import type { Harness } from './harness.ts';

export default function sourcestamps(h: Harness) {
  describe(`sourcestamps [${h.name}]`, () => {
    let coordinator: Coordinator;
    let db: Connector;
    afterEach(() => coordinator?.close());
    const setup = async () => {
      coordinator = await h.open();
      db = await coordinator.connect('m1');
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
        ssid, sourcestampsetid: sss, branch: null, revision: null,
        patch_body: null, patch_level: null, patch_author: null, patch_comment: null, patch_subdir: null,
        repository: 'repo', project: 'proj', codebase: '', changeids: [],
      });
    });

    it('a patch gets Buildbot\'s defaults: level 0, author and comment "", subdir null', async () => {
      await setup();
      const sss = await db.sourcestampsets.addSourceStampSet();
      const ssid = await db.sourcestamps.addSourceStamp({ ...base(sss), patch_body: '--- a\n+++ b\n' });
      expect(await db.sourcestamps.getSourceStamp(ssid)).toMatchObject({
        patch_body: '--- a\n+++ b\n', patch_level: 0, patch_author: '', patch_comment: '', patch_subdir: null,
      });
      const full = await db.sourcestamps.addSourceStamp({
        ...base(sss), codebase: 'lib', patch_body: new Uint8Array([1, 2, 255]), patch_level: 2, patch_author: 'ann', patch_comment: 'fix', patch_subdir: 'src',
      });
      expect(await db.sourcestamps.getSourceStamp(full)).toMatchObject({
        codebase: 'lib', patch_body: new Uint8Array([1, 2, 255]), patch_level: 2, patch_author: 'ann', patch_comment: 'fix', patch_subdir: 'src',
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
        ['not an object', 'main'],
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
