/**
 * LevelDB's WriteBatch, as each write-ahead log record holds one: an 8-byte
 * sequence number and a 4-byte count (both little-endian), then per
 * operation a tag (1 put, 0 delete), a length-prefixed key and, for a put, a
 * length-prefixed value. Read so that a store's newest commit can be found
 * in its log before LevelDB replays (and may drop) it.
 */
import { ByteReader, FormatError, fixed32 } from './varint.ts';

export interface BatchOperation {
  key: Uint8Array;
  /** null for a delete. */
  value: Uint8Array | null;
}

/** The operations of one batch; throws a FormatError on a batch that does not parse. */
export function* batchOperations(record: Uint8Array): Generator<BatchOperation> {
  if (record.length < 12) throw new FormatError(`write batch of ${record.length} bytes is shorter than its header`, 0);
  const count = fixed32(record, 8);
  const r = new ByteReader(record, 12);
  for (let i = 0; i < count; i++) {
    const at = r.pos;
    const tag = record[r.pos++];
    if (tag === 1) yield { key: r.lengthPrefixed('write batch key'), value: r.lengthPrefixed('write batch value') };
    else if (tag === 0) yield { key: r.lengthPrefixed('write batch key'), value: null };
    else throw new FormatError(`write batch entry ${i} has unknown tag ${String(tag)}`, at);
  }
}
