// LevelDB only: verify() checks a store directory, and the damage is done to the files' contents.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openCoordinator, verify } from '../../../src/api.ts';
import { encode } from '../../../src/persistence/codec.ts';
import { counterKey, idPart, indexKey, recordKey } from '../../../src/persistence/keys.ts';
import { levelDBBackend } from '../../../src/persistence/leveldb/backend.ts';

const root = mkdtempSync(join(tmpdir(), 'buildcoord-verify-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let stores = 0;

/** A store with masters, change sources, buildsets and requests in every state. */
async function healthyStore(): Promise<string> {
  const location = join(root, `store-${++stores}`);
  const coordinator = await openCoordinator({ location });
  const [m1, m2] = [await coordinator.connect('m1'), await coordinator.connect('m2')];
  const sss = await m1.sourcestampsets.addSourceStampSet();
  await m1.sourcestamps.addSourceStamp({ branch: 'main', revision: 'r', repository: 'repo', project: 'p', sourcestampsetid: sss });
  const [bsid, brids] = await m1.buildsets.addBuildset({ sourcestampsetid: sss, reason: 'r', properties: {}, builderNames: ['a', 'b', 'c', 'd'] });
  await m1.buildrequests.claimBuildRequests([brids.a!, brids.b!]);
  await m2.buildrequests.claimBuildRequests([brids.c!]);
  await m1.buildrequests.completeBuildRequests([brids.b!], 0);
  await m1.buildsets.completeBuildset(bsid, 0);
  const cs = await m1.changesources.findChangeSourceId('poller');
  await m1.changesources.setChangeSourceMaster(cs, m2.masterid);
  await m1.masters.setMasterState(m2.masterid, false);
  const uid = await m1.users.findUserByAttr({ identifier: 'ann', attr_type: 'git', attr_data: 'ann' });
  const changeid = await m1.changes.addChange({ uid, branch: 'main' });
  const objectid = await m1.state.getObjectId('nightly', 'Nightly');
  await m1.state.setState(objectid, 'last', [changeid]);
  await m1.schedulers.classifyChanges(objectid, { [changeid]: true });
  await m1.builds.addBuild(brids.a!, 1);
  await coordinator.close();
  return location;
}

async function damage(location: string, writes: [string, Uint8Array | null][]): Promise<void> {
  const backend = levelDBBackend(location);
  await backend.open();
  await backend.write(new Map(writes), { sync: true });
  await backend.close();
}

describe('verify [leveldb]', () => {
  it('a store written by the coordinator is sound', async () => {
    const report = await verify(await healthyStore());
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.records).toBeGreaterThan(8);
    expect(report.indexEntries).toBeGreaterThan(10);
  });

  it('reports a missing index entry, an orphan one, an undecodable record, a bad state and a low counter, each by key', async () => {
    const location = await healthyStore();
    const missing = indexKey('br.builder', 'a\u0000') + idPart(1);
    const orphan = indexKey('br.unclaimed', 'zzz\u0000') + idPart(77);
    await damage(location, [
      [missing, null],
      [orphan, encode(true)],
      [recordKey('ss', 1), new Uint8Array([0xc1])], // 0xc1 is never valid msgpack
      [recordKey('cs', 1), encode({ status: 'active', value: 'flying', context: { id: 1, name: 'poller', masterid: null } })],
      [counterKey('br'), encode(1)],
    ]);
    const report = await verify(location);
    expect(report.ok).toBe(false);
    const keys = report.problems.map((p) => p.key);
    expect(keys).toEqual(expect.arrayContaining([missing, orphan, recordKey('ss', 1), recordKey('cs', 1), counterKey('br')]));
  });

  it('a directory that is not a store is a clear error, not a crash', async () => {
    await expect(verify(join(root, 'no', 'such', 'dir'))).rejects.toThrow(/cannot open store/);
  });
});

describe('a location that is a file, not a directory [leveldb]', () => {
  it('verify, salvage and openCoordinator refuse it with a StorageError', async () => {
    const { salvage, StorageError } = await import('../../../src/api.ts');
    const file = join(root, 'a-file');
    (await import('node:fs')).writeFileSync(file, 'not a store');
    for (const call of [() => verify(file), () => salvage(file), () => openCoordinator({ location: file })]) {
      const refused = await call().catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(StorageError);
    }
  });
});
