import { readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scanLog } from '../../../../src/persistence/leveldb/files/logFile.ts';
import { decodeVersionEdit, readManifest } from '../../../../src/persistence/leveldb/files/manifest.ts';
import { checkStoreFiles } from '../../../../src/persistence/leveldb/files/storeFiles.ts';
import { copyStore, filesOf, flipFile, makeStore, type Store, scratch, writeLog } from './stores.ts';

const dirs = scratch('manifest');
afterAll(dirs.cleanup);

let store: Store;
let manifestName: string;
let manifest: Uint8Array;

beforeAll(async () => {
  // Flushes and compactions make a MANIFEST of many edits; the tail stays in the log.
  store = await makeStore(dirs.fresh('store'), { batches: 700, writeBufferSize: 256 * 1024, seed: 21, tail: 30 });
  manifestName = filesOf(store.dir, (n) => n.startsWith('MANIFEST-'))[0]!;
  manifest = readFileSync(join(store.dir, manifestName!));
});

const varint = (n: number): number[] => {
  const out: number[] = [];
  for (; n >= 0x80; n = Math.floor(n / 128)) out.push((n & 0x7f) | 0x80);
  out.push(n);
  return out;
};
const edit = (...bytes: number[]) => Uint8Array.from(bytes);

describe('reading a MANIFEST', () => {
  it('gives the live version: the tables present, the numbers of the log LevelDB replays', () => {
    const scan = readManifest(manifest);
    expect(scan.problems).toEqual([]);
    expect(scan.tornTail).toBeUndefined();
    expect(scan.edits).toBeGreaterThan(5);
    const { state } = scan;
    const present = readdirSync(store.dir);
    // Every live table is there at its recorded size (a compaction cut short at close may leave orphans too).
    for (const t of state.tables) expect(t.size).toBe(readFileSync(join(store.dir, `${String(t.number).padStart(6, '0')}.ldb`)).length);
    expect(present.filter((n) => n.endsWith('.ldb')).length).toBeGreaterThanOrEqual(state.tables.length);
    expect(new Set(state.tables.map((t) => t.level)).size).toBeGreaterThanOrEqual(2);
    expect(present).toContain(`${String(state.logNumber).padStart(6, '0')}.log`);
    expect(state.nextFileNumber).toBeGreaterThan(Math.max(state.logNumber, ...state.tables.map((t) => t.number)));
    expect(state.lastSequence).toBeGreaterThan(3000);
    expect(state.prevLogNumber).toBe(0);
  });

  it('decodes every VersionEdit field, and refuses what VersionEdit::DecodeFrom refuses', () => {
    const name = [...'leveldb.BytewiseComparator'].map((c) => c.charCodeAt(0));
    const full = edit(
      1,
      name.length,
      ...name,
      2,
      ...varint(9),
      9,
      7,
      3,
      ...varint(300),
      4,
      ...varint(2 ** 40),
      5,
      1,
      3,
      1,
      2,
      3,
      6,
      2,
      ...varint(8),
      7,
      3,
      ...varint(12),
      ...varint(2 << 20),
      2,
      97,
      98,
      2,
      99,
      100,
    );
    expect(decodeVersionEdit(full)).toEqual({
      comparator: 'leveldb.BytewiseComparator',
      logNumber: 9,
      prevLogNumber: 7,
      nextFileNumber: 300,
      lastSequence: 2 ** 40,
      deleted: [{ level: 2, number: 8 }],
      added: [{ level: 3, number: 12, size: 2 << 20 }],
    });
    const bad: [Uint8Array, RegExp][] = [
      [edit(8, 1), /unknown tag 8/],
      [edit(6, 7, 1), /level 7 is not below 7/],
      [edit(7, 0, 1, 10, 0, 1, 97), /empty key/],
      [edit(7, 0, 1, 10, 1, 97), /runs past the end|bad varint/],
      [edit(2, 0x80), /log number: bad varint64/],
      [edit(1, 5, 97), /comparator name: length 5 runs past the end/],
      [edit(0x80), /tag: bad varint32/],
    ];
    for (const [bytes, reason] of bad) expect(() => decodeVersionEdit(bytes)).toThrow(reason);
  });

  it('a byte flipped anywhere is a problem: Recover refuses any corruption its reader reports', () => {
    const bytes = Uint8Array.from(manifest);
    const last = scanLog(manifest).records.at(-1)!.offset;
    for (let at = 0; at < bytes.length; at += bytes.length > 8000 ? 7 : 1) {
      bytes[at]! ^= 0xff;
      const scan = readManifest(bytes);
      bytes[at]! ^= 0xff;
      if ((at === last + 4 || at === last + 5) && scan.problems.length === 0) {
        // The last record's length made to overrun the file: LevelDB's reader
        // takes that for a record cut off by a crash, and so must we.
        expect(scan.tornTail?.reason, `flip at ${at}`).toMatch(/runs past the end of the file/);
        continue;
      }
      expect(scan.problems.length, `flip at ${at}`).toBeGreaterThan(0);
      expect(scan.problems[0]!.offset, `flip at ${at}`).toBeLessThanOrEqual(at);
    }
  });

  it('cut short, it is a torn tail (Recover reads a cut-off record as the end), or a problem when too little is left', () => {
    const records = scanLog(manifest).records;
    const starts = new Set(records.map((r) => r.offset));
    for (let cut = 0; cut < manifest.length; cut += 11) {
      const scan = readManifest(manifest.subarray(0, cut));
      // A new MANIFEST starts with a snapshot of the files, then the edit with the numbers.
      if (cut < records[2]!.offset) {
        if (cut < records[1]!.offset) expect(scan.problems, `cut at ${cut}`).toMatchObject([{ reason: expect.stringMatching(/no next-file-number entry/) }]);
        continue;
      }
      expect(scan.problems, `cut at ${cut}`).toEqual([]);
      if (!starts.has(cut)) expect(scan.tornTail?.reason, `cut at ${cut}`).toMatch(/runs past the end|cut off|no LAST/);
    }
  });

  it('through checkStoreFiles: a garbled, zeroed, cut or missing MANIFEST, or a garbled CURRENT, is a problem', async () => {
    const garbled = copyStore(store.dir, dirs.fresh('garbled'));
    const middle = scanLog(manifest).records[3]!;
    flipFile(join(garbled, manifestName), middle.offset + 7 + Math.floor(middle.data.length / 2));
    expect((await checkStoreFiles(garbled)).problems).toMatchObject([{ file: manifestName, reason: expect.stringMatching(/checksum mismatch/) }]);

    const zeroed = copyStore(store.dir, dirs.fresh('zeroed'));
    writeFileSync(join(zeroed, manifestName), new Uint8Array(manifest.length));
    expect((await checkStoreFiles(zeroed)).problems).toMatchObject([{ file: manifestName, reason: expect.stringMatching(/no next-file-number entry, no log-number entry/) }]);

    const junk = copyStore(store.dir, dirs.fresh('junk'));
    writeFileSync(join(junk, manifestName), Buffer.alloc(64, 7));
    expect((await checkStoreFiles(junk)).problems).toHaveLength(1);

    const empty = copyStore(store.dir, dirs.fresh('empty'));
    truncateSync(join(empty, manifestName), 0);
    expect((await checkStoreFiles(empty)).problems).toMatchObject([{ file: manifestName }]);

    const gone = copyStore(store.dir, dirs.fresh('gone'));
    rmSync(join(gone, manifestName));
    expect((await checkStoreFiles(gone)).problems).toEqual([{ file: manifestName, reason: 'missing, though CURRENT names it' }]);

    for (const current of ['garbage\n', manifestName, `${manifestName}\n\n`, ' MANIFEST-000002\n', '', 'MANIFEST-\n', '../MANIFEST-000002\n']) {
      const dir = copyStore(store.dir, dirs.fresh('current'));
      writeFileSync(join(dir, 'CURRENT'), current);
      expect((await checkStoreFiles(dir)).problems, JSON.stringify(current)).toMatchObject([{ file: 'CURRENT', reason: expect.stringMatching(/should name the MANIFEST/) }]);
    }
    const elsewhere = copyStore(store.dir, dirs.fresh('current'));
    writeFileSync(join(elsewhere, 'CURRENT'), 'MANIFEST-999999\n');
    expect((await checkStoreFiles(elsewhere)).problems).toEqual([{ file: 'MANIFEST-999999', reason: 'missing, though CURRENT names it' }]);
  });

  it("through checkStoreFiles: a MANIFEST whose last edit is cut off is a torn tail, and LevelDB's own rule decides the rest", async () => {
    const records = scanLog(manifest).records;
    const last = records.at(-1)!.offset;
    const dir = copyStore(store.dir, dirs.fresh('cut'));
    truncateSync(join(dir, manifestName), last + 10);
    const report = await checkStoreFiles(dir);
    expect(report.tornTails).toMatchObject([{ file: manifestName, offset: last, reason: expect.stringMatching(/runs past the end of the file/) }]);
    // The version before the lost edit: any table it needs that a later
    // compaction deleted is missing, which DBImpl::Recover refuses too.
    for (const p of report.problems) expect(p.reason).toMatch(/^missing, though MANIFEST/);
  });

  it('a MANIFEST cut back to before the edit that retired a log is a problem, though nothing in it is torn', async () => {
    // A memtable flush records its table and the new log in one edit; only
    // then is the old log deleted. Without that edit, LevelDB would replay
    // just the new log and lose what the old one held (now in an orphan table).
    const records = scanLog(manifest).records;
    const edits = records.map((r) => decodeVersionEdit(r.data));
    const final = readManifest(manifest).state.logNumber;
    const retiring = edits.findIndex((e) => e.logNumber === final);
    const before = edits
      .slice(0, retiring)
      .reverse()
      .find((e) => e.logNumber !== undefined)!.logNumber!;
    expect(before).toBeLessThan(final);
    const dir = copyStore(store.dir, dirs.fresh('cutback'));
    truncateSync(join(dir, manifestName), records[retiring]!.offset);
    const report = await checkStoreFiles(dir);
    expect(report.tornTails).toEqual([]);
    const oldLog = `${String(before).padStart(6, '0')}.log`;
    expect(report.problems).toContainEqual({ file: oldLog, reason: expect.stringMatching(/^missing, though MANIFEST-\d+ names it as the live log and the newer \d+\.log exists/) });
  });

  it('a MANIFEST from another comparator, or holding an edit cut off in the middle of the file, is a problem', () => {
    const other = [...'other.Comparator'].map((c) => c.charCodeAt(0));
    const foreign = writeLog([edit(1, other.length, ...other, 2, 0, 3, 2, 4, 0)]);
    expect(readManifest(foreign).problems).toMatchObject([{ offset: 0, reason: expect.stringMatching(/comparator "other.Comparator"/) }]);
    const undecodable = writeLog([edit(2, 0, 3, 2, 4, 0), edit(8, 1), edit(2, 5)]);
    expect(readManifest(undecodable).problems).toMatchObject([{ offset: 13, reason: expect.stringMatching(/undecodable VersionEdit \(unknown tag 8/) }]);
  });
});
