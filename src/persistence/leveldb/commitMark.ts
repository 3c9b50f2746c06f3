import { close, constants, fsync, open, write } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { crc32 } from 'node:zlib';

const openFile = promisify(open);
const closeFile = promisify(close);
const syncFile = promisify(fsync);
const writeAt = promisify(write);

/** What the mark file says: nothing, a number, or something that is not a mark. */
export type MarkReading = { state: 'missing' } | { state: 'ok'; sequence: number; legacy: boolean } | { state: 'damaged'; reason: string };

/**
 * LevelDB (as classic-level builds it, without paranoid checks) opens a
 * damaged or truncated write-ahead log without complaint: it drops what it
 * cannot read. So every write also stores its sequence number, and once the
 * write is durable the number goes into this mark file beside the store. A
 * store holding a smaller number than its mark has lost acknowledged writes.
 *
 * The mark carries its own checksum, so a garbled mark is an error rather
 * than a silent zero. It is one 48-byte record rewritten in place at offset
 * 0: a write inside one 512-byte sector, which disks write whole (the same
 * assumption PostgreSQL makes of pg_control).
 */
export class CommitMark {
  static readonly FILE = 'BUILDCOORD-COMMIT';

  private constructor(
    /** Writes through it are durable when they return (O_DSYNC): one call, not a write and an fdatasync. */
    private readonly syncFd: number,
    private readonly bufferedFd: number,
  ) {}

  /** Reads the mark of the store in `directory`, changing nothing. */
  static async read(directory: string): Promise<MarkReading> {
    let text: string;
    try {
      text = await readFile(join(directory, CommitMark.FILE), 'latin1');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { state: 'missing' };
      return { state: 'damaged', reason: `unreadable (${(error as Error).message})` };
    }
    return parse(text);
  }

  /** Writes a new mark file durably (a temporary file, fsynced, renamed over, the directory fsynced). */
  static async create(directory: string, sequence: number): Promise<void> {
    const path = join(directory, CommitMark.FILE);
    const temporary = `${path}.new`;
    await writeFile(temporary, format(sequence), { encoding: 'latin1', flush: true });
    await rename(temporary, path);
    const dir = await openFile(directory, 'r');
    try {
      await syncFile(dir);
    } finally {
      await closeFile(dir);
    }
  }

  /** Opens the existing mark of the store in `directory` for recording. */
  static async open(directory: string): Promise<CommitMark> {
    const path = join(directory, CommitMark.FILE);
    return new CommitMark(await openFile(path, constants.O_RDWR | constants.O_DSYNC), await openFile(path, 'r+'));
  }

  /** Records that writes up to `sequence` are in the store; durable on return when `sync`. */
  async record(sequence: number, sync: boolean): Promise<void> {
    const bytes = Buffer.from(format(sequence), 'latin1');
    await writeAt(sync ? this.syncFd : this.bufferedFd, bytes, 0, bytes.length, 0);
  }

  async close(): Promise<void> {
    await closeFile(this.syncFd);
    await closeFile(this.bufferedFd);
  }
}

function body(sequence: number): string {
  return `buildcoord-commit ${String(sequence).padStart(20, '0')}`;
}

function format(sequence: number): string {
  const text = body(sequence);
  return `${text} ${crc32(text).toString(16).padStart(8, '0')}\n`;
}

function parse(text: string): MarkReading {
  // Stores made before the mark had a checksum hold 20 bare digits. (Their
  // empty mark, from before the first write, reads as damaged: salvage resets it.)
  if (text === '') return { state: 'damaged', reason: 'empty' };
  if (/^\d{20}$/.test(text)) return { state: 'ok', sequence: Number(text), legacy: true };
  const match = /^(buildcoord-commit (\d{20})) ([0-9a-f]{8})\n$/.exec(text);
  if (match === null) return { state: 'damaged', reason: `not a commit mark (${text.length} bytes)` };
  if (crc32(match[1]!) !== parseInt(match[3]!, 16)) return { state: 'damaged', reason: 'checksum mismatch' };
  const sequence = Number(match[2]);
  if (!Number.isSafeInteger(sequence)) return { state: 'damaged', reason: 'sequence out of range' };
  return { state: 'ok', sequence, legacy: false };
}
