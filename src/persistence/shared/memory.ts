import { createRequire } from 'node:module';
import { StorageError } from '../../errors.ts';
import type { KeyRange, WriteBatch } from '../backend.ts';
import type { CommitTransaction, SharedBackend, SnapshotView, Version, Versioned } from './contract.ts';

// A CommonJS module whose class is `exports.default`; require() reads it the same way under every loader.
const { default: BTree } = createRequire(import.meta.url)('sorted-btree') as typeof import('sorted-btree');

/** Where a test may make a connection fail: before a transaction commits, or after (its answer lost). */
export type SharedFault = 'none' | 'fail-before-commit' | 'fail-after-commit';

export interface SharedMemoryOptions {
  /** Awaited before every store operation: a test's scheduler interleaves coordinators here. */
  pause?: () => Promise<void>;
  /** Asked at every commit: a fault to simulate. */
  fault?: () => SharedFault;
  /** How far the store's clock is ahead of this process's (ms). */
  clockOffset?: number;
}

/**
 * The shared store's semantics in memory, for tests: one ordered map of
 * versioned values that any number of coordinators open at once, with
 * serializable transactions (they run one at a time) and id sequences.
 */
export class SharedMemoryStore {
  readonly tree = new BTree<string, Versioned>(undefined, (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0));
  readonly sequences = new Map<string, number>();
  writers = 0;
  commits = 0;
  private turn: Promise<void> = Promise.resolve();

  /** A backend for one coordinator. */
  connect(options: SharedMemoryOptions = {}): SharedMemoryBackend {
    return new SharedMemoryBackend(this, options);
  }

  /** Runs `work` with no other transaction between its start and its end. */
  async serially<T>(work: () => Promise<T>): Promise<T> {
    const before = this.turn;
    let done!: () => void;
    this.turn = new Promise((resolve) => (done = resolve));
    await before;
    try {
      return await work();
    } finally {
      done();
    }
  }
}

export class SharedMemoryBackend implements SharedBackend {
  readonly shared = true;
  readonly capabilities = { permanence: true, durableSync: false };
  private opened = false;
  private blindWrites = 0;

  constructor(
    readonly store: SharedMemoryStore,
    private readonly options: SharedMemoryOptions,
  ) {}

  async open(): Promise<void> {
    this.opened = true;
  }

  async close(): Promise<void> {
    this.opened = false;
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    return (await this.getVersioned([key]))[0]?.bytes;
  }

  async getMany(keys: readonly string[]): Promise<(Uint8Array | undefined)[]> {
    return (await this.getVersioned(keys)).map((found) => found?.bytes);
  }

  async getVersioned(keys: readonly string[]): Promise<(Versioned | undefined)[]> {
    await this.step();
    return keys.map((key) => this.store.tree.get(key));
  }

  async keys(range: KeyRange): Promise<string[]> {
    await this.step();
    return scan(this.store.tree, range).map(([key]) => key);
  }

  async entries(range: KeyRange): Promise<[string, Uint8Array][]> {
    await this.step();
    return scan(this.store.tree, range).map(([key, { bytes }]) => [key, bytes]);
  }

  async write(batch: WriteBatch): Promise<void> {
    await this.step();
    const version = `${++this.blindWrites}`; // only tests write blind; no command reads these versions
    for (const [key, bytes] of batch) {
      if (bytes === null) this.store.tree.delete(key);
      else this.store.tree.set(key, { bytes, version });
    }
  }

  async nextIds(kind: string, count: number): Promise<number[]> {
    await this.step();
    const first = (this.store.sequences.get(kind) ?? 0) + 1;
    this.store.sequences.set(kind, first + count - 1);
    return Array.from({ length: count }, (_, i) => first + i);
  }

  async serverTime(): Promise<number> {
    await this.step();
    return Date.now() + (this.options.clockOffset ?? 0);
  }

  async newWriter(): Promise<number> {
    await this.step();
    return ++this.store.writers;
  }

  async transact<T>(work: (tx: CommitTransaction) => Promise<T>): Promise<T> {
    await this.step();
    const fault = this.options.fault?.() ?? 'none';
    return this.store.serially(async () => {
      const tree = this.store.tree;
      const staged: (() => void)[] = [];
      const result = await work({
        versions: async (keys) => {
          await this.pause();
          const found = new Map<string, Version>();
          for (const key of keys) {
            const entry = tree.get(key);
            if (entry !== undefined) found.set(key, entry.version);
          }
          return found;
        },
        rangeKeys: async (ranges) => {
          await this.pause();
          return ranges.map((range) => scan(tree, range).map(([key]) => key));
        },
        write: async (puts, deletes) => {
          await this.pause();
          for (const [key, bytes, version] of puts) staged.push(() => tree.set(key, { bytes, version }));
          for (const key of deletes) staged.push(() => tree.delete(key));
        },
      });
      if (fault === 'fail-before-commit') throw new StorageError('commit failed before COMMIT (simulated)');
      for (const apply of staged) apply();
      this.store.commits++;
      if (fault === 'fail-after-commit') throw new StorageError('commit failed after COMMIT, its outcome unknown to the caller (simulated)');
      return result;
    });
  }

  /** A snapshot: no transaction commits until `work` is done. */
  async readSnapshot<T>(work: (view: SnapshotView) => Promise<T>): Promise<T> {
    await this.step();
    const tree = this.store.tree;
    return this.store.serially(() =>
      work({
        get: async (key) => tree.get(key)?.bytes,
        getMany: async (keys) => keys.map((key) => tree.get(key)?.bytes),
        keys: async (range) => scan(tree, range).map(([key]) => key),
        entries: async (range) => scan(tree, range).map(([key, { bytes }]) => [key, bytes]),
        lastId: async (kind) => this.store.sequences.get(kind) ?? 0,
      }),
    );
  }

  private async step(): Promise<void> {
    if (!this.opened) throw new StorageError('the shared in-memory store is not open');
    await this.pause();
  }

  private async pause(): Promise<void> {
    if (this.options.pause) await this.options.pause();
  }
}

function scan(tree: InstanceType<typeof BTree<string, Versioned>>, range: KeyRange): [string, Versioned][] {
  const limit = range.limit === undefined || range.limit < 0 ? Infinity : range.limit;
  const out: [string, Versioned][] = [];
  if (limit === 0) return out;
  if (range.reverse) {
    for (const entry of tree.entriesReversed(range.lt, undefined, true)) {
      if (entry[0] < range.gte || out.length >= limit) break;
      out.push(entry);
    }
  } else {
    tree.editRange(range.gte, range.lt, false, (key: string, value: Versioned) => {
      out.push([key, value]);
      return out.length >= limit ? { break: true } : undefined;
    });
  }
  return out;
}
