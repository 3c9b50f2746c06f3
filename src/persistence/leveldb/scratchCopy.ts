import { copyFile, link, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { StorageError } from '../../errors.ts';
import { LevelBackend, levelReason } from './level.ts';

/** LevelDB's own files; the lock, the info log and our mark are left out. */
const STORE_FILE = /^(CURRENT|MANIFEST-\d+|\d+\.(log|ldb|sst))$/;

/**
 * Runs `read` over a scratch copy of a store, opened by LevelDB, so that
 * the store itself is only ever read. Opening a LevelDB store rewrites it
 * (the log is replayed into a new table, a new MANIFEST and CURRENT are
 * written, the old files deleted); on the copy that touches nothing of the
 * original. The copy is hard links where the file system allows (LevelDB
 * never writes into an existing file: it only reads, renames over and
 * unlinks them), else a byte copy in the temporary directory.
 */
export async function readThroughCopy<T>(directory: string, read: (backend: LevelBackend) => Promise<T>): Promise<T> {
  const names = (await readdir(directory)).filter((name) => STORE_FILE.test(name));
  const scratch = await makeCopy(directory, names);
  try {
    const db = new ClassicLevel<string, Uint8Array>(scratch, { keyEncoding: 'utf8', valueEncoding: 'view', createIfMissing: false });
    const backend = new LevelBackend(db, { permanence: false, durableSync: false });
    try {
      await db.open();
    } catch (error) {
      throw new StorageError(`cannot open a scratch copy of ${directory} to read it: ${levelReason(error)}`, { cause: error });
    }
    try {
      return await read(backend);
    } finally {
      await db.close();
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

async function makeCopy(directory: string, names: string[]): Promise<string> {
  const attempts: [string, (from: string, to: string) => Promise<void>][] = [
    [tmpdir(), link],
    [dirname(directory), link], // same file system as the store, so links work
    [tmpdir(), copyFile],
  ];
  const reasons: string[] = [];
  for (const [parent, place] of attempts) {
    let scratch: string | null = null;
    try {
      scratch = await mkdtemp(join(parent, '.buildcoord-scratch-'));
      for (const name of names) await place(join(directory, name), join(scratch, name));
      return scratch;
    } catch (error) {
      reasons.push(`${place.name} in ${parent}: ${(error as Error).message}`);
      if (scratch !== null) await rm(scratch, { recursive: true, force: true }).catch(() => {});
    }
  }
  throw new StorageError(`cannot make a scratch copy of ${directory} to read it without changing it (${reasons.join('; ')})`);
}
