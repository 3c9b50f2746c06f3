import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * LevelDB (as classic-level builds it, without paranoid checks) opens a
 * damaged or truncated write-ahead log without complaint: it drops what it
 * cannot read. So every write also stores its sequence number, and once the
 * write is done the number goes into this mark file beside the store. A
 * store holding a smaller number than its mark has lost acknowledged writes.
 */
export class CommitMark {
  static readonly FILE = 'BUILDCOORD-COMMIT';
  private static readonly WIDTH = 20;

  private constructor(private readonly handle: FileHandle) {}

  /** Opens (or creates) the mark of the store in `directory`; resolves to it and the last number it holds. */
  static async open(directory: string): Promise<{ mark: CommitMark; recorded: number }> {
    const handle = await open(join(directory, CommitMark.FILE), 'a+');
    const text = (await handle.readFile('utf8')).trim();
    const recorded = text === '' ? 0 : Number(text);
    await handle.close();
    // Reopened for positional writes: 'a+' would append.
    const mark = new CommitMark(await open(join(directory, CommitMark.FILE), 'r+'));
    return { mark, recorded: Number.isSafeInteger(recorded) ? recorded : 0 };
  }

  /** Records that writes up to `sequence` are in the store; fsynced when `sync`. */
  async record(sequence: number, sync: boolean): Promise<void> {
    await this.handle.write(String(sequence).padStart(CommitMark.WIDTH, '0'), 0);
    if (sync) await this.handle.datasync();
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}
