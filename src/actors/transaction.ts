import type { AnyMachineSnapshot } from 'xstate';
import type { KeyRange } from '../persistence/backend.ts';
import { counterKey, recordKey } from '../persistence/keys.ts';
import { nextSnapshot, persistedSnapshot } from './step.ts';
import type { Reader, RecordKind } from '../persistence/records.ts';
import type { ActorKind, ActorRegistry, Effect, Hosted, PersistedActor } from './registry.ts';

/** A deleted key in a layer of undurable writes. */
export const DELETED: unique symbol = Symbol('deleted');
export type Layer = Map<string, unknown>;

/** The id counters, one per kind, always ahead of every id in the store. */
export type Counters = Map<string, number>;

/**
 * One command's view and writes. Reads see this command's own writes, then
 * the writes of earlier commands not yet durable (`layers`, newest first),
 * then the store. Writes and actor transitions stay here until the command
 * succeeds; a command that throws leaves nothing behind.
 */
export class Transaction implements Reader {
  readonly writes: Layer = new Map();
  readonly effects: Effect[] = [];
  private readonly decided = new Map<Hosted, AnyMachineSnapshot>();
  private readonly loaded = new Set<Hosted>();
  private readonly created: Hosted[] = [];

  constructor(
    private readonly store: Reader,
    private readonly layers: () => Layer[],
    private readonly registry: ActorRegistry,
    private readonly counters: Counters,
  ) {}

  // --- reads -------------------------------------------------------------

  async get<T>(key: string): Promise<T | undefined> {
    for (const layer of this.allLayers()) {
      if (layer.has(key)) {
        const value = layer.get(key);
        return value === DELETED ? undefined : (value as T);
      }
    }
    return this.store.get<T>(key);
  }

  async getMany<T>(keys: readonly string[]): Promise<(T | undefined)[]> {
    return Promise.all(keys.map((key) => this.get<T>(key)));
  }

  async keys(range: KeyRange): Promise<string[]> {
    const overlay = new Map<string, boolean>(); // key -> present
    for (const layer of this.allLayers().reverse()) {
      for (const [key, value] of layer) {
        if (key >= range.gte && key < range.lt) overlay.set(key, value !== DELETED);
      }
    }
    if (overlay.size === 0) return this.store.keys(range);
    const removed = [...overlay.values()].filter((present) => !present).length;
    const limit = range.limit === undefined || range.limit < 0 ? undefined : range.limit + removed;
    const merged = new Set(await this.store.keys({ ...range, limit }));
    for (const [key, present] of overlay) {
      if (present) merged.add(key);
      else merged.delete(key);
    }
    const sorted = [...merged].sort();
    if (range.reverse) sorted.reverse();
    return range.limit === undefined || range.limit < 0 ? sorted : sorted.slice(0, range.limit);
  }

  // --- writes ------------------------------------------------------------

  put(key: string, value: unknown): void {
    this.writes.set(key, value);
  }

  del(key: string): void {
    this.writes.set(key, DELETED);
  }

  /** Writes a record and brings its index entries from `previous` to `next`. */
  putRecord<R>(kind: RecordKind<R>, id: number, next: R, previous?: R): void {
    this.putIndexed(recordKey(kind.name, id), next, kind.indexes(next), previous === undefined ? [] : kind.indexes(previous));
  }

  /** Writes a record whose index entries go from `stale` to `fresh`: only the entries that differ are written. */
  private putIndexed(key: string, record: unknown, fresh: readonly string[], stale: readonly string[]): void {
    for (const entry of fresh) if (!stale.includes(entry)) this.put(entry, true);
    for (const entry of stale) if (!fresh.includes(entry)) this.del(entry);
    this.put(key, record);
  }

  /** Deletes a record and its index entries. */
  deleteRecord<R>(kind: RecordKind<R>, id: number, previous: R): void {
    for (const key of kind.indexes(previous)) this.del(key);
    this.del(recordKey(kind.name, id));
  }

  /** The next id of a kind. Ids are never reused, even if this command is refused. */
  allocateId(kind: string): number {
    const id = (this.counters.get(kind) ?? 0) + 1;
    this.counters.set(kind, id);
    this.put(counterKey(kind), id);
    return id;
  }

  // --- actors ------------------------------------------------------------

  /** The actor for an id (loaded or rehydrated), or null if none exists. */
  async actor(kind: ActorKind, id: number): Promise<Hosted | null> {
    const hosted = await this.registry.load(kind, id);
    if (hosted !== null && !this.loaded.has(hosted)) {
      this.loaded.add(hosted);
      this.registry.pin(hosted);
    }
    return hosted;
  }

  /**
   * Starts rehydrating actors this command is about to load, so their reads
   * overlap. One actor has nothing to overlap with: loading it reads it.
   */
  prefetch(kind: ActorKind, ids: readonly number[]): void {
    if (ids.length > 1) this.registry.prefetch(kind, ids);
  }

  /** The newest state of an actor as this command sees it. */
  snapshot(hosted: Hosted): AnyMachineSnapshot {
    return this.decided.get(hosted) ?? hosted.current();
  }

  /**
   * Sends an event through the machine, purely. Returns the next snapshot,
   * or null if the machine refuses it (no transition taken).
   */
  send<E extends { type: string }>(hosted: Hosted, event: E): AnyMachineSnapshot | null {
    const previous = this.snapshot(hosted);
    const next = nextSnapshot(hosted.kind.machine, previous, event);
    if (next === previous) return null;
    this.record(hosted, previous, next, event);
    return next;
  }

  /** Creates an actor of a kind, with a new id, from its input. */
  spawn(kind: ActorKind, id: number, input: unknown): Hosted {
    const hosted = this.registry.create(kind, id, input);
    this.created.push(hosted);
    this.loaded.add(hosted);
    this.registry.pin(hosted);
    this.record(hosted, null, hosted.pending!, null);
    return hosted;
  }

  /** Hands the decided states to their actors as pending; called once the command succeeded. */
  commit(): void {
    for (const [hosted, snapshot] of this.decided) hosted.pending = snapshot;
    for (const { hosted } of this.effects) this.registry.pin(hosted); // released as each is applied
    this.release();
  }

  /** Drops everything this command decided; called when it was refused. */
  abandon(): void {
    for (const hosted of this.created) this.registry.forget(hosted);
    this.release();
  }

  private release(): void {
    for (const hosted of this.loaded) this.registry.unpin(hosted);
    this.registry.passivate();
  }

  private record(hosted: Hosted, previous: AnyMachineSnapshot | null, next: AnyMachineSnapshot, event: { type: string } | null): void {
    const kind = hosted.kind;
    // A live snapshot has the value and context that index entries are made of.
    const persisted = persistedSnapshot(kind.machine, next) as PersistedActor;
    this.decided.set(hosted, next);
    this.effects.push({ hosted, event, next, record: persisted });
    const stale = previous === null ? [] : kind.indexes(previous as unknown as PersistedActor);
    this.putIndexed(recordKey(kind.name, hosted.id), persisted, kind.indexes(persisted), stale);
  }

  private allLayers(): Layer[] {
    return [this.writes, ...this.layers()];
  }
}
