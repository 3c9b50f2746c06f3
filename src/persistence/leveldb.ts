import { ClassicLevel } from 'classic-level';
import { StorageError, StoreLockedError } from '../errors.ts';
import type { WriteBatch } from './backend.ts';
import { decode, encode } from './codec.ts';
import { CommitMark } from './commitMark.ts';
import { LevelBackend } from './level.ts';

/** Where each write's sequence number is kept in the store. */
const SEQUENCE_KEY = 'm/commit';

/** The embedded default: a LevelDB directory through classic-level. */
export class LevelDBBackend extends LevelBackend {
  private sequence = 0;
  private mark: CommitMark | null = null;

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

  /** Each write carries its sequence number; once it is done, the mark file records it. */
  override async write(batch: WriteBatch, options: { sync: boolean }): Promise<void> {
    if (batch.size === 0) return;
    const sequence = this.sequence + 1;
    batch.set(SEQUENCE_KEY, encode(sequence));
    await super.write(batch, options);
    this.sequence = sequence;
    await this.mark!.record(sequence, options.sync);
  }

  override async close(): Promise<void> {
    await this.mark?.close();
    this.mark = null;
    await super.close();
  }
}

export function levelDBBackend(location: string, options: { createIfMissing?: boolean } = {}): LevelDBBackend {
  return new LevelDBBackend(location, options);
}
