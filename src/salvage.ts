import { cp } from 'node:fs/promises';
import { ClassicLevel } from 'classic-level';
import { StorageError, StoreDamagedError } from './errors.ts';
import { decode } from './persistence/codec.ts';
import { CommitMark } from './persistence/leveldb/commitMark.ts';
import { checkStoreFiles } from './persistence/leveldb/files/storeFiles.ts';
import { COMMIT_KEY } from './persistence/keys.ts';
import { levelReason } from './persistence/leveldb/level.ts';
import { isPostgresLocation, maskLocation } from './persistence/postgres/location.ts';
import { closedStorePath } from './persistence/leveldb/storeLock.ts';
import { verify } from './verify.ts';
import type { VerifyReport } from './verify.ts';

export interface SalvageReport {
  /** Where the store's files were copied, as they were, before anything changed. */
  evidence: string;
  /** The newest commit the salvaged store holds; the commit mark now names it. */
  sequence: number;
  /** verify() of the salvaged store: what the loss left inconsistent, by key. */
  report: VerifyReport;
}

/**
 * Accepts the loss in a store refused for a damaged write-ahead log or
 * commit mark, after keeping a copy of it as it was: LevelDB recovers what
 * it can read (dropping damaged log records whole), and the commit mark is
 * reset to the newest commit left. Damaged tables, CURRENT or MANIFEST are
 * not mended here (LevelDB could abort on them): restore those from a
 * backup. What the loss left inconsistent (an index entry whose record was
 * in a dropped write, say) is in the returned report.
 *
 * LevelDB stores only: a PostgreSQL URL is refused (StorageError), since
 * its server keeps its own files whole; check it with verify().
 */
export async function salvage(location: string, now: Date = new Date()): Promise<SalvageReport> {
  refuseShared(location);
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
  return { evidence, sequence, report: await verify(path) };
}

/** Salvage mends a LevelDB directory's files; a PostgreSQL store has none of its own. */
export function refuseShared(location: string): void {
  if (isPostgresLocation(location)) {
    throw new StorageError(
      `salvage mends LevelDB stores only, and ${maskLocation(location)} is a PostgreSQL store: its server keeps its files whole (check its contents with verify; restore a damaged server from its backups)`,
    );
  }
}
