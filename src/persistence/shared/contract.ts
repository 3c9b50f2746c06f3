/**
 * What a store shared by several coordinators offers beyond `Backend`
 * (PostgreSQL, and a stand-in in memory for tests). Every value carries a
 * version: a token chosen by the command that wrote it, unique across all
 * writers. A group of commands commits in one serializable transaction
 * that reads back the versions its commands decided on and keeps only the
 * commands whose reads still hold (see actors/readSet.ts).
 */
import type { Backend } from '../backend.ts';

/** A write's version token: decimal digits of a bigint, unique across every writer of the store. */
export type Version = string;

export interface Versioned {
  bytes: Uint8Array;
  version: Version;
}

/** A read-and-write view of the store inside one commit transaction. */
export interface CommitTransaction {
  /** The current version of each key present (absent keys are left out). */
  versions(keys: readonly string[]): Promise<Map<string, Version>>;
  /** The keys now in each range [gte, lt), in key order. */
  rangeKeys(ranges: readonly { gte: string; lt: string }[]): Promise<string[][]>;
  /** Puts and deletes, each put with the version of the command that made it. */
  write(puts: readonly [string, Uint8Array, Version][], deletes: readonly string[]): Promise<void>;
}

/** The store as of one instant, read while others write on (verify, stats, the live view). */
export interface SnapshotView extends Pick<Backend, 'get' | 'getMany' | 'keys' | 'entries'> {
  /** The last id handed out for a kind (0 if none). */
  lastId(kind: string): Promise<number>;
}

export interface SharedBackend extends Backend {
  readonly shared: true;
  /** Values with their versions, in the order of `keys`. */
  getVersioned(keys: readonly string[]): Promise<(Versioned | undefined)[]>;
  /** `count` new ids of a kind, increasing, from a sequence every writer shares; never handed out again. */
  nextIds(kind: string, count: number): Promise<number[]>;
  /** A number no other writer of this store has or will have: the high part of this writer's version tokens. */
  newWriter(): Promise<number>;
  /**
   * Runs `work` in one serializable transaction and commits it. `work` may
   * run again (a serialization failure, a connection lost before COMMIT), so
   * it must decide from what it reads, not from a previous run. A commit
   * whose answer was lost is resolved by reading back whether it landed;
   * StorageError when that cannot be known or the store stays unreachable.
   */
  transact<T>(work: (tx: CommitTransaction) => Promise<T>): Promise<T>;
  /** The store's clock, in milliseconds since the epoch. */
  serverTime(): Promise<number>;
  /** Runs `work` on a read-only snapshot of the store (every read sees the same instant). */
  readSnapshot<T>(work: (view: SnapshotView) => Promise<T>): Promise<T>;
}

export function isShared(backend: Backend): backend is SharedBackend {
  return (backend as Partial<SharedBackend>).shared === true;
}

/** Tokens for one writer: `writer << 32 | n`, renewed from the store before n runs out. */
export class VersionSource {
  private high = 0n;
  private next = 0;
  private renewing = false;

  constructor(
    private readonly backend: SharedBackend,
    writer: number,
  ) {
    this.high = BigInt(writer) << 32n;
  }

  take(): Version {
    const n = this.next++;
    if (n >= 2 ** 31 && !this.renewing) this.renew(); // half used: fetch the next writer number in good time
    if (n >= 2 ** 32) throw new Error('version tokens exhausted before a new writer number arrived');
    return (this.high | BigInt(n)).toString();
  }

  private renew(): void {
    this.renewing = true;
    void this.backend.newWriter().then(
      (writer) => {
        this.high = BigInt(writer) << 32n;
        this.next = 0;
        this.renewing = false;
      },
      () => (this.renewing = false), // tried again at the next take past half
    );
  }
}
