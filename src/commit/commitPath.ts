/**
 * The path from a command to a durable write, for a store that is open:
 * the registry that hosts its actors, the reader of what is written, and
 * the runner that decides and commits. The one place that chooses between a
 * store of our own and a shared one, by the backend's capability.
 */
import type { InspectionEvent, Observer } from 'xstate';
import { ActorRegistry } from '../actors/registry.ts';
import type { Backend } from '../persistence/backend.ts';
import { prefixRange } from '../persistence/backend.ts';
import { decodeStored } from '../persistence/codec.ts';
import { COUNTERS, counterKind } from '../persistence/keys.ts';
import { StoreReader } from '../persistence/records.ts';
import { ResidentIndex } from '../persistence/residentIndex.ts';
import { SharedClock } from '../persistence/shared/clock.ts';
import { isShared, VersionSource } from '../persistence/shared/contract.ts';
import { storedReads } from '../persistence/storedReads.ts';
import type { CommandRunner } from './commandRunner.ts';
import { OwnStoreRunner } from './ownStoreRunner.ts';
import { SharedStoreRunner } from './sharedStoreRunner.ts';
import type { Counters } from './source.ts';

export interface CommitPathOptions {
  maxLiveActors: number;
  inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void);
  /** Whether each group's write must survive a power cut (a store of our own). */
  sync: boolean;
  /** Index prefixes a store of our own keeps in memory (what masters poll). */
  residentIndexes: readonly string[];
  /** The injected clock, if any: without one a shared store's clock is followed. */
  now?: () => Date;
}

export interface CommitPath {
  readonly registry: ActorRegistry;
  readonly runner: CommandRunner;
  readonly reader: StoreReader;
  /** "Now": the injected clock, the shared store's, or this machine's. */
  readonly now: () => Date;
  /** Answers every call taken, stops the actors and the clock (the backend stays open). */
  close(): Promise<void>;
}

/** The commit path over an open backend. */
export async function openCommitPath(backend: Backend, options: CommitPathOptions): Promise<CommitPath> {
  const registry = new ActorRegistry(storedReads(backend), { maxLiveActors: options.maxLiveActors, inspect: options.inspect });
  if (isShared(backend)) {
    // Other coordinators write this store: reads go to it, never to our actors' copies.
    const clock = options.now === undefined ? await SharedClock.start(backend) : undefined;
    const reader = new StoreReader(backend);
    const runner = new SharedStoreRunner(backend, reader, registry, new VersionSource(backend, await backend.newWriter()));
    return path(registry, runner, reader, options.now ?? clock!.now, () => clock?.stop());
  }
  const counters: Counters = new Map();
  for (const [key, bytes] of await backend.entries(prefixRange(COUNTERS))) counters.set(counterKind(key), decodeStored<number>(key, bytes));
  const resident = options.residentIndexes.map((prefix) => new ResidentIndex(prefix, backend));
  const reader = new StoreReader(backend, (key) => registry.durableRecord(key), resident);
  const runner = new OwnStoreRunner(backend, reader, registry, counters, options.sync);
  return path(registry, runner, reader, options.now ?? (() => new Date()), () => {});
}

function path(registry: ActorRegistry, runner: CommandRunner, reader: StoreReader, now: () => Date, stopClock: () => void): CommitPath {
  return {
    registry,
    runner,
    reader,
    now,
    async close() {
      await runner.close();
      reader.close();
      registry.stopAll();
      stopClock();
    },
  };
}
