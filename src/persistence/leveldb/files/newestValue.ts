/**
 * The newest value of one key as a store's files hold it, read without
 * LevelDB: from the logs DBImpl::Recover would replay (newest last), else
 * from the live tables (the entry with the highest sequence number). Lets
 * a store's newest commit be compared with its commit mark before LevelDB
 * recovers the log, and so drops, for good, whatever it cannot read.
 * Given the version checkStoreFiles read, once it found the files whole.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { scanLog } from './logFile.ts';
import { logsToReplay } from './manifest.ts';
import type { LiveVersion } from './storeFiles.ts';
import { decodeHandle, parseBlock, readBlock, readFooter } from './table.ts';
import { batchOperations } from './writeBatch.ts';

export interface StoredValue {
  /** The value; null when the newest entry deletes the key. */
  value: Uint8Array | null;
  /** The file it was read from. */
  file: string;
}

const TABLE = /^(\d+)\.(ldb|sst)$/;

export async function newestValue(directory: string, key: string, { state, names }: LiveVersion): Promise<StoredValue | null> {
  const target = new TextEncoder().encode(key);

  const logs = logsToReplay(names, state).reverse(); // newest first
  for (const { name } of logs) {
    let found: StoredValue | null = null;
    for (const { data } of scanLog(await readFile(join(directory, name)), { records: true }).records) {
      for (const op of batchOperations(data)) if (equal(op.key, target)) found = { value: op.value, file: name };
    }
    if (found !== null) return found;
  }

  let newest: { sequence: bigint; found: StoredValue } | null = null;
  const live = new Set(state.tables.map((table) => table.number));
  for (const name of names) {
    const match = TABLE.exec(name);
    if (match === null || !live.has(Number(match[1]))) continue;
    const entry = inTable(await readFile(join(directory, name)), target);
    if (entry !== null && (newest === null || entry.sequence > newest.sequence)) newest = { sequence: entry.sequence, found: { value: entry.value, file: name } };
  }
  return newest?.found ?? null;
}

/** The newest entry for a user key in one table: internal keys sort by user key, then by sequence descending. */
function inTable(bytes: Uint8Array, target: Uint8Array): { sequence: bigint; value: Uint8Array | null } | null {
  const footer = readFooter(bytes);
  const limit = bytes.length - 48;
  const index = parseBlock(readBlock(bytes, footer.index, 'index block', limit).contents);
  for (const { key: separator, value: handle } of index) {
    if (compare(userKey(separator), target) < 0) continue; // every key of this block is below the target
    for (const { key, value } of parseBlock(readBlock(bytes, decodeHandle(handle), 'data block', limit).contents)) {
      const order = compare(userKey(key), target);
      if (order < 0) continue;
      if (order > 0) return null;
      const trailer = new DataView(key.buffer, key.byteOffset + key.length - 8, 8).getBigUint64(0, true);
      return { sequence: trailer >> 8n, value: (trailer & 0xffn) === 1n ? value : null };
    }
    return null; // the block ran out past the target's place, so no later block holds it
  }
  return null;
}

const userKey = (internal: Uint8Array) => internal.subarray(0, internal.length - 8);

function compare(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && compare(a, b) === 0;
}
