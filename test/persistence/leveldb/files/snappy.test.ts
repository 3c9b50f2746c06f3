import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SnappyError, snappyDecompress, snappyLength } from '../../../../src/persistence/leveldb/files/snappy.ts';
import { type BlockHandle, decodeHandle, FOOTER_SIZE, parseBlock, readBlock, readFooter } from '../../../../src/persistence/leveldb/files/table.ts';
import { filesOf, flipped, makeStore, rng, type Store, scratch } from './stores.ts';

const dirs = scratch('snappy');
afterAll(dirs.cleanup);

interface StoredBlock {
  what: string;
  compressed: Uint8Array;
}

let store: Store;
/** Every block classic-level stored snappy-compressed (type 1), with where it is. */
const compressed: StoredBlock[] = [];
/** Entries of every data block, decompressed by us. */
const entries = new Map<string, Uint8Array>();

beforeAll(async () => {
  store = await makeStore(dirs.fresh('store'), { batches: 600, compact: true, seed: 11 });
  for (const name of filesOf(store.dir, (n) => n.endsWith('.ldb'))) {
    const bytes = readFileSync(join(store.dir, name));
    const limit = bytes.length - FOOTER_SIZE;
    const footer = readFooter(bytes);
    const keep = (handle: BlockHandle, what: string) => {
      const raw = readBlock(bytes, handle, what, limit, false);
      if (raw.compression === 1) compressed.push({ what: `${name} ${what}`, compressed: raw.contents });
      return readBlock(bytes, handle, what, limit).contents;
    };
    const index = parseBlock(keep(footer.index, 'index block'));
    keep(footer.metaindex, 'metaindex block');
    for (const [i, entry] of index.entries()) {
      for (const { key, value } of parseBlock(keep(decodeHandle(entry.value), `data block ${i}`))) {
        // Internal key: the user key, then 8 bytes of sequence and type.
        entries.set(Buffer.from(key.subarray(0, key.length - 8)).toString('utf8'), value);
      }
    }
  }
});

describe('snappy', () => {
  it('decompresses the blocks classic-level compressed, to exactly the values written', () => {
    expect(compressed.filter((b) => b.what.includes('data block')).length).toBeGreaterThan(10);
    // LevelDB compresses index blocks too; a checker that cannot read them cannot find the data blocks.
    expect(compressed.some((b) => b.what.endsWith(' index block'))).toBe(true);
    for (const block of compressed) {
      const out = snappyDecompress(block.compressed);
      expect(out.length, block.what).toBe(snappyLength(block.compressed).length);
      expect(() => parseBlock(out), block.what).not.toThrow();
    }
    // Every key with its newest value, through blocks both stored plain and compressed.
    expect(entries.size).toBe(store.written.size);
    for (const [key, value] of store.written) expect(Buffer.compare(Buffer.from(entries.get(key)!), Buffer.from(value)), key).toBe(0);
  });

  it('decodes literals and overlapping copies of each element kind', () => {
    // Length 12; literal "abc"; a copy-1 element (length 4 + 5, offset 3) repeating it.
    const stream = Uint8Array.from([12, 2 << 2, 97, 98, 99, 0b000_101_01, 3]);
    expect(Buffer.from(snappyDecompress(stream)).toString()).toBe('abcabcabcabc');
    // copy-2 and copy-4 elements: len = (tag >> 2) + 1.
    expect(Buffer.from(snappyDecompress(Uint8Array.from([6, 1 << 2, 120, 121, (3 << 2) | 2, 2, 0]))).toString()).toBe('xyxyxy');
    expect(Buffer.from(snappyDecompress(Uint8Array.from([5, 0, 122, (3 << 2) | 3, 1, 0, 0, 0]))).toString()).toBe('zzzzz');
    // A literal whose length sits in the byte after the tag (tag 60).
    const long = Uint8Array.from([70, 60 << 2, 69, ...new Uint8Array(70).fill(33)]);
    expect(snappyDecompress(long)).toEqual(new Uint8Array(70).fill(33));
    expect(snappyDecompress(Uint8Array.from([0]))).toEqual(new Uint8Array(0));
  });

  it('throws on malformed input instead of looping, overrunning or allocating', () => {
    const bad: [string, number[]][] = [
      ['empty', []],
      ['length prefix cut off', [0x80]],
      ['length prefix too long', [0x80, 0x80, 0x80, 0x80, 0x80, 0x01]],
      ['4 GB stated in 6 bytes', [0xff, 0xff, 0xff, 0xff, 0x0f, 0]],
      ['copy before anything', [4, 0b000_000_01, 1]],
      ['copy with offset 0', [8, 0, 97, 0b000_000_01, 0]],
      ['copy reaching before the start', [8, 0, 97, 0b000_000_01, 2]],
      ['literal past the input', [10, 9 << 2, 1, 2]],
      ['literal past the stated length', [1, 1 << 2, 1, 2]],
      ['copy past the stated length', [4, 0, 97, 0b000_111_01, 1]],
      ['short of the stated length', [5, 0, 97]],
      ['copy element cut off', [8, 0, 97, 0b10]],
      ['literal length bytes cut off', [8, 62 << 2, 1]],
    ];
    for (const [what, bytes] of bad) expect(() => snappyDecompress(Uint8Array.from(bytes)), what).toThrow(SnappyError);
    expect(() => snappyDecompress(Uint8Array.from([100, 0, 1]), 50)).toThrow(/exceeds the limit/);
  });

  it('throws on truncated or random bytes, and on damaged blocks either throws or keeps to the stated length', () => {
    const block = compressed.find((b) => b.compressed.length > 500)!.compressed;
    for (let cut = 0; cut < block.length; cut += 7) expect(() => snappyDecompress(block.subarray(0, cut))).toThrow(SnappyError);
    const next = rng(5);
    let threw = 0;
    for (let i = 0; i < 2000; i++) {
      const garbage = Uint8Array.from({ length: 1 + Math.floor(next() * 300) }, () => Math.floor(next() * 256));
      try {
        snappyDecompress(garbage);
      } catch (error) {
        expect(error).toBeInstanceOf(SnappyError);
        threw++;
      }
    }
    expect(threw).toBeGreaterThan(1990);
    for (let at = 0; at < block.length; at += 3) {
      const damaged = flipped(block, at);
      try {
        expect(snappyDecompress(damaged).length).toBe(snappyLength(damaged).length);
      } catch (error) {
        expect(error).toBeInstanceOf(SnappyError);
      }
    }
  });
});
