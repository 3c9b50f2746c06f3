import type { AbstractLevel } from 'abstract-level';
import type { Backend, BackendCapabilities, KeyRange, WriteBatch } from './backend.ts';

type AnyLevel = AbstractLevel<any, string, Uint8Array>;

/**
 * A Backend over any abstract-level store (utf8 keys, byte values). The
 * LevelDB and in-memory backends differ only in the store they hand it.
 */
export class LevelBackend implements Backend {
  constructor(
    protected readonly db: AnyLevel,
    readonly capabilities: BackendCapabilities,
  ) {}

  async open(): Promise<void> {
    await this.db.open();
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    return (await this.db.get(key)) ?? undefined;
  }

  async getMany(keys: readonly string[]): Promise<(Uint8Array | undefined)[]> {
    if (keys.length === 0) return [];
    const values = await this.db.getMany(keys as string[]);
    return values.map((value) => value ?? undefined);
  }

  keys(range: KeyRange): Promise<string[]> {
    return this.db.keys(levelRange(range)).all();
  }

  entries(range: KeyRange): Promise<[string, Uint8Array][]> {
    return this.db.iterator(levelRange(range)).all();
  }

  async write(batch: WriteBatch, options: { sync: boolean }): Promise<void> {
    if (batch.size === 0) return;
    await this.chained(batch).write({ sync: options.sync } as object);
  }

  /** The batch as a chained batch: the chained form skips the per-operation objects of db.batch([...]). */
  protected chained(batch: WriteBatch) {
    const chained = this.db.batch();
    for (const [key, value] of batch) {
      if (value === null) chained.del(key);
      else chained.put(key, value);
    }
    return chained;
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}

function levelRange(range: KeyRange) {
  return {
    gte: range.gte,
    lt: range.lt,
    reverse: range.reverse ?? false,
    limit: range.limit ?? -1,
  };
}
