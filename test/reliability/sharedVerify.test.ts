import { describe, expect, it } from 'vitest';
import { openCoordinator } from '../../src/api.ts';
import { encode } from '../../src/persistence/codec.ts';
import { SharedMemoryStore } from '../../src/persistence/shared/memory.ts';
import { verifyBackend } from '../../src/verify.ts';

describe('verify on a shared store [stand-in]', () => {
  it('is sound after two coordinators wrote, and reads one snapshot while a third writes on', async () => {
    const store = new SharedMemoryStore();
    const [a, b] = [await openCoordinator({ backend: store.connect() }), await openCoordinator({ backend: store.connect() })];
    const [m1, m2] = [await a.connect('m1'), await b.connect('m2')];
    const sss = await m1.sourcestampsets.addSourceStampSet();
    const [, brids] = await m1.buildsets.addBuildset({ sourcestampsetid: sss, reason: 'r', properties: {}, builderNames: ['x', 'y', 'z'] });
    await m2.buildrequests.claimBuildRequests([brids.x!, brids.y!]);
    await m1.buildrequests.completeBuildRequests([brids.x!], 0);
    // Claims move index entries: a check that read record and entries at two instants would see them disagree.
    const writing = (async () => {
      for (let i = 0; i < 20; i++) {
        await m2.buildrequests.claimBuildRequests([brids.z!]);
        await m2.buildrequests.unclaimBuildRequests([brids.z!]);
      }
      await m2.buildsets.addBuildset({ sourcestampsetid: sss, reason: 'r', properties: {}, builderNames: ['w'] });
    })();
    const reader = store.connect();
    await reader.open();
    const report = await verifyBackend(reader);
    await writing;
    expect(report).toMatchObject({ ok: true, problems: [] });
    expect((await verifyBackend(reader)).records).toBeGreaterThan(report.records);
    await a.close();
    await b.close();
  });

  it('reports an index entry with no record, and ids past the store sequence', async () => {
    const store = new SharedMemoryStore();
    const backend = store.connect();
    await backend.open();
    await backend.write(
      new Map([
        ['i/br.builder/x\x000000000000000009', encode(true)],
        ['r/master/0000000000000003', encode({ id: 3, name: 'm', active: false, last_active: 0 })],
        ['i/master.name/m\x000000000000000003', encode(true)],
      ]),
    );
    const report = await verifyBackend(backend);
    expect(report.ok).toBe(false);
    expect(report.problems.map((p) => p.problem)).toEqual(
      expect.arrayContaining([expect.stringMatching(/id counter 0 is below the largest id in use, 3/), expect.stringMatching(/index entry with no record/)]),
    );
  });
});
