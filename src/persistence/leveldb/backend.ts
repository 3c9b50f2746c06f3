import { ClassicLevel } from 'classic-level';
import { StorageError, StoreDamagedError } from '../../errors.ts';
import type { FileProblem } from '../../errors.ts';
import type { WriteBatch } from '../backend.ts';
import { decode, encode } from '../codec.ts';
import { CommitMark } from './commitMark.ts';
import { COMMIT_KEY } from '../keys.ts';
import { LevelBackend, levelCode, levelReason } from './level.ts';
import { checkBeforeOpen, checkMarkAfterOpen } from './openCheck.ts';
import { canonicalPath, claimPath, heldElsewhere, lockHolder, releasePath } from './storeLock.ts';
import { TableWatch } from './tableWatch.ts';

/** How long a store that failed a write waits between attempts to reopen. */
const RETRY_FIRST_MS = 20;
const RETRY_MAX_MS = 1000;

/**
 * The embedded default: a LevelDB directory through classic-level.
 *
 * Opening checks the files first (openCheck.ts) and refuses a damaged store
 * before LevelDB can silently drop what it cannot read.
 *
 * Each write carries its sequence number (see CommitMark). The mark file
 * may only name writes already durable, so the mark for write N goes to
 * disk alongside write N+1 (the two fsyncs overlap on the thread pool)
 * or, when no write follows, once the store falls idle and at close.
 *
 * Fail-stop: after a failed write (a full disk, an I/O error) LevelDB's log
 * may end in a torn record, and anything appended after it would be dropped
 * by the next recovery; a failed background flush leaves LevelDB refusing
 * every write. So no write is attempted after a failure until the store has
 * been closed and reopened, which recovers the log and starts a fresh one.
 * Reopening is retried, backing off, until it succeeds (the disk has room
 * again) or the backend is closed; meanwhile writes get a StorageError.
 */
export class LevelDBBackend extends LevelBackend {
  /** The store's real path, claimed in this process while open. */
  private path: string | null = null;
  /** The newest durable write. */
  private sequence = 0;
  /** The newest sequence handed to the mark file. */
  private marked = 0;
  /** The mark file's writes, one at a time, in order. */
  private marking: Promise<void> = Promise.resolve();
  private mark: CommitMark | null = null;
  private sync = true;
  /** Why the store takes no writes until it has been reopened; null while healthy. */
  private failure: StorageError | null = null;
  /** Set once a table is found damaged while open: every call is refused from then on. */
  private damage: StoreDamagedError | null = null;
  private watch: TableWatch | null = null;
  private recovery: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private closing = false;

  constructor(
    readonly location: string,
    private readonly options: { createIfMissing?: boolean } = {},
  ) {
    super(null as never, { permanence: true, durableSync: true }); // made at open, once the real path is known
  }

  override async open(): Promise<void> {
    const create = this.options.createIfMissing ?? true;
    let path: string;
    try {
      path = await canonicalPath(this.location, create);
    } catch (error) {
      throw new StorageError(`cannot open store ${this.location}: ${levelReason(error)}`, { cause: error });
    }
    claimPath(path, this.location);
    try {
      await this.openStore(path, create);
    } catch (error) {
      releasePath(path);
      throw this.openError(error);
    }
    this.path = path;
    this.closing = false;
  }

  /** Checks the files, opens LevelDB, and checks the mark against what the store holds. */
  private async openStore(path: string, create: boolean): Promise<void> {
    const holder = await lockHolder(path);
    if (typeof holder === 'number' && holder !== process.pid) throw heldElsewhere(this.location, holder);
    const checked = await checkBeforeOpen(path, this.location);
    if (checked.kind === 'none' && !create) throw new StorageError(`no store at ${this.location}: the directory holds no LevelDB store`);
    if (checked.kind === 'none' && checked.mark.state === 'missing') await CommitMark.create(path, 0);
    const watch = new TableWatch(path, (problems) => this.damaged(problems));
    watch.seed(checked.tables); // those LevelDB writes from here on are checked as they appear

    this.db = new ClassicLevel<string, Uint8Array>(path, { keyEncoding: 'utf8', valueEncoding: 'view' });
    try {
      await this.db.open({ createIfMissing: checked.kind === 'none' } as object);
    } catch (error) {
      if (levelCode(error) === 'LEVEL_LOCKED') throw heldElsewhere(this.location, await lockHolder(path), error);
      throw new StorageError(`cannot open store ${this.location}: ${levelReason(error)}`, { cause: error });
    }
    try {
      const stored = await this.db.get(COMMIT_KEY);
      this.sequence = stored === undefined ? 0 : decode<number>(stored);
      checkMarkAfterOpen(this.location, this.sequence, checked.mark);
      const mark = checked.mark;
      const current = mark.state === 'ok' && !mark.legacy;
      if (!current) await CommitMark.create(path, this.sequence); // none yet, or the old format
      this.mark = await CommitMark.open(path);
      this.marked = mark.state === 'ok' && current ? mark.sequence : this.sequence;
      this.watch = watch;
      watch.poke(); // recovery may have written a table from the log
    } catch (error) {
      await this.db.close().catch(() => {});
      throw error;
    }
  }

  /** A failure to open as a StorageError that says why (a full disk making the mark, say), whatever threw it. */
  private openError(error: unknown): StorageError {
    return error instanceof StorageError ? error : new StorageError(`cannot open store ${this.location}: ${levelReason(error)}`, { cause: error });
  }

  override async write(batch: WriteBatch, options: { sync: boolean }): Promise<void> {
    if (batch.size === 0) return;
    if (this.damage !== null) throw this.damage;
    if (this.failure !== null) throw this.refusal();
    this.sync = options.sync;
    const sequence = this.sequence + 1;
    const built = this.chained(batch);
    const written = (built instanceof Promise ? await built : built).put(COMMIT_KEY, encode(sequence)).write({ sync: options.sync } as object);
    try {
      await Promise.all([written, this.recordMark()]);
    } catch (error) {
      await written.catch(() => {});
      throw this.fail(error);
    }
    this.sequence = sequence;
    this.watch?.poke();
    setImmediate(() => {
      if (this.sequence === sequence && this.failure === null) this.recordMark().catch((error: unknown) => this.fail(error));
    });
  }

  /** The sequence entry the last write carried: for tools that copy writes byte for byte. */
  lastStamp(): [string, Uint8Array] {
    return [COMMIT_KEY, encode(this.sequence)];
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

  /** Enters the failed state (once) and starts recovering; returns the error for the failed write. */
  private fail(cause: unknown): StorageError {
    const error = new StorageError(`write to store ${this.location} failed: ${levelReason(cause)}; it takes no writes until it has reopened`, { cause });
    if (this.failure === null && !this.closing) {
      this.failure = error;
      this.marking = Promise.resolve();
      this.marked = 0; // unknown: the next mark write rewrites it
      this.recovery = this.recover();
    }
    return error;
  }

  private refusal(): StorageError {
    return new StorageError(`store ${this.location} is reopening after a failed write, and takes no writes until then: ${this.failure!.message}`, { cause: this.failure });
  }

  /** A table found damaged while open: nothing more is read or written, since LevelDB would serve or compact it unchecked. */
  private damaged(problems: FileProblem[]): void {
    this.damage ??= new StoreDamagedError(this.location, problems, {
      situation: 'was found damaged while open, and takes no more calls',
      advice: 'Close it and restore it from a backup; `buildcoord verify` shows the damage.',
    });
  }

  protected override beforeRead(): void {
    if (this.damage !== null) throw this.damage;
  }

  protected override readError(what: string, error: unknown): StorageError {
    if (this.failure !== null) return new StorageError(`cannot read ${what}: ${this.refusal().message}`, { cause: error });
    return super.readError(`${what} from store ${this.location}`, error);
  }

  /** Closes and reopens the store until it opens, or the backend is closed, or the store turns out damaged. */
  private async recover(): Promise<void> {
    for (let delay = RETRY_FIRST_MS; !this.closing; delay = Math.min(2 * delay, RETRY_MAX_MS)) {
      await this.closeStore();
      try {
        await this.openStore(this.path!, false);
        this.failure = null;
        return;
      } catch (error) {
        this.failure = this.openError(error);
        if (error instanceof StoreDamagedError) return; // no retry mends that
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        timer.unref();
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = null;
    }
  }

  private async closeStore(): Promise<void> {
    this.watch?.stop();
    this.watch = null;
    await this.marking.catch(() => {});
    await this.mark?.close().catch(() => {});
    this.mark = null;
    if (this.db.status === 'open' || this.db.status === 'opening') await this.db.close().catch(() => {});
  }

  override async close(): Promise<void> {
    if (this.path === null) return;
    this.closing = true;
    this.wake?.();
    await this.recovery;
    if (this.failure === null) await this.recordMark().catch(() => {}); // an unrecorded mark loses no data, only one write's worth of detection
    await this.closeStore();
    releasePath(this.path);
    this.path = null;
  }
}

export function levelDBBackend(location: string, options: { createIfMissing?: boolean } = {}): LevelDBBackend {
  return new LevelDBBackend(location, options);
}
