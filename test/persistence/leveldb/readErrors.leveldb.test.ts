// LevelDB only: what the store's files hold is damaged under a coordinator, or a table turns up damaged.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openCoordinator, StorageError, StoreDamagedError } from '../../../src/api.ts';
import type { FileProblem } from '../../../src/api.ts';
import { buildRequests } from '../../../src/connector/model.ts';
import { recordKey } from '../../../src/persistence/keys.ts';
import { levelDBBackend } from '../../../src/persistence/leveldb/backend.ts';
import { TableWatch } from '../../../src/persistence/leveldb/tableWatch.ts';

const root = mkdtempSync(join(tmpdir(), 'buildcoord-reads-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let stores = 0;

/** A closed store whose data sits in a table file (a reopen replays the log into one). */
async function storeWithTable(): Promise<string> {
  const location = join(root, `store-${++stores}`);
  for (let round = 0; round < 2; round++) {
    const coordinator = await openCoordinator({ location });
    const db = await coordinator.connect('m');
    const sss = await db.sourcestampsets.addSourceStampSet();
    for (let i = 0; i < 40; i++) await db.buildsets.addBuildset({ sourcestampsetid: sss, reason: `r${i}`.repeat(100), properties: {}, builderNames: ['a'] });
    await coordinator.close();
  }
  return location;
}

describe('read errors [leveldb]', () => {
  it('a stored value that does not decode is a StorageError naming its key, not a msgpackr error', async () => {
    const location = join(root, `store-${++stores}`);
    const coordinator = await openCoordinator({ location });
    const db = await coordinator.connect('m');
    const sss = await db.sourcestampsets.addSourceStampSet();
    const [, brids] = await db.buildsets.addBuildset({ sourcestampsetid: sss, reason: 'r', properties: {}, builderNames: ['a'] });
    await coordinator.close();
    const backend = levelDBBackend(location);
    await backend.open();
    const key = recordKey(buildRequests.name, brids.a!);
    await backend.write(new Map([[key, new Uint8Array([0xc1, 0xc1, 0xc1])]]), { sync: true }); // 0xc1: no msgpack type has it
    await backend.close();
    const reopened = await openCoordinator({ location });
    const error = await (await reopened.connect('m')).buildrequests.getBuildRequest(brids.a!).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageError);
    expect((error as Error).message).toContain(JSON.stringify(key));
    await reopened.close();
  });

  it('a table that turns up damaged is found by the watch; tables checked at open are not read again', async () => {
    const location = await storeWithTable();
    const [table] = readdirSync(location).filter((name) => name.endsWith('.ldb'));
    const found: FileProblem[][] = [];
    const fresh = new TableWatch(location, (problems) => found.push(problems));
    await fresh.scan();
    expect(found).toEqual([]);

    const bytes = readFileSync(join(location, table!));
    bytes[100]! ^= 0xff;
    writeFileSync(join(location, table!), bytes);
    const seeded = new TableWatch(location, (problems) => found.push(problems));
    seeded.seed([Number.parseInt(table!, 10)]);
    await seeded.scan();
    expect(found).toEqual([]); // seeded: checked before LevelDB opened the store
    await new TableWatch(location, (problems) => found.push(problems)).scan();
    expect(found).toHaveLength(1);
    expect(found[0]![0]!.file).toBe(table);
  });

  it('once a table is found damaged, the store refuses every read and write, naming the table', async () => {
    const location = await storeWithTable();
    const backend = levelDBBackend(location);
    await backend.open();
    // What the watch reports when it finds a table damaged (its own test is above).
    (backend as unknown as { damaged(problems: FileProblem[]): void }).damaged([{ file: '000009.ldb', offset: 4242, reason: 'data block 3 checksum mismatch' }]);
    for (const call of [
      () => backend.get('c/buildrequests'),
      () => backend.keys({ gte: 'a', lt: 'z' }),
      () => backend.write(new Map([['k', new Uint8Array(1)]]), { sync: true }),
    ]) {
      const error = await call().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StoreDamagedError);
      expect((error as Error).message).toContain('000009.ldb at byte 4242: data block 3 checksum mismatch');
    }
    await backend.close();
  });
});
