import type { InspectionEvent, Observer } from 'xstate';
import { openCommitPath } from './commit/commitPath.ts';
import type { CommitPath } from './commit/commitPath.ts';
import { Connector } from './connector/connector.ts';
import type { Core } from './connector/core.ts';
import { MastersComponent } from './connector/masters.ts';
import { residentIndexes } from './connector/model.ts';
import { ClosedError, InvalidArgumentError } from './errors.ts';
import type { Backend } from './persistence/backend.ts';
import { backendAt } from './persistence/stores.ts';
import * as v from './validate.ts';

export type Durability = 'sync' | 'buffered';

export interface CoordinatorOptions {
  /**
   * A LevelDB directory, or a PostgreSQL URL (`postgresql://user:password@host/db?schema=NAME`)
   * for a store that coordinators on many machines share. Omitted (and no `backend`): an in-memory store.
   */
  location?: string;
  /** A persistence backend, in place of `location`. */
  backend?: Backend;
  /** The clock for every "current time". */
  now?: () => Date;
  /** 'sync' (default): answered writes survive a power cut. 'buffered': they survive a process kill. */
  durability?: Durability;
  /** An XState inspection observer given to every hosted actor. */
  inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void);
  /** How many idle actors stay live before the least recently used are passivated (default 10,000). */
  maxLiveActors?: number;
}

const OPTION_KEYS = ['location', 'backend', 'now', 'durability', 'inspect', 'maxLiveActors'] as const;
const DEFAULT_MAX_LIVE_ACTORS = 10_000;

/**
 * Opens a store and hosts the coordinator over it.
 *
 * @example
 * const coordinator = await openCoordinator({ location: '/var/lib/master/state' });
 * const db = await coordinator.connect('master-1');
 * const [bsid, brids] = await db.buildsets.addBuildset({ sourcestampsetid, reason: 'push', properties: {}, builderNames: ['linux'] });
 * await db.buildrequests.claimBuildRequests([brids.linux]);
 */
export async function openCoordinator(options: CoordinatorOptions = {}): Promise<Coordinator> {
  const o = parseOptions(options);
  const backend = o.backend ?? backendAt(o.location, { sync: o.durability === 'sync' });
  await backend.open();
  try {
    const path = await openCommitPath(backend, {
      maxLiveActors: o.maxLiveActors,
      inspect: o.inspect,
      sync: o.durability === 'sync',
      residentIndexes,
      now: o.now,
    });
    return new Coordinator(backend, path);
  } catch (error) {
    await backend.close();
    throw error;
  }
}

export class Coordinator {
  private readonly core: Core;
  private closed = false;

  /** @internal use openCoordinator */
  constructor(
    private readonly backend: Backend,
    private readonly path: CommitPath,
  ) {
    const now = () => new Date(v.date(path.now(), 'now()'));
    this.core = { runner: path.runner, reader: path.reader, now };
  }

  /** Finds or adds the master `name`, marks it active, and returns its connector. */
  async connect(name: string): Promise<Connector> {
    v.string(name, 'name');
    if (this.closed) throw new ClosedError('the coordinator is closed');
    const masters = new MastersComponent(this.core);
    const masterid = await masters.findMasterId(name);
    await masters.setMasterState(masterid, true);
    return new Connector(this.core, masterid);
  }

  /** How many actors are live in memory now (bounded by maxLiveActors plus those in use). */
  get liveActors(): number {
    return this.path.registry.size;
  }

  /** Answers every call taken, stops the actors and closes the store. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.path.close();
    await this.backend.close();
  }
}

interface ParsedOptions {
  location?: string;
  backend?: Backend;
  /** Undefined: the machine's clock, or on a shared store the store's (SharedClock). */
  now?: () => Date;
  durability: Durability;
  inspect?: CoordinatorOptions['inspect'];
  maxLiveActors: number;
}

function parseOptions(options: unknown): ParsedOptions {
  const o = v.options(options, 'openCoordinator options', OPTION_KEYS);
  if (o.location !== undefined && o.backend !== undefined) throw new InvalidArgumentError('give location or backend, not both');
  if (o.location !== undefined && v.string(o.location, 'location') === '') throw new InvalidArgumentError('location must not be empty');
  if (o.backend !== undefined && !isBackend(o.backend)) throw new InvalidArgumentError('backend must implement the Backend interface');
  if (o.now !== undefined && typeof o.now !== 'function') throw new InvalidArgumentError('now must be a function returning a Date');
  if (o.durability !== undefined && o.durability !== 'sync' && o.durability !== 'buffered') {
    throw new InvalidArgumentError(`durability must be 'sync' or 'buffered', not ${JSON.stringify(o.durability)}`);
  }
  if (o.inspect !== undefined && typeof o.inspect !== 'function' && (typeof o.inspect !== 'object' || o.inspect === null)) {
    throw new InvalidArgumentError('inspect must be an observer or a function');
  }
  const maxLiveActors = o.maxLiveActors === undefined ? DEFAULT_MAX_LIVE_ACTORS : v.id(o.maxLiveActors, 'maxLiveActors');
  return {
    location: o.location as string | undefined,
    backend: o.backend as Backend | undefined,
    now: o.now as (() => Date) | undefined,
    durability: (o.durability as Durability | undefined) ?? 'sync',
    inspect: o.inspect as CoordinatorOptions['inspect'],
    maxLiveActors,
  };
}

function isBackend(value: unknown): value is Backend {
  const b = value as Record<string, unknown>;
  return typeof b === 'object' && b !== null && ['open', 'get', 'getMany', 'keys', 'entries', 'write', 'close'].every((m) => typeof b[m] === 'function');
}
