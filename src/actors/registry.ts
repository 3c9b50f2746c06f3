import { createActor } from 'xstate';
import type { Actor, AnyMachineSnapshot, AnyStateMachine, InspectionEvent, Observer } from 'xstate';
import type { Backend } from '../persistence/backend.ts';
import { decode } from '../persistence/codec.ts';
import { recordKey } from '../persistence/keys.ts';
import type { RecordKind } from '../persistence/records.ts';
import { adopt, adoptingLogic } from './adopt.ts';
import { firstSnapshot } from './step.ts';

/** What is stored for an actor: XState's persisted snapshot. */
export interface PersistedActor<TContext = unknown> {
  status: string;
  value: string;
  context: TContext;
  [key: string]: unknown;
}

/** A kind of hosted actor: a machine whose snapshots are records with indexes. */
export interface ActorKind<TContext = any> extends RecordKind<PersistedActor<TContext>> {
  readonly machine: AnyStateMachine;
}

/**
 * One hosted actor. `actor` is the live XState actor, at the last durable
 * state; `pending` is the state decided by commands whose write is not yet
 * durable. `pins` counts the commands and commits that hold it in memory.
 */
export class Hosted {
  actor: Actor<AnyStateMachine> | null = null;
  pending: AnyMachineSnapshot | null = null;
  pins = 0;
  readonly key: string;
  /** The index entries of one snapshot, the last decided: its next transition diffs against them. */
  private indexedSnapshot: AnyMachineSnapshot | null = null;
  private indexKeys: string[] = [];
  constructor(
    readonly kind: ActorKind,
    readonly id: number,
    /** For an actor not yet started: the input it starts from. */
    public input?: unknown,
  ) {
    this.key = `${kind.name}:${id}`;
  }

  /** The index entries of a snapshot of this actor. */
  indexesOf(snapshot: AnyMachineSnapshot): string[] {
    if (snapshot === this.indexedSnapshot) return this.indexKeys;
    return this.kind.indexes(snapshot as unknown as PersistedActor);
  }

  indexed(snapshot: AnyMachineSnapshot, keys: string[]): void {
    this.indexedSnapshot = snapshot;
    this.indexKeys = keys;
  }

  /** The newest decided state: pending if any, else the durable one. */
  current(): AnyMachineSnapshot {
    return this.pending ?? (this.actor!.getSnapshot() as AnyMachineSnapshot);
  }
}

export interface RegistryOptions {
  /** Live actors kept beyond those in use; the least recently used go first. */
  maxLiveActors: number;
  inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void);
}

/** A committed transition to replay on its live actor; `event` null starts a new one. */
export interface Effect {
  hosted: Hosted;
  event: { type: string } | null;
  /** The snapshot the command decided it leads to. */
  next: AnyMachineSnapshot;
}

/**
 * Live actors by `kind:id`. Actors are created when their first state is
 * durable, replay committed events, and are passivated (stopped and
 * dropped) once complete or least recently used beyond the bound; the
 * store holds their snapshot, so `load` rehydrates them on demand.
 */
export class ActorRegistry {
  private readonly live = new Map<string, Hosted>();
  private readonly loading = new Map<string, Promise<void>>();

  constructor(
    private readonly backend: Backend,
    private readonly options: RegistryOptions,
  ) {}

  get size(): number {
    return this.live.size;
  }

  get maxLiveActors(): number {
    return this.options.maxLiveActors;
  }

  /** The hosted actor for an id, rehydrated if need be, or null if there is none. */
  async load(kind: ActorKind, id: number): Promise<Hosted | null> {
    const key = `${kind.name}:${id}`;
    const known = this.live.get(key);
    if (known) {
      this.live.delete(key); // re-insert: Map order is our LRU order
      this.live.set(key, known);
      return known;
    }
    await (this.loading.get(key) ?? this.fetch(kind, id, key));
    return this.live.get(key) ?? null;
  }

  /** Starts rehydrating actors a queued command will need, so its turn does not wait on the store. */
  prefetch(kind: ActorKind, ids: readonly number[]): void {
    for (const id of ids) {
      const key = `${kind.name}:${id}`;
      if (!this.live.has(key) && !this.loading.has(key)) this.fetch(kind, id, key).catch(() => {}); // its command reads again
    }
  }

  /**
   * Reads an actor's snapshot and hosts it. Not live means nothing pending,
   * so the store has its newest state; and nothing can change it while the
   * read is in flight, since a command must load it first and so waits here.
   */
  private fetch(kind: ActorKind, id: number, key: string): Promise<void> {
    const read = this.backend.get(recordKey(kind.name, id)).then(
      (bytes) => {
        this.loading.delete(key);
        if (bytes === undefined || this.live.has(key)) return;
        const hosted = new Hosted(kind, id);
        hosted.actor = this.start(kind, key, { snapshot: decode<PersistedActor>(bytes) });
        this.live.set(key, hosted);
      },
      (error: unknown) => {
        this.loading.delete(key);
        throw error;
      },
    );
    this.loading.set(key, read);
    return read;
  }

  /** A new actor whose first state is pending until its commit is durable. */
  create(kind: ActorKind, id: number, input: unknown): Hosted {
    const key = `${kind.name}:${id}`;
    if (this.live.has(key)) throw new Error(`actor ${key} already exists`);
    const hosted = new Hosted(kind, id, input);
    hosted.pending = firstSnapshot(kind.machine, input);
    this.live.set(key, hosted);
    return hosted;
  }

  /** Forgets actors created by a command that was refused. */
  forget(hosted: Hosted): void {
    if (hosted.actor === null) this.live.delete(hosted.key);
  }

  /** Replays a durable commit's events on the live actors, in order, adopting the decided snapshots. */
  apply(effects: readonly Effect[]): void {
    for (const { hosted, event, next } of effects) {
      if (event === null) {
        hosted.actor = adopt(hosted.input, next, () => this.start(hosted.kind, hosted.key, { input: hosted.input }));
        hosted.input = undefined;
      } else {
        const actor = hosted.actor!;
        adopt(event, next, () => actor.send(event));
      }
    }
    for (const { hosted } of effects) this.unpin(hosted);
    this.passivate();
  }

  /**
   * Forgets the actors of a commit whose write failed. A failed write may
   * still have reached the disk (an fsync that failed after the write), so
   * rather than guess, they are passivated: the next command rehydrates
   * each from what the store really holds.
   */
  discard(effects: readonly Effect[]): void {
    for (const { hosted } of effects) {
      hosted.pending = null;
      hosted.pins = 0;
      this.evict(hosted);
    }
  }

  pin(hosted: Hosted): void {
    hosted.pins++;
  }

  unpin(hosted: Hosted): void {
    if (--hosted.pins > 0) return;
    hosted.pins = 0;
    hosted.pending = null;
    if (hosted.actor !== null && hosted.actor.getSnapshot().value === 'complete') this.evict(hosted);
  }

  /** Stops the least recently used idle actors until the bound holds. */
  passivate(): void {
    if (this.live.size <= this.options.maxLiveActors) return;
    for (const hosted of this.live.values()) {
      if (this.live.size <= this.options.maxLiveActors) break;
      if (hosted.pins === 0 && hosted.actor !== null) this.evict(hosted);
    }
  }

  stopAll(): void {
    for (const hosted of this.live.values()) hosted.actor?.stop();
    this.live.clear();
  }

  private evict(hosted: Hosted): void {
    hosted.actor?.stop();
    if (this.live.get(hosted.key) === hosted) this.live.delete(hosted.key);
  }

  private start(kind: ActorKind, key: string, from: { snapshot?: PersistedActor; input?: unknown }) {
    return createActor(adoptingLogic(kind.machine), { ...from, id: key, systemId: key, inspect: this.options.inspect } as never).start() as Actor<AnyStateMachine>;
  }
}
