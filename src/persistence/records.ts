import { ClosedError, InvalidArgumentError } from '../errors.ts';
import type { Backend, KeyRange, WriteBatch } from './backend.ts';
import { prefixRange } from './backend.ts';
import { decodeStored } from './codec.ts';
import { idOfKey, recordKey } from './keys.ts';
import type { ResidentIndex } from './residentIndex.ts';

/**
 * A kind of record: a table, in Buildbot's terms. Its index entries are
 * derived from the record alone, so a write can diff old against new.
 */
export interface RecordKind<R> {
  readonly name: string;
  indexes(record: R): string[];
  /** Set when records are keyed by another kind's ids (so this kind has no counter). */
  readonly keyedBy?: string;
}

/** Reads of decoded records; the store and a transaction both provide it. */
export interface Reader {
  get<T>(key: string): Promise<T | undefined>;
  getMany<T>(keys: readonly string[]): Promise<(T | undefined)[]>;
  keys(range: KeyRange): Promise<string[]>;
}

/** Decoded records kept in memory that are exactly what the store holds for their keys (undefined: ask the store). */
export type DurableMemory = (key: string) => unknown;

/**
 * Reads straight from the store: only what has been written (and, at
 * 'sync', made durable). Records that `memory` already holds decoded (live
 * actors' snapshots) are taken from it rather than read and decoded again,
 * and so are the keys of `resident` indexes, which it keeps in step with
 * the writes it is told of (`written`).
 */
export class StoreReader implements Reader {
  private closed = false;
  constructor(
    private readonly backend: Backend,
    private readonly memory: DurableMemory = () => undefined,
    private readonly resident: readonly ResidentIndex[] = [],
  ) {}

  /** A write to the store is durable. */
  written(batch: WriteBatch): void {
    for (const index of this.resident) index.written(batch);
  }

  /** A write failed and may or may not have landed: what is held in memory is read again. */
  writeFailed(): void {
    for (const index of this.resident) index.forget();
  }

  /** Refuses every later read with ClosedError, rather than the store's own error. */
  close(): void {
    this.closed = true;
  }

  async get<T>(key: string): Promise<T | undefined> {
    this.assertOpen();
    const known = this.memory(key);
    if (known !== undefined) return known as T;
    const bytes = await this.backend.get(key);
    return bytes === undefined ? undefined : decodeStored<T>(key, bytes);
  }

  async getMany<T>(keys: readonly string[]): Promise<(T | undefined)[]> {
    this.assertOpen();
    const values = keys.map((key) => this.memory(key) as T | undefined);
    const missing: number[] = [];
    for (let i = 0; i < values.length; i++) if (values[i] === undefined) missing.push(i);
    if (missing.length === 0) return values;
    const bytes = await this.backend.getMany(missing.map((i) => keys[i]!));
    missing.forEach((i, n) => {
      const found = bytes[n];
      if (found !== undefined) values[i] = decodeStored<T>(keys[i]!, found);
    });
    return values;
  }

  async keys(range: KeyRange): Promise<string[]> {
    this.assertOpen();
    for (const index of this.resident) if (index.covers(range)) return index.keys(range);
    return this.backend.keys(range);
  }

  private assertOpen(): void {
    if (this.closed) throw new ClosedError('the coordinator is closed');
  }
}

export function readRecord<R>(reader: Reader, kind: RecordKind<R>, id: number): Promise<R | undefined> {
  return reader.get<R>(recordKey(kind.name, id));
}

/** The record of an id an argument names; InvalidArgumentError `<what> <id> does not exist` when there is none. */
export async function requireRecord<R>(reader: Reader, kind: RecordKind<R>, id: number, what: string): Promise<R> {
  const record = await readRecord(reader, kind, id);
  if (record === undefined) throw new InvalidArgumentError(`${what} ${id} does not exist`);
  return record;
}

/** Records for ids, in the same order; missing ones are left out. */
export async function readRecords<R>(reader: Reader, kind: RecordKind<R>, ids: readonly number[]): Promise<R[]> {
  const values = await reader.getMany<R>(ids.map((id) => recordKey(kind.name, id)));
  return values.filter((value): value is R => value !== undefined);
}

/** The ids that end the index keys under `prefix`, in key order. */
export async function idsUnder(reader: Reader, prefix: string, options: { reverse?: boolean; limit?: number } = {}): Promise<number[]> {
  const keys = await reader.keys(prefixRange(prefix, options));
  return keys.map(idOfKey);
}

/** The id of the first index entry under `prefix`: a lookup in a unique index. */
export async function firstIdUnder(reader: Reader, prefix: string): Promise<number | undefined> {
  const [id] = await idsUnder(reader, prefix, { limit: 1 });
  return id;
}
