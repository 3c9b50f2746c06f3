import { appendFileSync, copyFileSync, readFileSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readManifest } from '../../../../src/persistence/leveldb/files/manifest.ts';
import { checkStoreFiles } from '../../../../src/persistence/leveldb/files/storeFiles.ts';
import { type BlockHandle, checkTable, decodeHandle, FOOTER_SIZE, parseBlock, readBlock, readFooter } from '../../../../src/persistence/leveldb/files/table.ts';
import { copyStore, filesOf, flipFile, flipped, makeStore, rng, type Store, scratch, sizeOf } from './stores.ts';

const dirs = scratch('table');
afterAll(dirs.cleanup);

interface Layout {
  data: BlockHandle[];
  meta: { name: string; handle: BlockHandle }[];
  index: BlockHandle;
  metaindex: BlockHandle;
  footer: number;
}

/** Where every block of a table is, read through our own reader. */
function layout(bytes: Uint8Array): Layout {
  const footer = readFooter(bytes);
  const limit = bytes.length - FOOTER_SIZE;
  const data = parseBlock(readBlock(bytes, footer.index, 'index', limit).contents).map((e) => decodeHandle(e.value));
  const meta = parseBlock(readBlock(bytes, footer.metaindex, 'metaindex', limit).contents).map((e) => ({ name: Buffer.from(e.key).toString(), handle: decodeHandle(e.value) }));
  return { data, meta, index: footer.index, metaindex: footer.metaindex, footer: limit };
}

let store: Store;
/** The live tables, as the MANIFEST lists them. */
let tables: string[];
let biggest: string;

beforeAll(async () => {
  // Over 10 MB through a small write buffer: many tables, over several levels.
  store = await makeStore(dirs.fresh('store'), { batches: 900, writeBufferSize: 512 * 1024, seed: 5, tail: 20 });
  const manifest = readManifest(readFileSync(join(store.dir, filesOf(store.dir, (n) => n.startsWith('MANIFEST-'))[0]!)));
  tables = manifest.state.tables.map((t) => `${String(t.number).padStart(6, '0')}.ldb`);
  biggest = tables.reduce((a, b) => (sizeOf(join(store.dir, a)) >= sizeOf(join(store.dir, b)) ? a : b));
});

describe('checking tables', () => {
  it('an undamaged store of many tables over several levels checks clean, deep parse included', async () => {
    const manifest = readManifest(readFileSync(join(store.dir, filesOf(store.dir, (n) => n.startsWith('MANIFEST-'))[0]!)));
    expect(new Set(manifest.state.tables.map((t) => t.level)).size).toBeGreaterThanOrEqual(2);
    expect(tables.length).toBeGreaterThanOrEqual(5);
    const report = await checkStoreFiles(store.dir);
    expect(report).toMatchObject({ kind: 'store', problems: [], tornTails: [], tables: tables.length });
    expect(report.bytesChecked).toBeGreaterThan(10e6);
    for (const name of tables) {
      const bytes = readFileSync(join(store.dir, name));
      const check = checkTable(bytes, bytes.length, { deep: true });
      expect(check.problems, name).toEqual([]);
      expect(check.dataBlocks).toBe(layout(bytes).data.length);
    }
  });

  it('a byte flipped in any block, trailer or the footer is a problem at that block', () => {
    const bytes = readFileSync(join(store.dir, biggest));
    const { data, meta, index, metaindex, footer } = layout(bytes);
    expect(data.length).toBeGreaterThan(100);
    expect(meta.map((m) => m.name)).toEqual(['filter.leveldb.BuiltinBloomFilter2']);
    const next = rng(9);
    const blocks: [string, BlockHandle][] = [
      ...data.map((h, i) => [`data block ${i}`, h] as [string, BlockHandle]),
      ['filter', meta[0]!.handle],
      ['index', index],
      ['metaindex', metaindex],
    ];
    for (const [what, handle] of blocks) {
      const end = handle.offset + handle.size + 5;
      // A random byte of the block, and one of its trailer (type or checksum) in turn.
      const spots = new Set([handle.offset + Math.floor(next() * handle.size), end - 5 + (handle.offset % 5)]);
      if (!what.startsWith('data')) for (let at = handle.offset; at < end; at += 97) spots.add(at);
      for (const at of spots) {
        bytes[at]! ^= 0xff;
        const problems = checkTable(bytes, bytes.length).problems;
        bytes[at]! ^= 0xff;
        expect(problems.length, `${what}, byte ${at}`).toBeGreaterThan(0);
        const offset = problems[0]!.offset!;
        // Data and filter damage is found at that block; index damage may surface at a block it now misplaces.
        if (what.startsWith('data') || what === 'filter') expect(offset, `${what}, byte ${at}`).toBe(handle.offset);
      }
    }
    for (let at = footer; at < bytes.length; at++) {
      expect(checkTable(flipped(bytes, at), bytes.length).problems.length, `footer byte ${at - footer}`).toBeGreaterThan(0);
    }
  });

  it('a cut, lengthened, deleted or renamed table is named; an orphan table is ignored', async () => {
    const name = biggest;
    const size = sizeOf(join(store.dir, name));
    const cut = copyStore(store.dir, dirs.fresh('cut'));
    truncateSync(join(cut, name), size - 1000);
    expect((await checkStoreFiles(cut)).problems).toEqual([{ file: name, offset: size - 1000, reason: `file is ${size - 1000} bytes, the MANIFEST records ${size}` }]);
    // Without the recorded size, a cut table has no footer.
    expect(checkTable(readFileSync(join(cut, name))).problems[0]!.reason).toMatch(/bad magic number/);

    const longer = copyStore(store.dir, dirs.fresh('longer'));
    appendFileSync(join(longer, name), 'x');
    expect((await checkStoreFiles(longer)).problems).toMatchObject([{ file: name, reason: expect.stringMatching(/MANIFEST records/) }]);

    const gone = copyStore(store.dir, dirs.fresh('gone'));
    rmSync(join(gone, name));
    expect((await checkStoreFiles(gone)).problems).toMatchObject([
      { file: name, reason: expect.stringMatching(/^missing, though MANIFEST-\d+ lists it as a live table at level \d/) },
    ]);

    // TableCache falls back to the old .sst name; an orphan LevelDB would delete is no concern.
    const other = copyStore(store.dir, dirs.fresh('other'));
    renameSync(join(other, name), join(other, name.replace('.ldb', '.sst')));
    copyFileSync(join(other, tables[0]!), join(other, '999999.ldb'));
    writeFileSync(join(other, '888888.ldb'), 'not a table');
    expect(await checkStoreFiles(other)).toMatchObject({ problems: [], tables: tables.length });
  });

  it('through checkStoreFiles: damage in a data block, the index and the footer each names the table', async () => {
    const bytes = readFileSync(join(store.dir, biggest));
    const { data, index, footer } = layout(bytes);
    for (const at of [data[3]!.offset + 10, index.offset + 2, footer + 1, bytes.length - 1]) {
      const dir = copyStore(store.dir, dirs.fresh('flip'));
      flipFile(join(dir, biggest), at);
      const report = await checkStoreFiles(dir);
      expect(report.problems, `byte ${at}`).toHaveLength(1);
      expect(report.problems[0]!.file).toBe(biggest);
      expect(report.problems[0]!.offset).toBeLessThan(bytes.length);
    }
  });
});
