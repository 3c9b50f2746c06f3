import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { afterAll, describe, expect, it } from 'vitest';
import { newestValue as readNewest } from '../../../../src/persistence/leveldb/files/newestValue.ts';
import { checkStoreFiles } from '../../../../src/persistence/leveldb/files/storeFiles.ts';

const root = mkdtempSync(join(tmpdir(), 'buildcoord-newest-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
/** The newest value, read as the open check does: after checkStoreFiles found the files whole. */
const newestValue = async (location: string, key: string) => {
  const { live, problems } = await checkStoreFiles(location);
  expect(problems).toEqual([]);
  return readNewest(location, key, live!);
};
const text = (value: Uint8Array | null | undefined) => (value == null ? value : new TextDecoder().decode(value));
const open = async (location: string) => {
  const db = new ClassicLevel<string, string>(location, { keyEncoding: 'utf8', valueEncoding: 'utf8' });
  await db.open();
  return db;
};

describe('newestValue: one key as the files hold it, without LevelDB', () => {
  it('reads the newest write of a key from the log, then from the tables after a reopen moved it there', async () => {
    const location = join(root, 'a');
    let db = await open(location);
    for (let i = 0; i < 500; i++) await db.batch().put('m/commit', String(i)).put(`k/${i}`, 'x'.repeat(200)).write();
    await db.put('gone', '1');
    await db.del('gone');
    await db.close();
    expect(text((await newestValue(location, 'm/commit'))?.value)).toBe('499');
    expect((await newestValue(location, 'm/commit'))?.file).toMatch(/\.log$/);
    expect(await newestValue(location, 'gone')).toEqual({ value: null, file: expect.stringMatching(/\.log$/) });
    expect(await newestValue(location, 'never')).toBeNull();

    db = await open(location); // recovery writes the log into a table and starts an empty log
    await db.close();
    const fromTable = await newestValue(location, 'm/commit');
    expect(text(fromTable?.value)).toBe('499');
    expect(fromTable?.file).toMatch(/\.ldb$/);
    expect((await newestValue(location, 'gone'))?.value).toBeNull();
    expect(text((await newestValue(location, 'k/250'))?.value)).toBe('x'.repeat(200));

    db = await open(location); // newer writes in the log win over the table
    await db.put('m/commit', '500');
    await db.close();
    expect(text((await newestValue(location, 'm/commit'))?.value)).toBe('500');
  });

  it('finds the newest of several tables by sequence number, not by file', async () => {
    const location = join(root, 'b');
    for (let round = 1; round <= 3; round++) {
      const db = await open(location);
      for (let i = 0; i < 50; i++) await db.put(`k/${round}/${i}`, 'y');
      await db.put('m/commit', `round ${round}`);
      await db.close();
    }
    const db = await open(location);
    await db.close();
    expect(text((await newestValue(location, 'm/commit'))?.value)).toBe('round 3');
  });
});
