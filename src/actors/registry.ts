import { createActor } from 'xstate';
import type { Actor, AnyStateMachine, InspectionEvent, Observer } from 'xstate';
import { breathe, CHUNK, due } from '../breathe.ts';
import { decodeStored } from '../persistence/codec.ts';
import { recordKey } from '../persistence/keys.ts';
import type { Stored, StoredReads } from '../persistence/storedReads.ts';
import { adopt, adoptingLogic } from './adopt.ts';
import { Hosted } from './hosted.ts';
import type { ActorKind, Effect, PersistedActor } from './hosted.ts';
import { LiveActors } from './liveActors.ts';
import { firstSnapshot } from './step.ts';

export interface RegistryOptions {
  /** Live actors kept beyond those in use; the least recently used go first. */
  maxLiveActors: number;
  inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void);
}

/**
 * The hosted actors. Actors are created when their first state is durable,
 * replay committed events, and are passivated (stopped and dropped) once
 * settled or, beyond the bound, least recently used; the store holds their
 * snapshot, so `load` rehydrates them on demand.
 */
export class ActorRegistry {
  private readonly live = new LiveActors();
  /** Reads in flight, by record key. */
  private readonly loading = new Map<string, Promise<void>>();

  constructor(
    private readonly reads: StoredReads,
    private readonly options: RegistryOptions,
  ) {}

  get size(): number {
    return this.live.size;
  }

  get maxLiveActors(): number {
    return this.options.maxLiveActors;
  }

  /** The hosted actor for an id if it is live (marked used), else undefined. */
  touch(kind: ActorKind, id: number): Hosted | undefined {
    return this.live.use(kind.name, id);
  }

  /** The hosted actor for an id, rehydrated if need be, or null if there is none. */
  async load(kind: ActorKind, id: number): Promise<Hosted | null> {
    const known = this.live.use(kind.name, id);
    if (known !== undefined) return known;
    const key = recordKey(kind.name, id);
    await (this.loading.get(key) ?? this.fetch(kind, [id]));
    return this.live.get(kind.name, id) ?? null;
  }

  /**
   * The durable record of a live actor, by record key: what the store holds
   * for it, without reading and decoding it. Live actors replay only
   * durable transitions, so their snapshot is the stored one.
   */
  durableRecord(key: string): PersistedActor | undefined {
    const hosted = this.live.atKey(key);
    return hosted?.actor == null ? undefined : hosted.record!;
  }

  /** Starts rehydrating actors a queued command will need, so its turn does not wait on the store. */
  prefetch(kind: ActorKind, ids: readonly number[]): void {
    let missing: number[] | null = null; // made only if needed: a queued claim's actor is usually live
    for (const id of ids) {
      if (this.live.get(kind.name, id) === undefined && !this.loading.has(recordKey(kind.name, id))) (missing ??= []).push(id);
    }
    if (missing !== null) this.fetch(kind, missing).catch(() => {}); // its command reads again
  }

  /**
   * Reads actors' snapshots and hosts them (one read for all, on a shared
   * store). Not live means nothing pending, so the store has their newest
   * state; and no command of ours can change one while the read is in
   * flight, since it must load it first and so waits here.
   */
  private fetch(kind: ActorKind, ids: readonly number[]): Promise<void> {
    if (ids.length === 1) {
      const key = recordKey(kind.name, ids[0]!);
      return this.host(kind, ids[0]!, key, this.reads.one(key));
    }
    const keys = ids.map((id) => recordKey(kind.name, id));
    const reads = this.reads.many(keys);
    return Promise.all(ids.map((id, i) => this.host(kind, id, keys[i]!, reads[i]!))).then(() => {});
  }

  private host(kind: ActorKind, id: number, key: string, stored: Promise<Stored | undefined>): Promise<void> {
    const read = stored.then(
      (found) => {
        this.loading.delete(key);
        if (found === undefined || this.live.get(kind.name, id) !== undefined) return;
        const hosted = new Hosted(kind, id);
        hosted.record = decodeStored<PersistedActor>(key, found.bytes);
        hosted.version = found.version;
        hosted.actor = this.start(hosted, { snapshot: hosted.record });
        this.live.add(hosted);
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
    const hosted = new Hosted(kind, id, input);
    if (this.live.get(kind.name, id) !== undefined) throw new Error(`actor ${hosted.name} already exists`);
    hosted.pending = firstSnapshot(kind.machine, input);
    this.live.add(hosted);
    return hosted;
  }

  /** Forgets actors created by a command that was refused. */
  forget(hosted: Hosted): void {
    if (hosted.actor === null) this.live.remove(hosted);
  }

  /**
   * Replays a durable commit's events on the live actors, in order,
   * adopting the decided snapshots. Every record is current at once (reads
   * of live actors' records see the whole commit); a commit of thousands of
   * transitions replays them a chunk per turn of the event loop, and until
   * its turn each actor still answers commands with its pending snapshot.
   */
  async apply(effects: readonly Effect[]): Promise<void> {
    for (const effect of effects) {
      effect.hosted.record = effect.record;
      effect.hosted.version = effect.version ?? null;
    }
    for (let i = 0; i < effects.length; i++) {
      if (due(i)) await breathe();
      const { hosted, event, next } = effects[i]!;
      if (this.live.get(hosted.kind.name, hosted.id) !== hosted) continue; // evicted (a shared store's stale copy): the next load reads the store
      if (event === null) {
        hosted.actor = adopt(hosted.input, next, () => this.start(hosted, { input: hosted.input }));
        hosted.input = undefined;
      } else {
        const actor = hosted.actor!;
        adopt(event, next, () => actor.send(event));
      }
    }
    for (const { hosted } of effects) this.unpin(hosted);
    // Past the bound by thousands (a bulk release rehydrated them): stopping actors costs too, so it breathes as well.
    for (let size = this.live.size; size > this.options.maxLiveActors + CHUNK; size = this.live.size) {
      this.passivate(size - CHUNK);
      if (this.live.size === size) break; // the rest are in use
      await breathe();
    }
    this.passivate();
  }

  /**
   * Forgets the actors of a commit whose write failed. A failed write may
   * still have reached the disk (an fsync that failed after the write), so
   * rather than guess, they are passivated: the next command rehydrates
   * each from what the store really holds.
   */
  discard(effects: readonly Effect[]): void {
    for (const { hosted } of effects) this.drop(hosted);
  }

  /** Forgets actors a shared store has since changed: the next command reads them again. */
  drop(hosted: Hosted): void {
    hosted.pending = null;
    hosted.pendingVersion = null;
    hosted.pins = 0;
    this.evict(hosted);
  }

  pin(hosted: Hosted): void {
    hosted.pins++;
  }

  unpin(hosted: Hosted): void {
    if (--hosted.pins > 0) return;
    hosted.pins = 0;
    hosted.pending = null;
    hosted.pendingVersion = null;
    if (hosted.actor !== null && hosted.kind.settled(hosted.actor.getSnapshot().value)) this.evict(hosted);
  }

  /** Stops the least recently used idle actors until the bound (or `down`, when above it) holds. */
  passivate(down = this.options.maxLiveActors): void {
    const bound = Math.max(down, this.options.maxLiveActors);
    if (this.live.size <= bound) return;
    for (const hosted of this.live.oldestFirst()) {
      if (this.live.size <= bound) break;
      if (hosted.pins === 0 && hosted.actor !== null) this.evict(hosted);
    }
  }

  stopAll(): void {
    for (const hosted of this.live.values()) hosted.actor?.stop();
    this.live.clear();
  }

  private evict(hosted: Hosted): void {
    hosted.actor?.stop();
    this.live.remove(hosted);
  }

  private start({ kind, name }: Hosted, from: { snapshot?: PersistedActor; input?: unknown }) {
    return createActor(adoptingLogic(kind.machine), { ...from, id: name, systemId: name, inspect: this.options.inspect } as never).start() as Actor<AnyStateMachine>;
  }
}
