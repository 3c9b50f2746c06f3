// LevelDB only: damage is done to the store's files on disk.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openCoordinator, StorageError, verify } from '../../../src/api.ts';

const root = mkdtempSync(join(tmpdir(), 'buildcoord-damage-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let stores = 0;

/** A closed store holding 100 acknowledged build requests, all still in the write-ahead log. */
async function store(): Promise<string> {
  const location = join(root, `store-${++stores}`);
  const coordinator = await openCoordinator({ location });
  const db = await coordinator.connect('m');
  const sss = await db.sourcestampsets.addSourceStampSet();
  for (let i = 0; i < 50; i++) await db.buildsets.addBuildset({ sourcestampsetid: sss, reason: 'x'.repeat(500), properties: {}, builderNames: ['a', 'b'] });
  await coordinator.close();
  return location;
}

const files = (location: string, test: (name: string) => boolean) =>
  readdirSync(location)
    .filter(test)
    .map((name) => join(location, name));

describe('a damaged store [leveldb]', () => {
  it('an undamaged store reopens with everything', async () => {
    const location = await store();
    const coordinator = await openCoordinator({ location });
    expect(await (await coordinator.connect('m')).buildrequests.getBuildRequests()).toHaveLength(100);
    await coordinator.close();
    expect((await verify(location)).ok).toBe(true);
  });

  it('a truncated write-ahead log is a clear StorageError on open, not silently missing data', async () => {
    const location = await store();
    for (const log of files(location, (n) => n.endsWith('.log'))) truncateSync(log, Math.floor(statSync(log).size / 2));
    await expect(openCoordinator({ location })).rejects.toThrow(/lost acknowledged writes/);
    // And it stays refused: the files were left as they were.
    await expect(openCoordinator({ location })).rejects.toThrow(StorageError);
    const report = await verify(location);
    expect(report.ok).toBe(false);
    expect(report.problems.map((p) => p.problem).join()).toMatch(/lost acknowledged writes/);
  });

  it('flipped bytes in the write-ahead log are a clear StorageError on open', async () => {
    const location = await store();
    for (const log of files(location, (n) => n.endsWith('.log'))) {
      const bytes = readFileSync(log);
      for (let i = 200; i < bytes.length; i += 4093) bytes[i]! ^= 0xff;
      writeFileSync(log, bytes);
    }
    await expect(openCoordinator({ location })).rejects.toThrow(StorageError);
  });

  it('a damaged CURRENT or MANIFEST file is a clear StorageError on open', async () => {
    const first = await store();
    writeFileSync(join(first, 'CURRENT'), 'garbage\n');
    await expect(openCoordinator({ location: first })).rejects.toThrow(StorageError);
    const second = await store();
    for (const manifest of files(second, (n) => n.startsWith('MANIFEST'))) writeFileSync(manifest, Buffer.alloc(64, 7));
    await expect(openCoordinator({ location: second })).rejects.toThrow(StorageError);
  });
});
