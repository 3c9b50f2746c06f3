/**
 * The one place that tells kinds of location apart. A location names a
 * store: none, one in memory; a `postgresql://` URL, the shared store that
 * coordinators on many machines write; anything else, a LevelDB directory.
 * Everything above persistence/ asks this file, or the backend it returns
 * (its capabilities, `isShared`), never which kind of store it is.
 */
import { existsSync, statSync } from 'node:fs';
import { NoStoreError, StorageError } from '../errors.ts';
import type { FileProblem } from '../errors.ts';
import type { Backend } from './backend.ts';
import { levelDBBackend } from './leveldb/backend.ts';
import { readClosedLevelStore, salvageLevelStore } from './leveldb/closedStore.ts';
import type { SalvagedFiles } from './leveldb/closedStore.ts';
import { memoryBackend } from './memory/backend.ts';
import { postgresBackend } from './postgres/backend.ts';
import { isPostgresLocation, maskLocation } from './postgres/location.ts';
import { probePostgres } from './postgres/probe.ts';

export { maskLocation };

/** What a location may be, for a command line's help. */
export const LOCATION_FORMS = 'a LevelDB directory, or a PostgreSQL URL (postgresql://user:password@host/db?schema=NAME)';

export interface BackendOptions {
  /** Whether an answered write must survive a power cut (LevelDB takes it per write instead). */
  sync: boolean;
  /** Make the store if there is none (default true; false for what only reads or checks). */
  createIfMissing?: boolean;
}

/** The backend a location names; omitted, a new in-memory store. Nothing is opened yet. */
export function backendAt(location: string | undefined, { sync, createIfMissing = true }: BackendOptions): Backend {
  if (location === undefined) return memoryBackend();
  if (isPostgresLocation(location)) return postgresBackend(location, { sync, createIfMissing });
  return levelDBBackend(location, { createIfMissing });
}

/** Whether processes other than one may hold the store at once (so a tool may read it while masters run). */
export function isSharedLocation(location: string): boolean {
  return isPostgresLocation(location);
}

/**
 * Refuses (NoStoreError) a location where there is no store to open, before
 * opening it: a missing directory, or a server that cannot be reached. With
 * `mustExist` false an empty schema is taken (it is made on open).
 */
export async function probeStore(location: string, { mustExist = true }: { mustExist?: boolean } = {}): Promise<void> {
  if (isPostgresLocation(location)) return probePostgres(location, { mustExist });
  if (!existsSync(location)) throw new NoStoreError(`no store at ${location}: the directory does not exist`);
  if (!statSync(location).isDirectory()) throw new NoStoreError(`no store at ${location}: not a directory`);
}

/**
 * Hands a store no coordinator of this process holds to `read`, changing
 * nothing in it. A LevelDB directory's files are checked first and read
 * through a scratch copy (`damaged` answers for files that are not whole);
 * a shared store is opened as it is, while its masters write on.
 */
export async function readClosedStore<R>(location: string, read: (backend: Backend) => Promise<R>, damaged: (problems: readonly FileProblem[]) => R): Promise<R> {
  if (!isPostgresLocation(location)) return readClosedLevelStore(location, read, damaged);
  const backend = postgresBackend(location, { sync: true, createIfMissing: false });
  await backend.open();
  try {
    return await read(backend);
  } finally {
    await backend.close();
  }
}

/** Salvages a LevelDB directory's damaged log or commit mark (see leveldb/closedStore.ts); a shared store is refused. */
export function salvageStore(location: string, now: Date): Promise<SalvagedFiles> {
  refuseSalvage(location);
  return salvageLevelStore(location, now);
}

/** Salvage mends a directory's files; a shared store's server keeps its own (StorageError). */
export function refuseSalvage(location: string): void {
  if (isPostgresLocation(location)) {
    throw new StorageError(
      `salvage mends LevelDB stores only, and ${maskLocation(location)} is a PostgreSQL store: its server keeps its files whole (check its contents with verify; restore a damaged server from its backups)`,
    );
  }
}
