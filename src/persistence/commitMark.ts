import { close, constants, open, readFileSync, write } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const openFile = promisify(open);
const closeFile = promisify(close);
const writeAt = promisify(write);

/**
 * LevelDB (as classic-level builds it, without paranoid checks) opens a
 * damaged or truncated write-ahead log without complaint: it drops what it
 * cannot read. So every write also stores its sequence number, and once the
 * write is durable the number goes into this mark file beside the store. A
 * store holding a smaller number than its mark has lost acknowledged writes.
 */
export class CommitMark {
  static readonly FILE = 'BUILDCOORD-COMMIT';
  private static readonly WIDTH = 20;
  private readonly text = Buffer.alloc(CommitMark.WIDTH);

  private constructor(
    /** Writes through it are durable when they return (O_DSYNC): one call, not a write and an fdatasync. */
    private readonly syncFd: number,
    private readonly bufferedFd: number,
  ) {}

  /** Opens (or creates) the mark of the store in `directory`; resolves to it and the last number it holds. */
  static async open(directory: string): Promise<{ mark: CommitMark; recorded: number }> {
    const path = join(directory, CommitMark.FILE);
    const fd = await openFile(path, 'a+');
    await closeFile(fd);
    const text = readFileSync(path, 'utf8').trim();
    const recorded = text === '' ? 0 : Number(text);
    // Reopened for positional writes: 'a+' would append.
    const mark = new CommitMark(await openFile(path, constants.O_RDWR | constants.O_DSYNC), await openFile(path, 'r+'));
    return { mark, recorded: Number.isSafeInteger(recorded) ? recorded : 0 };
  }

  /** Records that writes up to `sequence` are in the store; fsynced when `sync`. */
  async record(sequence: number, sync: boolean): Promise<void> {
    this.text.write(String(sequence).padStart(CommitMark.WIDTH, '0'), 'latin1');
    await writeAt(sync ? this.syncFd : this.bufferedFd, this.text, 0, CommitMark.WIDTH, 0);
  }

  async close(): Promise<void> {
    await closeFile(this.syncFd);
    await closeFile(this.bufferedFd);
  }
}
