import type { AbstractLevel } from 'abstract-level';
import { breathe } from '../../breathe.ts';
import { StorageError } from '../../errors.ts';
import type { Backend, BackendCapabilities, KeyRange, WriteBatch } from '../backend.ts';

// biome-ignore lint/suspicious/noExplicitAny: classic-level's format parameter differs by store; none of it is used here
type AnyLevel = AbstractLevel<any, string, Uint8Array>;

/** Operations added to a chained batch per turn of the event loop. */
const BUILD_CHUNK = 4096;

/**
 * A Backend over any abstract-level store (utf8 keys, byte values). Every
 * failed read reaches the caller as a StorageError naming what was read and
 * why it failed, never as a raw level error.
 */
export class LevelBackend implements Backend {
  constructor(
    protected db: AnyLevel,
    readonly capabilities: BackendCapabilities,
  ) {}

  async open(): Promise<void> {
    await this.db.open();
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    this.beforeRead();
    try {
      return (await this.db.get(key)) ?? undefined;
    } catch (error) {
      throw this.readError(`key ${JSON.stringify(key)}`, error);
    }
  }

  async getMany(keys: readonly string[]): Promise<(Uint8Array | undefined)[]> {
    this.beforeRead();
    if (keys.length === 0) return [];
    try {
      const values = await this.db.getMany(keys as string[]);
      return values.map((value) => value ?? undefined);
    } catch (error) {
      throw this.readError(`${keys.length} keys from ${JSON.stringify(keys[0])}`, error);
    }
  }

  async keys(range: KeyRange): Promise<string[]> {
    this.beforeRead();
    try {
      return await readAll(this.db.keys(levelRange(range)));
    } catch (error) {
      throw this.readError(`keys ${JSON.stringify(range.gte)} to ${JSON.stringify(range.lt)}`, error);
    }
  }

  async entries(range: KeyRange): Promise<[string, Uint8Array][]> {
    this.beforeRead();
    try {
      return await readAll(this.db.iterator(levelRange(range)));
    } catch (error) {
      throw this.readError(`entries ${JSON.stringify(range.gte)} to ${JSON.stringify(range.lt)}`, error);
    }
  }

  async write(batch: WriteBatch, options: { sync: boolean }): Promise<void> {
    if (batch.size === 0) return;
    await (await this.chained(batch)).write({ sync: options.sync } as object);
  }

  /**
   * The batch as a chained batch: the chained form skips the per-operation
   * objects of db.batch([...]). A batch of tens of thousands of operations (a
   * bulk release) is built a chunk per turn of the event loop; the usual
   * small one at once, with no await.
   */
  protected chained(batch: WriteBatch) {
    const chained = this.db.batch();
    if (batch.size > BUILD_CHUNK) return this.chainedInTurns(chained, batch);
    for (const [key, value] of batch) {
      if (value === null) chained.del(key);
      else chained.put(key, value);
    }
    return chained;
  }

  private async chainedInTurns(chained: ReturnType<AnyLevel['batch']>, batch: WriteBatch) {
    let n = 0;
    for (const [key, value] of batch) {
      if (value === null) chained.del(key);
      else chained.put(key, value);
      if (++n % BUILD_CHUNK === 0) await breathe();
    }
    return chained;
  }

  async close(): Promise<void> {
    await this.db.close();
  }

  /** Throws to refuse every read (a store found damaged, say). */
  protected beforeRead(): void {}

  /** The error for a failed read of `what`. */
  protected readError(what: string, error: unknown): StorageError {
    return new StorageError(`cannot read ${what}: ${levelReason(error)}`, { cause: error });
  }
}

/**
 * The reason behind a level error, in words: abstract-level wraps LevelDB's
 * own message ("IO error: …/CURRENT: No such file or directory",
 * "Corruption: block checksum mismatch: …/000005.ldb") one or two causes
 * down, under a generic "Database failed to open".
 */
export function levelReason(error: unknown): string {
  const messages: string[] = [];
  for (let e: unknown = error; e instanceof Error && messages.length < 5; e = e.cause) {
    if (e.message !== '' && !messages.includes(e.message)) messages.push(e.message);
  }
  if (messages.length === 0) return String(error);
  return messages.length === 1 ? messages[0]! : `${messages[messages.length - 1]} (${messages.slice(0, -1).join('; ')})`;
}

/** The abstract-level code of an error or its causes (LEVEL_LOCKED, LEVEL_CORRUPTION, ...). */
export function levelCode(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && code !== 'LEVEL_DATABASE_NOT_OPEN') return code;
  }
  return undefined;
}

/**
 * Everything an iterator yields, READ_BATCH at a time. The native side
 * copies each batch on a thread-pool thread; at classic-level's own 1,000 a
 * call, masters polling in parallel left several threads' malloc arenas
 * holding tens of MB each, for good (measured: 16 readers of 1,250 keys,
 * RSS 310 MB at 1,000 a call, 150 MB at 128, at the same speed).
 */
const READ_BATCH = 128;

async function readAll<T>(iterator: { nextv(size: number): Promise<T[]>; close(): Promise<void> }): Promise<T[]> {
  const all: T[] = [];
  try {
    for (;;) {
      const batch = await iterator.nextv(READ_BATCH);
      if (batch.length === 0) return all;
      for (const item of batch) all.push(item);
    }
  } finally {
    await iterator.close();
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
