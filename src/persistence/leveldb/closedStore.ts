/**
 * What tools do to a LevelDB store no coordinator holds: read it for
 * checking without changing a byte, and salvage one refused for a damaged
 * write-ahead log or commit mark.
 */
import { cp } from 'node:fs/promises';
import { ClassicLevel } from 'classic-level';
import { StorageError, StoreDamagedError } from '../../errors.ts';
import type { FileProblem } from '../../errors.ts';
import type { Backend } from '../backend.ts';
import { decode } from '../codec.ts';
import { COMMIT_KEY } from '../keys.ts';
import { CommitMark } from './commitMark.ts';
import { checkStoreFiles } from './files/storeFiles.ts';
import { levelReason } from './level.ts';
import { checkBeforeOpen, checkMarkAfterOpen } from './openCheck.ts';
import { readThroughCopy } from './scratchCopy.ts';
import { closedStorePath } from './storeLock.ts';

/**
 * Checks the files of a closed store (every table's checksums, the log,
 * CURRENT, MANIFEST, the commit mark against the newest commit) and, if
 * they are whole, hands a scratch copy of it to `read`; if they are not,
 * answers `damaged(problems)`, since LevelDB would drop or misread them.
 */
export async function readClosedLevelStore<R>(location: string, read: (backend: Backend) => Promise<R>, damaged: (problems: readonly FileProblem[]) => R): Promise<R> {
  const path = await closedStorePath(location, 'verifying');
  let checked: Awaited<ReturnType<typeof checkBeforeOpen>>;
  try {
    checked = await checkBeforeOpen(path, location);
  } catch (error) {
    if (error instanceof StoreDamagedError) return damaged(error.problems);
    throw error;
  }
  if (checked.kind === 'none') throw new StorageError(`cannot open store ${location}: the directory holds no LevelDB store`);
  return readThroughCopy(path, async (backend) => {
    const stored = await backend.get(COMMIT_KEY);
    try {
      checkMarkAfterOpen(location, stored === undefined ? 0 : decode<number>(stored), checked.mark);
    } catch (error) {
      if (error instanceof StoreDamagedError) return damaged(error.problems);
      throw error;
    }
    return read(backend);
  });
}

export interface SalvagedFiles {
  /** The store's real path. */
  path: string;
  /** Where its files were copied, as they were, before anything changed. */
  evidence: string;
  /** The newest commit left; the commit mark now names it. */
  sequence: number;
}

/**
 * Keeps a copy of a store refused for a damaged log or commit mark, lets
 * LevelDB recover what it can read of the log (dropping damaged records
 * whole), and resets the commit mark to the newest commit left. Damaged
 * tables, CURRENT or MANIFEST are refused (LevelDB could abort on them).
 */
export async function salvageLevelStore(location: string, now: Date): Promise<SalvagedFiles> {
  const path = await closedStorePath(location, 'salvaging');
  const files = await checkStoreFiles(path);
  if (files.kind === 'none') throw new StorageError(`no store at ${location}: the directory holds no LevelDB store`);
  const beyond = files.problems.filter((p) => !/^\d+\.log$/.test(p.file));
  if (beyond.length > 0) throw new StoreDamagedError(location, beyond, { advice: 'Salvage mends only the write-ahead log and the commit mark: restore this store from a backup.' });

  const evidence = `${path}.damaged-${now.toISOString().replace(/[:.]/g, '-')}`;
  await cp(path, evidence, { recursive: true, errorOnExist: true, force: false }).catch((error: unknown) => {
    throw new StorageError(`cannot keep a copy of ${location} at ${evidence} before salvaging it, so nothing was changed: ${levelReason(error)}`, { cause: error });
  });

  const db = new ClassicLevel<string, Uint8Array>(path, { keyEncoding: 'utf8', valueEncoding: 'view', createIfMissing: false });
  let sequence: number;
  try {
    await db.open();
    const stored = await db.get(COMMIT_KEY);
    sequence = stored === undefined ? 0 : decode<number>(stored);
  } catch (error) {
    throw new StorageError(`cannot salvage ${location}: ${levelReason(error)}`, { cause: error });
  } finally {
    await db.close().catch(() => {});
  }
  await CommitMark.create(path, sequence).catch((error: unknown) => {
    throw new StorageError(`cannot reset the commit mark of ${location} (the damaged store is kept at ${evidence}): ${levelReason(error)}`, { cause: error });
  });
  return { path, evidence, sequence };
}
