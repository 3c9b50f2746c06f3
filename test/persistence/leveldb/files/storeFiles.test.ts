import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scanLog } from '../../../../src/persistence/leveldb/files/logFile.ts';
import { describeProblem } from '../../../../src/errors.ts';
import { checkStoreFiles } from '../../../../src/persistence/leveldb/files/storeFiles.ts';
import { copyStore, filesOf, fingerprint, flipFile, makeStore, type Store, scratch } from './stores.ts';

const dirs = scratch('store');
afterAll(dirs.cleanup);

let fresh: string;
let logOnly: Store;
let compacted: Store;

beforeAll(async () => {
  fresh = dirs.fresh('fresh');
  const db = new ClassicLevel(fresh, { keyEncoding: 'utf8', valueEncoding: 'view' });
  await db.open();
  await db.close();
  logOnly = await makeStore(dirs.fresh('log-only'), { batches: 60, seed: 31 });
  // Everything compacted into tables, then a few writes only in the new log.
  compacted = await makeStore(dirs.fresh('compacted'), { batches: 300, writeBufferSize: 256 * 1024, compact: true, tail: 25, seed: 32 });
});

const logOf = (dir: string) => filesOf(dir, (n) => n.endsWith('.log')).at(-1)!;

describe('checkStoreFiles', () => {
  it('a missing or empty directory, or one without LevelDB data, is no store, and is left as it was', async () => {
    const missing = join(dirs.root, 'never-made');
    expect(await checkStoreFiles(missing)).toEqual({ kind: 'none', problems: [], tornTails: [], tables: 0, logs: 0, bytesChecked: 0 });
    expect(existsSync(missing)).toBe(false);
    const empty = dirs.fresh('empty');
    mkdirSync(empty);
    expect(await checkStoreFiles(empty)).toMatchObject({ kind: 'none', problems: [] });
    // What an interrupted creation or a cleared store leaves: no data anywhere.
    for (const name of ['LOCK', 'LOG', 'LOG.old', '000005.log', 'BUILDCOORD-COMMIT', '000001.dbtmp']) writeFileSync(join(empty, name), name.startsWith('LOG') ? 'info' : '');
    expect(await checkStoreFiles(empty)).toMatchObject({ kind: 'none', problems: [] });
  });

  it('undamaged stores check clean: fresh, log only, compacted with a log', async () => {
    expect(await checkStoreFiles(fresh)).toMatchObject({ kind: 'store', problems: [], tornTails: [], tables: 0, logs: 1 });
    expect(await checkStoreFiles(logOnly.dir)).toMatchObject({ kind: 'store', problems: [], tornTails: [], tables: 0, logs: 1 });
    const report = await checkStoreFiles(compacted.dir);
    expect(report).toMatchObject({ kind: 'store', problems: [], tornTails: [], logs: 1 });
    expect(report.tables).toBeGreaterThan(1);
  });

  it('without CURRENT, a directory holding data is a store with a problem; a fresh MANIFEST alone is not', async () => {
    for (const store of [logOnly.dir, compacted.dir]) {
      const dir = copyStore(store, dirs.fresh('no-current'));
      rmSync(join(dir, 'CURRENT'));
      const report = await checkStoreFiles(dir);
      expect(report.kind).toBe('store');
      expect(report.problems).toEqual([{ file: 'CURRENT', reason: expect.stringMatching(/^missing, though the directory holds a LevelDB store \(.*(\.ldb|\.log).*\)$/) }]);
    }
    // A MANIFEST naming a log that is there (even empty) is a store's, by the rule.
    const freshCopy = copyStore(fresh, dirs.fresh('no-current'));
    rmSync(join(freshCopy, 'CURRENT'));
    expect((await checkStoreFiles(freshCopy)).problems[0]?.reason).toMatch(/MANIFEST-000002/);
    // Without that log, the MANIFEST records nothing: as an interrupted creation leaves it.
    rmSync(join(freshCopy, logOf(freshCopy)));
    expect(await checkStoreFiles(freshCopy)).toMatchObject({ kind: 'none', problems: [] });
    // A lone table or log is data all the same, and so is a MANIFEST recording tables.
    const manifest = readFileSync(join(compacted.dir, filesOf(compacted.dir, (n) => n.startsWith('MANIFEST-'))[0]!));
    for (const [name, bytes] of [
      ['000009.ldb', 'x'],
      ['000011.log', 'x'],
      ['MANIFEST-000004', manifest],
    ] as const) {
      const dir = dirs.fresh('lone');
      mkdirSync(dir);
      writeFileSync(join(dir, 'LOCK'), '');
      writeFileSync(join(dir, name), bytes);
      expect((await checkStoreFiles(dir)).problems, name).toEqual([{ file: 'CURRENT', reason: `missing, though the directory holds a LevelDB store (${name})` }]);
    }
  });

  it('scans the logs LevelDB would replay, and only those', async () => {
    const dir = copyStore(compacted.dir, dirs.fresh('logs'));
    const log = readFileSync(join(dir, logOf(dir)));
    const damaged = Uint8Array.from(log);
    damaged[100]! ^= 0xff;
    // Older than the MANIFEST's log number: LevelDB ignores it, and so do we.
    writeFileSync(join(dir, '000001.log'), damaged);
    expect(await checkStoreFiles(dir)).toMatchObject({ problems: [], logs: 1 });
    // Newer: LevelDB would replay it.
    writeFileSync(join(dir, '999998.log'), damaged);
    const report = await checkStoreFiles(dir);
    expect(report.logs).toBe(2);
    expect(report.problems).toMatchObject([
      { file: '999998.log', offset: 0, reason: expect.stringMatching(/^checksum mismatch; LevelDB would silently drop it and read on from byte \d+$/) },
    ]);
    // A torn tail is informative only.
    truncateSync(join(dir, '999998.log'), 0);
    writeFileSync(join(dir, '999999.log'), log.subarray(0, log.length - 3));
    expect(await checkStoreFiles(dir)).toMatchObject({ problems: [], tornTails: [{ file: '999999.log', offset: scanLog(log).records.at(-1)!.offset }] });
  });

  it('describes a problem with file and byte', async () => {
    const dir = copyStore(logOnly.dir, dirs.fresh('describe'));
    const log = logOf(dir);
    flipFile(join(dir, log), 40_000);
    const [problem] = (await checkStoreFiles(dir)).problems;
    expect(describeProblem(problem!)).toMatch(new RegExp(`^${log.replace('.', '\\.')} at byte \\d+: checksum mismatch; LevelDB would silently drop it`));
    expect(describeProblem({ file: 'CURRENT', reason: 'missing' })).toBe('CURRENT: missing');
  });

  it('never changes a file: names and every byte are the same after checking', async () => {
    const damaged = copyStore(compacted.dir, dirs.fresh('readonly'));
    flipFile(join(damaged, logOf(damaged)), 50);
    const table = filesOf(damaged, (n) => n.endsWith('.ldb'))[0]!;
    flipFile(join(damaged, table), 100);
    const noCurrent = copyStore(logOnly.dir, dirs.fresh('readonly'));
    rmSync(join(noCurrent, 'CURRENT'));
    const cut = copyStore(logOnly.dir, dirs.fresh('readonly'));
    truncateSync(join(cut, logOf(cut)), 5000);
    const orphan = copyStore(compacted.dir, dirs.fresh('readonly'));
    copyFileSync(join(orphan, table), join(orphan, '777777.ldb'));
    for (const dir of [fresh, logOnly.dir, compacted.dir, damaged, noCurrent, cut, orphan]) {
      const before = fingerprint(dir);
      const report = await checkStoreFiles(dir);
      expect(fingerprint(dir), dir).toEqual(before);
      expect(report.kind).toBe('store');
    }
  });
});
