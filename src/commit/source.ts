/**
 * Where a transaction reads what no undurable write holds, and where its
 * new ids come from. On a store of our own nobody else writes, so reads go
 * to the store and ids to counters kept in memory; on a shared store every
 * read is recorded with the version seen, to be checked when its group
 * commits, and ids come from the store's sequences.
 */
import type { KeyRange } from '../persistence/backend.ts';
import { prefixRange } from '../persistence/backend.ts';
import { decodeStored } from '../persistence/codec.ts';
import { counterKey, recordPrefix } from '../persistence/keys.ts';
import type { Reader } from '../persistence/records.ts';
import type { SharedBackend, Version } from '../persistence/shared/contract.ts';
import { ReadSet } from '../persistence/shared/readSet.ts';

/** What a command read, with the versions seen (see ReadSet). */
export interface ReadLog {
  point(key: string, version: Version | null): void;
  range(gte: string, lt: string, keys: readonly string[], limit: number | undefined, reverse: boolean): void;
}

/** What a transaction asks of a source; it passes itself for the reads and writes that taking ids makes. */
export interface IdTaker {
  keys(range: KeyRange): Promise<string[]>;
  put(key: string, value: unknown): void;
}

export interface Source {
  /** The version this command's writes carry (null on a store of our own, which has none). */
  readonly version: Version | null;
  /** Where the command's reads are recorded. */
  readonly reads: ReadLog;
  getMany<T>(keys: readonly string[]): Promise<(T | undefined)[]>;
  keys(range: KeyRange): Promise<string[]>;
  /** `count` new ids of a kind, increasing, never handed out again. */
  takeIds(kind: string, count: number, tx: IdTaker): Promise<number[]>;
  /** Makes the command depend on the newest record of a kind (so an id it takes is above it at commit). */
  readNewest(kind: string, tx: IdTaker): Promise<void>;
}

/** The id counters, one per kind, always ahead of every id in the store. */
export type Counters = Map<string, number>;

const NO_READS: ReadLog = { point() {}, range() {} };

/** A store only this coordinator writes. */
export class OwnStoreSource implements Source {
  readonly version = null;
  readonly reads = NO_READS;

  constructor(
    private readonly store: Reader,
    private readonly counters: Counters,
  ) {}

  getMany<T>(keys: readonly string[]): Promise<(T | undefined)[]> {
    return this.store.getMany<T>(keys);
  }

  keys(range: KeyRange): Promise<string[]> {
    return this.store.keys(range);
  }

  async takeIds(kind: string, count: number, tx: IdTaker): Promise<number[]> {
    const first = (this.counters.get(kind) ?? 0) + 1;
    const ids = Array.from({ length: count }, (_, i) => first + i);
    if (count > 0) {
      this.counters.set(kind, first + count - 1);
      tx.put(counterKey(kind), first + count - 1);
    }
    return ids;
  }

  async readNewest(): Promise<void> {} // nobody else adds records: the counter is ahead of them all
}

/** A store other coordinators write too: one command's reads, recorded, and its writes' version. */
export class SharedStoreSource implements Source {
  readonly reads = new ReadSet();

  constructor(
    private readonly backend: SharedBackend,
    private readonly store: Reader,
    readonly version: Version,
  ) {}

  async getMany<T>(keys: readonly string[]): Promise<(T | undefined)[]> {
    const found = await this.backend.getVersioned(keys);
    return keys.map((key, i) => {
      const entry = found[i];
      this.reads.point(key, entry?.version ?? null);
      return entry === undefined ? undefined : decodeStored<T>(key, entry.bytes);
    });
  }

  keys(range: KeyRange): Promise<string[]> {
    return this.store.keys(range);
  }

  takeIds(kind: string, count: number): Promise<number[]> {
    return count === 0 ? Promise.resolve([]) : this.backend.nextIds(kind, count);
  }

  /** A newer id committed by another writer first makes this command decide again (changes: the newest by id). */
  async readNewest(kind: string, tx: IdTaker): Promise<void> {
    await tx.keys(prefixRange(recordPrefix(kind), { reverse: true, limit: 1 }));
  }
}
