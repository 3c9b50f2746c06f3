import { readFileSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOG_BLOCK_SIZE, type LogScan, scanLog } from '../../../../src/persistence/leveldb/files/logFile.ts';
import { checkStoreFiles } from '../../../../src/persistence/leveldb/files/storeFiles.ts';
import { concat, copyStore, FIRST, filesOf, flipFile, FULL, LAST, MIDDLE, makeStore, physical, rng, type Store, scratch, writeLog } from './stores.ts';

const dirs = scratch('log');
afterAll(dirs.cleanup);

const payloads = (sizes: number[], seed = 1): Uint8Array[] => {
  const next = rng(seed);
  return sizes.map((size) => Uint8Array.from({ length: size }, () => Math.floor(next() * 256)));
};
const same = (scan: LogScan, expected: Uint8Array[]) => {
  expect(scan.records).toHaveLength(expected.length);
  for (const [i, r] of scan.records.entries()) expect(Buffer.compare(r.data, expected[i]!), `record ${i}`).toBe(0);
};

/**
 * What a flip at `at` must give, for a log whose last record begins at
 * `lastRecord`: before it, damage at the broken physical record (its header
 * is at most a block before the flip); inside it, a torn tail from its start.
 */
function expectFlipVerdict(scan: LogScan, at: number, lastRecord: number): void {
  if (at < lastRecord) {
    expect(scan.damage, `flip at ${at}`).toBeDefined();
    expect(scan.damage!.offset, `flip at ${at}`).toBeLessThanOrEqual(at);
    expect(at - scan.damage!.offset, `flip at ${at}`).toBeLessThan(LOG_BLOCK_SIZE);
  } else {
    expect(scan.damage, `flip at ${at}`).toBeUndefined();
    expect(scan.tornTail?.offset, `flip at ${at}`).toBe(lastRecord);
  }
}

describe('scanning a hand-made log', () => {
  // Sizes that hit every layout: empty, spanning blocks, leaving exactly 7
  // bytes (an empty FIRST at the block's end), leaving under 7 (padding).
  const records = payloads([0, 10, 32730, 100, 70_000, 28164, 5, 40_000, 3]);
  const log = writeLog(records);

  it('reads back every record, with no trouble', () => {
    // The layouts meant: an empty FIRST in block 0's last 7 bytes, 5 bytes of padding ending block 3.
    expect([...log.subarray(32761 + 4, 32768)]).toEqual([0, 0, FIRST]);
    expect([...log.subarray(4 * LOG_BLOCK_SIZE - 5, 4 * LOG_BLOCK_SIZE + 7)]).toEqual([0, 0, 0, 0, 0, ...physical(FULL, records[6]!).subarray(0, 7)]);
    const scan = scanLog(log);
    same(scan, records);
    expect(scan.damage).toBeUndefined();
    expect(scan.tornTail).toBeUndefined();
    expect(scanLog(log, { records: false }).records).toEqual([]);
    expect(scanLog(new Uint8Array(0))).toEqual({ records: [] });
  });

  it('reads an empty FIRST at a block end (an old writer quirk) as LevelDB does: no trouble', () => {
    const first = writeLog(payloads([LOG_BLOCK_SIZE - 14]));
    const quirk = concat(first, physical(FIRST, new Uint8Array(0)), physical(FULL, new Uint8Array([1, 2])));
    const scan = scanLog(quirk);
    expect(scan.damage).toBeUndefined();
    expect(scan.tornTail).toBeUndefined();
    expect(scan.records.map((r) => r.data.length)).toEqual([LOG_BLOCK_SIZE - 14, 2]);
  });

  it('truncated anywhere: never damage, the records before the cut, a torn tail unless cut between records', () => {
    const ends = new Set(scanLog(log).records.map((_r, i, all) => all[i + 1]?.offset ?? log.length));
    for (let cut = 0; cut <= log.length; cut += cut < 100 ? 1 : 257) {
      const scan = scanLog(log.subarray(0, cut));
      expect(scan.damage, `cut at ${cut}`).toBeUndefined();
      expect(scan.records.length).toBeLessThanOrEqual(records.length);
      same(scan, records.slice(0, scan.records.length));
      if (scan.tornTail) expect(scan.tornTail.reportedByLevelDb, `cut at ${cut}`).toBe(false);
      // A clean cut lands on a record's end (or in the padding after one).
      if (!scan.tornTail) expect(ends.has(cut) || cut % LOG_BLOCK_SIZE > LOG_BLOCK_SIZE - 7 || cut % LOG_BLOCK_SIZE === 0 || cut === 0, `cut at ${cut}`).toBe(true);
    }
  });

  it('flipped anywhere: damage before the last record, a torn tail within it', () => {
    const lastRecord = scanLog(log).records.at(-1)!.offset;
    for (let at = 0; at < log.length; at += at < 200 ? 1 : 331) {
      const bytes = Uint8Array.from(log);
      bytes[at]! ^= 0xff;
      expectFlipVerdict(scanLog(bytes, { records: false }), at, lastRecord);
    }
  });

  const a = physical(FULL, new Uint8Array([1, 2, 3]));
  const b = physical(FULL, new Uint8Array([4, 5]));

  it('names each kind of trouble, and calls it damage only when a record starts after it', () => {
    const cases: [string, Uint8Array, RegExp, number][] = [
      ['MIDDLE without FIRST', concat(a, physical(MIDDLE, new Uint8Array([9])), b), /MIDDLE fragment without the FIRST/, a.length],
      ['LAST without FIRST', concat(physical(LAST, new Uint8Array([9])), b), /LAST fragment without the FIRST/, 0],
      ['FIRST then FULL', concat(a, physical(FIRST, new Uint8Array([9])), b), /FULL record while the record begun at byte 10 still lacks its end/, a.length + 8],
      ['unknown type', concat(a, physical(9, new Uint8Array([9])), b), /unknown record type 9/, a.length],
      ['bad checksum', concat(a, Uint8Array.from(b).fill(0x77, 0, 1), b), /checksum mismatch/, a.length],
      ['zeroed header', concat(a, new Uint8Array(7), new Uint8Array([1, 2]), b), /zeroed record header/, a.length],
    ];
    for (const [what, bytes, reason, offset] of cases) {
      const scan = scanLog(bytes);
      expect(scan.damage?.reason, what).toMatch(reason);
      expect(scan.damage?.offset, what).toBe(offset);
      expect(scan.records.at(-1)?.data, what).toEqual(new Uint8Array([4, 5]));
    }
  });

  it('a record overrunning a whole block is damage; a block of zeros with records after it is damage', () => {
    const full = writeLog(payloads([LOG_BLOCK_SIZE - 7 - 20]));
    const overrun = Uint8Array.from(physical(FULL, new Uint8Array(13)));
    overrun[4] = 200; // stated length 200, with 20 bytes left in the block
    const bad = concat(full, overrun, new Uint8Array(7), b);
    expect(scanLog(bad).damage).toMatchObject({ offset: LOG_BLOCK_SIZE - 20, reason: expect.stringMatching(/bad record length 200/) });
    // LevelDB skips a zero-headed block silently; classic-level's LevelDB never writes one.
    const wiped = concat(a, new Uint8Array(LOG_BLOCK_SIZE - a.length), b);
    expect(scanLog(wiped).damage).toMatchObject({ offset: a.length, reason: expect.stringMatching(/zero bytes to the end of the block/) });
    // Non-zero block padding: the writer pads with zeros.
    const padded = writeLog(payloads([LOG_BLOCK_SIZE - 7 - 3, 10]));
    padded[LOG_BLOCK_SIZE - 2] = 1;
    expect(scanLog(padded).damage).toMatchObject({ offset: LOG_BLOCK_SIZE - 2, reason: expect.stringMatching(/padding/) });
  });

  it('trouble with nothing after it is a torn tail, flagged where LevelDB reports it', () => {
    const cases: [string, Uint8Array, RegExp, number, boolean][] = [
      ['FIRST with no LAST', concat(a, physical(FIRST, new Uint8Array(5))), /no LAST fragment/, a.length, false],
      ['payload cut off', concat(a, b.subarray(0, 8)), /runs past the end of the file/, a.length, false],
      ['header cut off', concat(a, b.subarray(0, 3)), /header cut off/, a.length, false],
      ['zeros at the end', concat(a, new Uint8Array(100)), /100 zero bytes at the end of the file/, a.length, false],
      ['bad checksum in the last record', concat(a, Uint8Array.from(b).fill(0x77, 0, 1)), /checksum mismatch/, a.length, true],
    ];
    for (const [what, bytes, reason, offset, reported] of cases) {
      const scan = scanLog(bytes);
      expect(scan.damage, what).toBeUndefined();
      expect(scan.tornTail, what).toMatchObject({ offset, reason: expect.stringMatching(reason), reportedByLevelDb: reported });
      expect(
        scan.records.map((r) => r.offset),
        what,
      ).toEqual([0]);
    }
    // The tail of a fragmented record: the whole record is lost, from its FIRST.
    const spanning = writeLog(payloads([10, 50_000]));
    const lastFragment = LOG_BLOCK_SIZE + 7;
    expect(scanLog(flipFileBytes(spanning, lastFragment + 3)).tornTail).toMatchObject({
      offset: 17,
      reason: expect.stringMatching(/checksum mismatch at byte 32768, inside the record/),
    });
  });
});

function flipFileBytes(bytes: Uint8Array, at: number): Uint8Array {
  const copy = Uint8Array.from(bytes);
  copy[at]! ^= 0xff;
  return copy;
}

describe('a real write-ahead log', () => {
  let store: Store;
  let logName: string;
  let log: Uint8Array;
  let lastRecord: number;

  beforeAll(async () => {
    // Closed with everything still in the log: no memtable was ever flushed.
    store = await makeStore(dirs.fresh('store'), { batches: 80, seed: 3 });
    logName = filesOf(store.dir, (n) => n.endsWith('.log'))[0]!;
    log = readFileSync(join(store.dir, logName!));
    lastRecord = scanLog(log).records.at(-1)!.offset;
  });

  it('holds every batch as one record, spanning blocks, and checks clean', async () => {
    expect(log.length).toBeGreaterThan(8 * LOG_BLOCK_SIZE);
    const scan = scanLog(log);
    expect(scan.records).toHaveLength(80);
    expect(scan.damage).toBeUndefined();
    expect(scan.tornTail).toBeUndefined();
    expect(await checkStoreFiles(store.dir)).toMatchObject({ kind: 'store', problems: [], tornTails: [], logs: 1 });
  });

  it('a byte flipped anywhere before the last record is damage near it; in the last record, a torn tail', () => {
    const bytes = Uint8Array.from(log);
    const offsets = new Set<number>();
    for (let at = 0; at < 40; at++) offsets.add(at);
    for (let block = 0; block * LOG_BLOCK_SIZE < log.length; block++) for (const d of [0, 4, 6, 7, 1000]) offsets.add(block * LOG_BLOCK_SIZE + d);
    for (let at = 0; at < log.length; at += 4099) offsets.add(at);
    for (let at = lastRecord - 20; at < lastRecord + 200; at += 3) offsets.add(at);
    for (let at = lastRecord; at < log.length; at += 997) offsets.add(at);
    for (let at = log.length - 20; at < log.length; at++) offsets.add(at);
    for (const at of [...offsets].filter((o) => o >= 0 && o < log.length)) {
      bytes[at]! ^= 0xff;
      expectFlipVerdict(scanLog(bytes, { records: false }), at, lastRecord);
      bytes[at]! ^= 0xff;
    }
  });

  it('truncated anywhere, it is never damage: a crash loses a suffix, and every record before the cut is whole', () => {
    // A log is only ever appended to, so a cut leaves intact records followed
    // by at most one partial record: nothing valid can follow the trouble,
    // which is exactly a torn tail. (Whether writes were lost is the commit
    // mark's question, not this scan's.)
    const whole = scanLog(log).records;
    for (let cut = 0; cut < log.length; cut += 4909) {
      const scan = scanLog(log.subarray(0, cut));
      expect(scan.damage, `cut at ${cut}`).toBeUndefined();
      expect(scan.records.map((r) => r.offset)).toEqual(whole.slice(0, scan.records.length).map((r) => r.offset));
    }
  });

  it('through checkStoreFiles: flips are problems naming the log, a flip in the last record or a cut is a torn tail', async () => {
    const middle = Math.floor(log.length / 2);
    const lastBlock = Math.floor((lastRecord - 1) / LOG_BLOCK_SIZE) * LOG_BLOCK_SIZE;
    for (const at of [3, middle, Math.max(lastBlock, lastRecord - 50)]) {
      const dir = copyStore(store.dir, dirs.fresh('flip'));
      flipFile(join(dir, logName), at);
      const report = await checkStoreFiles(dir);
      expect(report.problems, `flip at ${at}`).toHaveLength(1);
      expect(report.problems[0]!.file).toBe(logName);
      expect(at - report.problems[0]!.offset!).toBeGreaterThanOrEqual(0);
      expect(at - report.problems[0]!.offset!).toBeLessThan(LOG_BLOCK_SIZE);
    }
    const inLast = copyStore(store.dir, dirs.fresh('flip'));
    flipFile(join(inLast, logName), log.length - 5);
    expect(await checkStoreFiles(inLast)).toMatchObject({ problems: [], tornTails: [{ file: logName, offset: lastRecord }] });
    const cut = copyStore(store.dir, dirs.fresh('cut'));
    truncateSync(join(cut, logName), middle);
    const report = await checkStoreFiles(cut);
    expect(report.problems).toEqual([]);
    expect(report.tornTails).toHaveLength(1);
    expect(report.tornTails[0]!.file).toBe(logName);
  });
});
