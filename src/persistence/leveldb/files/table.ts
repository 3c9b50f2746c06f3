/**
 * Checking a LevelDB table file (*.ldb, older *.sst; doc/table_format.md).
 *
 * LevelDB as classic-level opens it reads tables with verify_checksums off,
 * so a damaged block is found, if ever, mid-read or mid-compaction. Here every
 * block the file holds is found through its footer, metaindex and index and
 * has its trailer's checksum verified: blocks whose checksum holds are exactly
 * what LevelDB wrote, so the rest of the check only needs to read the index
 * and metaindex blocks themselves.
 */
import { readFile } from 'node:fs/promises';
import { crc32c, unmaskCrc } from './crc32c.ts';
import { snappyDecompress } from './snappy.ts';
import { ByteReader, FormatError, fixed32 } from './varint.ts';

export const FOOTER_SIZE = 48;
export const BLOCK_TRAILER_SIZE = 5;
const MAGIC_LO = 0x8b80fb57;
const MAGIC_HI = 0xdb477524;
const NO_COMPRESSION = 0;
const SNAPPY = 1;

export interface BlockHandle {
  offset: number;
  size: number;
}

export interface TableProblem {
  offset?: number;
  reason: string;
}

export interface TableCheck {
  problems: TableProblem[];
  dataBlocks: number;
  /** Bytes whose checksum was verified. */
  bytesChecked: number;
}

export interface TableCheckOptions {
  /**
   * Also decompress and parse every data block. Slower, and a block whose
   * checksum holds is already what LevelDB wrote; for tests and audits.
   */
  deep?: boolean;
}

/** A problem with a table's structure, at an offset in the file. */
export class TableError extends Error {
  override name = 'TableError';
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

export interface Footer {
  metaindex: BlockHandle;
  index: BlockHandle;
}

/** Decodes the footer at the end of `bytes` (the table's first `bytes.length` bytes as LevelDB sees them). */
export function readFooter(bytes: Uint8Array): Footer {
  const start = bytes.length - FOOTER_SIZE;
  if (start < 0) throw new TableError(`${bytes.length} bytes is too short for a table's ${FOOTER_SIZE}-byte footer`, 0);
  if (fixed32(bytes, start + 40) !== MAGIC_LO || fixed32(bytes, start + 44) !== MAGIC_HI) {
    throw new TableError('bad magic number in the footer: not a table', start + 40);
  }
  const r = new ByteReader(bytes, start, start + 40);
  try {
    const metaindex = { offset: r.varint64('metaindex handle'), size: r.varint64('metaindex handle') };
    const index = { offset: r.varint64('index handle'), size: r.varint64('index handle') };
    // Footer::EncodeTo pads the handles with zeros to 40 bytes.
    for (let at = r.pos; at < start + 40; at++) {
      if (bytes[at] !== 0) throw new TableError('non-zero byte in the footer padding', at);
    }
    return { metaindex, index };
  } catch (error) {
    if (error instanceof FormatError) throw new TableError(`bad footer (${error.message})`, error.at);
    throw error;
  }
}

export interface Block {
  /** The block's contents, decompressed. */
  contents: Uint8Array;
  /** The compression type byte from its trailer. */
  compression: number;
}

/**
 * Reads the block at `handle` as ReadBlock does with verify_checksums on: in
 * bounds (before `limit`), trailer checksum, known compression. Decompresses
 * only when `decompress`; otherwise `contents` is the stored bytes.
 */
export function readBlock(bytes: Uint8Array, handle: BlockHandle, what: string, limit: number, decompress = true): Block {
  const { offset, size } = handle;
  if (offset + size + BLOCK_TRAILER_SIZE > limit) {
    throw new TableError(`${what} (${size} bytes at byte ${offset}) reaches past the ${limit} bytes before the footer`, Math.min(offset, limit));
  }
  const typeAt = offset + size;
  if (crc32c(bytes, offset, typeAt + 1) !== unmaskCrc(fixed32(bytes, typeAt + 1))) {
    throw new TableError(`${what} checksum mismatch`, offset);
  }
  const compression = bytes[typeAt]!;
  const stored = bytes.subarray(offset, typeAt);
  if (compression === NO_COMPRESSION) return { contents: stored, compression };
  if (compression !== SNAPPY) throw new TableError(`${what} has unknown compression type ${compression}`, typeAt);
  if (!decompress) return { contents: stored, compression };
  try {
    return { contents: snappyDecompress(stored), compression };
  } catch (error) {
    throw new TableError(`${what} does not decompress (${(error as Error).message})`, offset);
  }
}

export interface BlockEntry {
  key: Uint8Array;
  value: Uint8Array;
}

/**
 * Parses a block's entries (keys prefix-compressed against the one before)
 * and checks its restart array; throws a FormatError with the position in
 * `contents`.
 */
export function parseBlock(contents: Uint8Array): BlockEntry[] {
  const size = contents.length;
  if (size < 4) throw new FormatError(`block of ${size} bytes has no restart count`, 0);
  const restarts = fixed32(contents, size - 4);
  if (restarts > (size - 4) / 4) throw new FormatError(`restart count ${restarts} does not fit the block`, size - 4);
  const restartsAt = size - 4 * (restarts + 1);
  for (let i = 0; i < restarts; i++) {
    const at = restartsAt + 4 * i;
    if (fixed32(contents, at) >= Math.max(restartsAt, 1)) throw new FormatError(`restart point ${i} lies outside the entries`, at);
  }
  const entries: BlockEntry[] = [];
  const r = new ByteReader(contents, 0, restartsAt);
  let key = new Uint8Array(0);
  while (!r.done) {
    const at = r.pos;
    const shared = r.varint32('entry');
    const unshared = r.varint32('entry');
    const valueLength = r.varint32('entry');
    if (shared > key.length) throw new FormatError(`entry shares ${shared} bytes of a ${key.length}-byte key`, at);
    if (unshared + valueLength > restartsAt - r.pos) throw new FormatError('entry runs past the restart array', at);
    const next = new Uint8Array(shared + unshared);
    next.set(key.subarray(0, shared));
    next.set(contents.subarray(r.pos, r.pos + unshared), shared);
    key = next;
    r.pos += unshared;
    entries.push({ key, value: contents.subarray(r.pos, r.pos + valueLength) });
    r.pos += valueLength;
  }
  return entries;
}

/** Decodes an index or metaindex value: a BlockHandle. */
export function decodeHandle(value: Uint8Array): BlockHandle {
  const r = new ByteReader(value);
  return { offset: r.varint64('block handle'), size: r.varint64('block handle') };
}

// FilterBlockBuilder: filters, their uint32 offsets, the offsets' start, base lg.
function checkFilter(contents: Uint8Array): string | undefined {
  const n = contents.length;
  if (n < 5) return `filter block of ${n} bytes is too short`;
  const arrayAt = fixed32(contents, n - 5);
  if (arrayAt > n - 5 || (n - 5 - arrayAt) % 4 !== 0) return 'filter block offset array out of place';
  let previous = 0;
  for (let at = arrayAt; at < n - 5; at += 4) {
    const offset = fixed32(contents, at);
    if (offset < previous || offset > arrayAt) return `filter offset at its byte ${at} out of order`;
    previous = offset;
  }
  return undefined;
}

/** Checks one table's bytes; `expectedSize` is the size the MANIFEST records for it. */
export function checkTable(bytes: Uint8Array, expectedSize?: number, options: TableCheckOptions = {}): TableCheck {
  const check: TableCheck = { problems: [], dataBlocks: 0, bytesChecked: 0 };
  const problem = (offset: number | undefined, reason: string): TableCheck => {
    check.problems.push(offset === undefined ? { reason } : { offset, reason });
    return check;
  };
  let table = bytes;
  if (expectedSize !== undefined && bytes.length !== expectedSize) {
    problem(Math.min(bytes.length, expectedSize), `file is ${bytes.length} bytes, the MANIFEST records ${expectedSize}`);
    if (bytes.length < expectedSize) return check;
    // LevelDB reads only the recorded size (the footer sits at its end): check that.
    table = bytes.subarray(0, expectedSize);
  }
  try {
    const footer = readFooter(table);
    const limit = table.length - FOOTER_SIZE;
    const blockBytes = (handle: BlockHandle) => handle.size + BLOCK_TRAILER_SIZE;

    // Every block read, so that they can be shown to fill the file.
    const extents: BlockHandle[] = [footer.index, footer.metaindex];
    const index = readBlock(table, footer.index, 'index block', limit);
    check.bytesChecked += blockBytes(footer.index);
    const metaindex = readBlock(table, footer.metaindex, 'metaindex block', limit);
    check.bytesChecked += blockBytes(footer.metaindex);
    const entries = (block: Block, handle: BlockHandle, what: string) => {
      try {
        return parseBlock(block.contents);
      } catch (error) {
        if (!(error instanceof FormatError)) throw error;
        // A position inside decompressed contents is no file offset.
        const at = handle.offset + (block.compression === NO_COMPRESSION ? error.at : 0);
        throw new TableError(`${what}: ${error.message}`, at);
      }
    };
    const handleOf = (entry: BlockEntry, what: string, at: number) => {
      try {
        return decodeHandle(entry.value);
      } catch (error) {
        if (error instanceof FormatError) throw new TableError(`${what}: ${error.message}`, at);
        throw error;
      }
    };

    for (const entry of entries(metaindex, footer.metaindex, 'metaindex block')) {
      const name = new TextDecoder().decode(entry.key);
      const handle = handleOf(entry, `metaindex entry ${JSON.stringify(name)}`, footer.metaindex.offset);
      extents.push(handle);
      const block = readBlock(table, handle, `meta block ${JSON.stringify(name)}`, limit);
      check.bytesChecked += blockBytes(handle);
      if (name.startsWith('filter.')) {
        const fault = checkFilter(block.contents);
        if (fault) problem(handle.offset, fault);
      }
    }

    // Every data block; the first bad one is reported, with a count of the rest.
    let first: TableError | undefined;
    let bad = 0;
    for (const entry of entries(index, footer.index, 'index block')) {
      const handle = handleOf(entry, 'index entry', footer.index.offset);
      extents.push(handle);
      const what = `data block ${check.dataBlocks}`;
      check.dataBlocks++;
      try {
        const block = readBlock(table, handle, what, limit, options.deep ?? false);
        check.bytesChecked += blockBytes(handle);
        if (options.deep) entries(block, handle, what);
      } catch (error) {
        if (!(error instanceof TableError)) throw error;
        first ??= error;
        bad++;
      }
    }
    if (first) problem(first.offset, bad > 1 ? `${first.message} (and ${bad - 1} more bad data blocks)` : first.message);

    // TableBuilder writes its blocks back to back, so they fill the file up
    // to the footer: then no byte escapes every checksum.
    if (check.problems.length === 0) {
      let end = 0;
      for (const extent of extents.sort((a, b) => a.offset - b.offset)) {
        if (extent.offset !== end) {
          throw new TableError(
            extent.offset > end ? `bytes ${end} to ${extent.offset} belong to no block` : `blocks overlap at byte ${extent.offset}`,
            Math.min(end, extent.offset),
          );
        }
        end = extent.offset + blockBytes(extent);
      }
      if (end !== limit) throw new TableError(`bytes ${end} to ${limit} belong to no block`, end);
    }
  } catch (error) {
    if (!(error instanceof TableError)) throw error;
    problem(error.offset, error.message);
  }
  check.bytesChecked += Math.min(FOOTER_SIZE, table.length);
  return check;
}

/** Reads and checks one table file. */
export async function checkTableFile(path: string, expectedSize?: number, options: TableCheckOptions = {}): Promise<TableCheck> {
  return checkTable(await readFile(path), expectedSize, options);
}
