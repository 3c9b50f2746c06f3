import { ClassicLevel } from 'classic-level';
import { StorageError, StoreLockedError } from '../errors.ts';
import type { WriteBatch } from './backend.ts';
import { decode, encode } from './codec.ts';
import { CommitMark } from './commitMark.ts';
import { LevelBackend } from './level.ts';

/** Where each write's sequence number is kept in the store. */
const SEQUENCE_KEY = 'm/commit';

/**
 * The embedded default: a LevelDB directory through classic-level.
 *
 * Each write carries its sequence number (see CommitMark). The mark file
 * may only name writes already durable, so the mark for write N goes to
 * disk alongside write N+1 (the two fsyncs overlap on the thread pool)
 * or, when no write follows, once the store falls idle and at close.
 */
export class LevelDBBackend extends LevelBackend {
  /** The newest durable write. */
  private sequence = 0;
  /** The newest sequence handed to the mark file. */
  private marked = 0;
  /** The mark file's writes, one at a time, in order. */
  private marking: Promise<void> = Promise.resolve();
  private mark: CommitMark | null = null;
  private sync = true;

  constructor(
    readonly location: string,
    options: { createIfMissing?: boolean } = {},
  ) {
    const db = new ClassicLevel<string, Uint8Array>(location, {
      keyEncoding: 'utf8',
      valueEncoding: 'view',
      createIfMissing: options.createIfMissing ?? true,
    });
    super(db, { permanence: true, durableSync: true });
  }

  override async open(): Promise<void> {
    try {
      await this.db.open();
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause;
      if (cause?.code === 'LEVEL_LOCKED') {
        throw new StoreLockedError(`store ${this.location} is held by another process`, { cause: error });
      }
      throw new StorageError(`cannot open store ${this.location}: ${(error as Error).message}`, { cause: error });
    }
    try {
      const stored = await this.db.get(SEQUENCE_KEY);
      this.sequence = stored === undefined ? 0 : decode<number>(stored);
      const { mark, recorded } = await CommitMark.open(this.location);
      this.mark = mark;
      this.marked = recorded;
      if (this.sequence < recorded) {
        throw new StorageError(
          `store ${this.location} has lost acknowledged writes: it holds commit ${this.sequence}, but commit ${recorded} was written; ` +
            `its write-ahead log was damaged or truncated. Restore it from a backup (or delete ${CommitMark.FILE} to accept the loss).`,
        );
      }
    } catch (error) {
      await this.close();
      throw error instanceof StorageError ? error : new StorageError(`cannot open store ${this.location}: ${(error as Error).message}`, { cause: error });
    }
  }

  override async write(batch: WriteBatch, options: { sync: boolean }): Promise<void> {
    if (batch.size === 0) return;
    this.sync = options.sync;
    const sequence = this.sequence + 1;
    const written = this.chained(batch).put(SEQUENCE_KEY, encode(sequence)).write({ sync: options.sync } as object);
    try {
      await Promise.all([written, this.recordMark()]);
    } catch (error) {
      this.marking = Promise.resolve(); // a failed mark write is this write's failure, not every later one's
      await written.catch(() => {});
      throw error;
    }
    this.sequence = sequence;
    setImmediate(() => {
      if (this.sequence === sequence) this.recordMark().catch(() => {}); // idle: catch the mark up
    });
  }

  /** The sequence entry the last write carried: for tools that copy writes byte for byte. */
  lastStamp(): [string, Uint8Array] {
    return [SEQUENCE_KEY, encode(this.sequence)];
  }

  /** Queues a mark write for the newest durable sequence, if the mark is behind it. */
  private recordMark(): Promise<void> {
    if (this.mark === null || this.marked >= this.sequence) return this.marking;
    const mark = this.mark;
    const sequence = (this.marked = this.sequence);
    const sync = this.sync;
    this.marking = this.marking.then(() => mark.record(sequence, sync));
    return this.marking;
  }

  override async close(): Promise<void> {
    await this.recordMark().catch(() => {}); // an unrecorded mark loses no data, only one write's worth of detection
    await this.mark?.close();
    this.mark = null;
    await super.close();
  }
}

export function levelDBBackend(location: string, options: { createIfMissing?: boolean } = {}): LevelDBBackend {
  return new LevelDBBackend(location, options);
}
