import { ReadOnlyRunner } from '../commit/readOnlyRunner.ts';
import { Connector } from '../connector/connector.ts';
import type { Core } from '../connector/core.ts';
import { InvalidArgumentError, NoStoreError, StorageError, StoreLockedError } from '../errors.ts';
import type { Backend } from '../persistence/backend.ts';
import { backendAt, isSharedLocation, maskLocation, probeStore } from '../persistence/stores.ts';
import { StoreReader } from '../persistence/records.ts';
import { isShared } from '../persistence/shared/contract.ts';
import type { SharedBackend, SnapshotView } from '../persistence/shared/contract.ts';
import { CliError, EXIT } from './exit.ts';

/** Connectors bound to a master (for `claimed: 'mine'`); 0 for one that is no master's. */
export type Connectors = (masterid?: number) => Connector;

/** A store opened for reading only: connectors whose every write is refused, and nothing else. */
export interface ReadOnlyStore {
  /** The location as given. */
  readonly location: string;
  /** The location as it may be shown: a PostgreSQL URL's password masked. */
  readonly shown: string;
  /** The store itself; on a PostgreSQL URL a shared one, which masters in other processes write while this reads. */
  readonly backend: Backend;
  /** A connector bound to `masterid` (for `claimed: 'mine'`); 0 for one that is no master's. */
  connector(masterid?: number): Connector;
  /**
   * Runs `work` on one reading of the store: on a shared store, one snapshot
   * (every read sees the same instant while masters write on); on a LevelDB
   * directory, the store itself (no other process can write it meanwhile).
   */
  read<T>(work: (connectors: Connectors) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface OpenReadOnlyOptions {
  /** A PostgreSQL URL whose schema holds no store yet: make it (the demo) rather than refuse it (stats, serve, verify). */
  create?: boolean;
}

/** Connectors on `backend` whose writes are refused. */
function readOnlyConnectors(backend: Pick<Backend, 'get' | 'getMany' | 'keys'>, shown: string): { connectors: Connectors; reader: StoreReader } {
  // StoreReader reads get, getMany and keys only; the rest of a Backend is never called.
  const reader = new StoreReader(backend as Backend);
  const core: Core = {
    runner: new ReadOnlyRunner(shown),
    reader,
    now: () => new Date(),
  };
  return { connectors: (masterid = 0) => new Connector(core, masterid), reader };
}

/**
 * Opens a store without a coordinator, so that looking at it writes
 * nothing: `coordinator.connect()` would add or reactivate a master. The
 * reads are the connector's own; only writes have no path.
 *
 * A LevelDB directory: like any open, it takes the directory's lock, so a
 * running master must not hold it. A PostgreSQL URL: masters in any
 * process may run meanwhile; a schema that holds no store is refused (exit
 * 3) unless `create`, rather than made.
 */
export async function openReadOnly(location: string, options: OpenReadOnlyOptions = {}): Promise<ReadOnlyStore> {
  const shown = maskLocation(location);
  // Fail fast (a shared store's backend retries an unreachable server for seconds), and refuse an empty schema unless told to make it.
  await probeStore(location, { mustExist: !options.create }).catch((error: unknown) => {
    throw storeError(location, error);
  });
  return opened(location, shown, backendAt(location, { sync: true, createIfMissing: options.create === true }));
}

/** Opens `backend` behind connectors that refuse every write; on a shared store `read` sees one snapshot. */
async function opened(location: string, shown: string, backend: Backend): Promise<ReadOnlyStore> {
  try {
    await backend.open();
  } catch (error) {
    throw storeError(location, error);
  }
  const { connectors, reader } = readOnlyConnectors(backend, shown);
  return {
    location,
    shown,
    backend,
    connector: connectors,
    read: isShared(backend) ? (work) => backend.readSnapshot((view: SnapshotView) => work(readOnlyConnectors(oneAtATime(view), shown).connectors)) : (work) => work(connectors),
    async close() {
      reader.close();
      await backend.close();
    },
  };
}

/**
 * The snapshot's reads one after another: a snapshot is one session, which
 * runs one query at a time, and the connector reads in parallel.
 */
function oneAtATime(view: SnapshotView): Pick<Backend, 'get' | 'getMany' | 'keys'> {
  let turn: Promise<unknown> = Promise.resolve();
  const queued = <T>(read: () => Promise<T>): Promise<T> => {
    const result = turn.then(read, read);
    turn = result.catch(() => {});
    return result;
  };
  return {
    get: (key) => queued(() => view.get(key)),
    getMany: (keys) => queued(() => view.getMany(keys)),
    keys: (range) => queued(() => view.keys(range)),
  };
}

/** The command line's reading of a failure to open a store; nothing it says shows a password. */
export function storeError(location: string, error: unknown, doing: 'open' | 'read' = 'open'): unknown {
  if (error instanceof StoreLockedError) {
    return new CliError(maskLocation(`${error.message}; stop it first`), EXIT.locked, { cause: error });
  }
  if (error instanceof NoStoreError) return new CliError(maskLocation(error.message), EXIT.noStore, { cause: error });
  if (error instanceof StorageError) return new CliError(maskLocation(`cannot ${doing} the store at ${location}: ${error.message}`), EXIT.noStore, { cause: error });
  if (error instanceof InvalidArgumentError && isSharedLocation(location)) {
    return new CliError(maskLocation(`${location}: ${error.message}`), EXIT.usage, { cause: error });
  }
  return error;
}

/** Is `backend` a store other processes write while this one reads? */
export function sharedStore(store: ReadOnlyStore): SharedBackend | null {
  return isShared(store.backend) ? store.backend : null;
}
