import type { AnyMachineSnapshot } from 'xstate';
import type { KeyRange } from '../persistence/backend.ts';
import { prefixRange } from '../persistence/backend.ts';
import { decodeStored } from '../persistence/codec.ts';
import { counterKey, recordKey, recordPrefix } from '../persistence/keys.ts';
import type { SharedBackend, Version } from '../persistence/shared/contract.ts';
import { ReadSet } from '../persistence/shared/readSet.ts';
import { nextSnapshot, persistedSnapshot } from '../actors/step.ts';
import type { Reader, RecordKind } from '../persistence/records.ts';
import type { ActorKind, ActorRegistry, Effect, Hosted, PersistedActor } from '../actors/registry.ts';

/** A deleted key in a layer of undurable writes. */
export const DELETED: unique symbol = Symbol('deleted');
export type Layer = Map<string, unknown>;

/** The id counters, one per kind, always ahead of every id in the store. */
export type Counters = Map<string, number>;

/** Writes of earlier commands, not yet durable; on a shared store, with the version each key was written at. */
export interface Layered {
  readonly writes: Layer;
  readonly versions?: ReadonlyMap<string, Version>;
}

/** A command on a shared store: its reads are recorded, to be checked at commit; ids come from the store. */
export interface SharedContext {
  readonly backend: SharedBackend;
  /** The version this command's writes carry. */
  readonly version: Version;
}

/**
 * One command's view and writes. Reads see this command's own writes, then
 * the writes of earlier commands not yet durable (`layers`, newest first),
 * then the store. Writes and actor transitions stay here until the command
 * succeeds; a command that throws leaves nothing behind.
 */
export class Transaction implements Reader {
  readonly writes: Layer = new Map();
  readonly effects: Effect[] = [];
  /** On a shared store: what this command read, with the versions seen. */
  readonly reads: ReadSet | null;
  /** Every actor this command loaded or created. */
  readonly loaded = new Set<Hosted>();
  private readonly decided = new Map<Hosted, AnyMachineSnapshot>();
  private readonly created: Hosted[] = [];

  constructor(
    private readonly store: Reader,
    private readonly layers: () => readonly Layered[],
    private readonly registry: ActorRegistry,
    private readonly counters: Counters,
    private readonly shared: SharedContext | null = null,
  ) {
    this.reads = shared === null ? null : new ReadSet();
  }

  /** The version this command's writes carry on a shared store. */
  get version(): Version | undefined {
    return this.shared?.version;
  }

  // --- reads -------------------------------------------------------------

  async get<T>(key: string): Promise<T | undefined> {
    return (await this.getMany<T>([key]))[0];
  }

  /** Each key from this command's writes, else the newest layer that has it, else the store (one read for all). */
  async getMany<T>(keys: readonly string[]): Promise<(T | undefined)[]> {
    const values: (T | undefined)[] = new Array(keys.length);
    const missing: number[] = [];
    outer: for (const [i, key] of keys.entries()) {
      if (this.writes.has(key)) {
        values[i] = present<T>(this.writes.get(key));
        continue;
      }
      for (const layer of this.layers()) {
        if (!layer.writes.has(key)) continue;
        this.reads?.point(key, layer.versions!.get(key)!);
        values[i] = present<T>(layer.writes.get(key));
        continue outer;
      }
      missing.push(i);
    }
    if (missing.length === 0) return values;
    const wanted = missing.map((i) => keys[i]!);
    if (this.shared === null) {
      const found = await this.store.getMany<T>(wanted);
      for (const [n, i] of missing.entries()) values[i] = found[n];
      return values;
    }
    const found = await this.shared.backend.getVersioned(wanted);
    missing.forEach((i, n) => {
      const entry = found[n];
      this.reads!.point(keys[i]!, entry?.version ?? null);
      values[i] = entry === undefined ? undefined : decodeStored<T>(keys[i]!, entry.bytes);
    });
    return values;
  }

  async keys(range: KeyRange): Promise<string[]> {
    const unlimited = range.limit === undefined || range.limit < 0;
    const own = overlayIn([this], range);
    const removed = [...own.values()].filter((present) => !present).length;
    // What the layers and the store hold (recorded, on a shared store), then this command's own writes.
    const seen = await this.layeredKeys(unlimited ? range : { ...range, limit: range.limit! + removed });
    this.reads?.range(range.gte, range.lt, seen, unlimited ? undefined : range.limit! + removed, range.reverse === true);
    if (own.size === 0) return seen;
    const merged = mergeOverlay(seen, own, range.reverse === true);
    return unlimited ? merged : merged.slice(0, range.limit);
  }

  private async layeredKeys(range: KeyRange): Promise<string[]> {
    const overlay = overlayIn(this.layers(), range);
    if (overlay.size === 0) return this.store.keys(range);
    const removed = [...overlay.values()].filter((present) => !present).length;
    const limit = range.limit === undefined || range.limit < 0 ? undefined : range.limit + removed;
    const merged = mergeOverlay(await this.store.keys({ ...range, limit }), overlay, range.reverse === true);
    return limit === undefined ? merged : merged.slice(0, range.limit);
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
  async allocateId(kind: string): Promise<number> {
    return (await this.allocateIds(kind, 1))[0]!;
  }

  /**
   * An id above every id of its kind in the store when this command commits,
   * not only when it decides: on a shared store it reads the newest record of
   * the kind, so a newer id committed by another writer first makes this
   * command decide again (changes: `getLatestChangeid` is the newest by id).
   */
  async allocateNewestId(kind: string): Promise<number> {
    if (this.shared !== null) await this.keys(prefixRange(recordPrefix(kind), { reverse: true, limit: 1 }));
    return this.allocateId(kind);
  }

  /** `count` new ids of a kind, increasing. */
  async allocateIds(kind: string, count: number): Promise<number[]> {
    if (this.shared !== null) return count === 0 ? [] : this.shared.backend.nextIds(kind, count);
    const first = (this.counters.get(kind) ?? 0) + 1;
    const ids = Array.from({ length: count }, (_, i) => first + i);
    if (count > 0) {
      this.counters.set(kind, first + count - 1);
      this.put(counterKey(kind), first + count - 1);
    }
    return ids;
  }

  // --- actors ------------------------------------------------------------

  /** The actor for an id (loaded or rehydrated), or null if none exists. */
  async actor(kind: ActorKind, id: number): Promise<Hosted | null> {
    return this.liveActor(kind, id) ?? this.use(kind, id, await this.registry.load(kind, id));
  }

  /** The actor for an id if it is live, with no wait; else undefined (then `actor` loads it). */
  liveActor(kind: ActorKind, id: number): Hosted | undefined {
    const hosted = this.registry.touch(kind, id);
    return hosted === undefined ? undefined : this.use(kind, id, hosted);
  }

  private use<H extends Hosted | null>(kind: ActorKind, id: number, hosted: H): H {
    // The state this command decides on is the actor's; so is the version it must still have at commit.
    this.reads?.point(recordKey(kind.name, id), hosted === null ? null : (hosted.pendingVersion ?? hosted.version));
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
    const version = this.shared?.version ?? null;
    for (const [hosted, snapshot] of this.decided) {
      hosted.pending = snapshot;
      hosted.pendingVersion = version;
    }
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
    const persisted = persistedSnapshot(kind.machine, next) as PersistedActor;
    this.decided.set(hosted, next);
    this.effects.push({ hosted, event, next, record: persisted, version: this.shared?.version });
    // A live snapshot has the value and context index entries are made of; those of `previous` were
    // most likely made when it was recorded (the live actor adopts the very snapshot decided).
    const stale = previous === null ? [] : previous === hosted.indexedSnapshot ? hosted.indexKeys : kind.indexes(previous as unknown as PersistedActor);
    const fresh = kind.indexes(persisted);
    hosted.indexedSnapshot = next;
    hosted.indexKeys = fresh;
    this.putIndexed(hosted.key, persisted, fresh, stale);
  }
}

function present<T>(value: unknown): T | undefined {
  return value === DELETED ? undefined : (value as T);
}

/** Keys the layers write inside a range: key -> present (the newest layer wins). */
function overlayIn(layers: readonly Layered[], range: KeyRange): Map<string, boolean> {
  const overlay = new Map<string, boolean>();
  for (let i = layers.length - 1; i >= 0; i--) {
    for (const [key, value] of layers[i]!.writes) {
      if (key >= range.gte && key < range.lt) overlay.set(key, value !== DELETED);
    }
  }
  return overlay;
}

/** Stored keys with an overlay's additions and deletions, in range order. */
function mergeOverlay(stored: readonly string[], overlay: ReadonlyMap<string, boolean>, reverse: boolean): string[] {
  const merged = new Set(stored);
  for (const [key, present] of overlay) {
    if (present) merged.add(key);
    else merged.delete(key);
  }
  const sorted = [...merged].sort();
  return reverse ? sorted.reverse() : sorted;
}
