import { ClassicLevel } from 'classic-level';
import { StorageError, StoreLockedError } from '../errors.ts';
import { LevelBackend } from './level.ts';

/** The embedded default: a LevelDB directory through classic-level. */
export class LevelDBBackend extends LevelBackend {
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
  }
}

export function levelDBBackend(location: string, options: { createIfMissing?: boolean } = {}): LevelDBBackend {
  return new LevelDBBackend(location, options);
}
