import { existsSync, statSync } from 'node:fs';
import { Connector } from '../connector/connector.ts';
import type { Core } from '../connector/core.ts';
import { CoordinatorError, StorageError, StoreLockedError } from '../errors.ts';
import { levelDBBackend } from '../persistence/leveldb.ts';
import { maskLocation, refusePostgres } from '../persistence/postgres/location.ts';
import { StoreReader } from '../persistence/records.ts';
import { CliError, EXIT } from './exit.ts';

/** A store opened for reading only: connectors whose every write is refused, and nothing else. */
export interface ReadOnlyStore {
  readonly location: string;
  /** A connector bound to `masterid` (for `claimed: 'mine'`); 0 for one that is no master's. */
  connector(masterid?: number): Connector;
  close(): Promise<void>;
}

/**
 * Opens a store directory without a coordinator, so that looking at it
 * writes nothing: `coordinator.connect()` would add or reactivate a master.
 * The reads are the connector's own; only writes have no path. Like any
 * open, it takes the directory's lock, so a running master must not hold it.
 */
export async function openReadOnly(location: string): Promise<ReadOnlyStore> {
  try {
    refusePostgres(location);
  } catch (error) {
    throw storeError(location, error);
  }
  if (!existsSync(location)) throw new CliError(`no store at ${location}: the directory does not exist`, EXIT.noStore);
  if (!statSync(location).isDirectory()) throw new CliError(`no store at ${location}: not a directory`, EXIT.noStore);
  const backend = levelDBBackend(location, { createIfMissing: false });
  try {
    await backend.open();
  } catch (error) {
    throw storeError(location, error);
  }
  const reader = new StoreReader(backend);
  const core: Core = {
    run: () => Promise.reject(new CoordinatorError(`${location} is open read-only`)),
    reader,
    now: () => new Date(),
  };
  return {
    location,
    connector: (masterid = 0) => new Connector(core, masterid),
    async close() {
      reader.close();
      await backend.close();
    },
  };
}

/** The command line's reading of a failure to open a store. */
export function storeError(location: string, error: unknown): unknown {
  if (error instanceof StoreLockedError) {
    return new CliError(`${error.message}; stop it first`, EXIT.locked, { cause: error });
  }
  if (error instanceof StorageError) return new CliError(maskLocation(`cannot open the store at ${location}: ${error.message}`), EXIT.noStore, { cause: error });
  return error;
}
