import type { AnyMachineSnapshot } from 'xstate';
import type { ActorKind, Effect, Hosted, PersistedActor } from '../actors/hosted.ts';
import type { ActorRegistry } from '../actors/registry.ts';
import { nextSnapshot, persistedSnapshot } from '../actors/step.ts';
import type { KeyRange } from '../persistence/backend.ts';
import { recordKey } from '../persistence/keys.ts';
import type { Reader, RecordKind } from '../persistence/records.ts';
import { DELETED, mergeOverlay, overlayIn, present } from './layers.ts';
import type { Layer, Layered } from './layers.ts';
import type { Source } from './source.ts';

/**
 * One command's view and writes. Reads see this command's own writes, then
 * the writes of earlier commands not yet durable (`layers`, newest first),
 * then the store, through its source (a store of our own, or a shared one
 * whose reads are recorded). Writes and actor transitions stay here until
 * the command succeeds; a command that throws leaves nothing behind.
 */
export class Transaction implements Reader {
  readonly writes: Layer = new Map();
  readonly effects: Effect[] = [];
  /** Every actor this command loaded or created. */
  readonly loaded = new Set<Hosted>();
  private readonly decided = new Map<Hosted, AnyMachineSnapshot>();
  private readonly created: Hosted[] = [];

  constructor(
    readonly source: Source,
    private readonly layers: () => readonly Layered[],
    private readonly registry: ActorRegistry,
  ) {}

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
        this.source.reads.point(key, layer.versions?.get(key) ?? null);
        values[i] = present<T>(layer.writes.get(key));
        continue outer;
      }
      missing.push(i);
    }
    if (missing.length === 0) return values;
    const found = await this.source.getMany<T>(missing.map((i) => keys[i]!));
    for (const [n, i] of missing.entries()) values[i] = found[n];
    return values;
  }

  async keys(range: KeyRange): Promise<string[]> {
    const unlimited = range.limit === undefined || range.limit < 0;
    const own = overlayIn([this], range);
    const removed = [...own.values()].filter((present) => !present).length;
    // What the layers and the store hold (recorded, on a shared store), then this command's own writes.
    const seen = await this.layeredKeys(unlimited ? range : { ...range, limit: range.limit! + removed });
    this.source.reads.range(range.gte, range.lt, seen, unlimited ? undefined : range.limit! + removed, range.reverse === true);
    if (own.size === 0) return seen;
    const merged = mergeOverlay(seen, own, range.reverse === true);
    return unlimited ? merged : merged.slice(0, range.limit);
  }

  private async layeredKeys(range: KeyRange): Promise<string[]> {
    const overlay = overlayIn(this.layers(), range);
    if (overlay.size === 0) return this.source.keys(range);
    const removed = [...overlay.values()].filter((present) => !present).length;
    const limit = range.limit === undefined || range.limit < 0 ? undefined : range.limit + removed;
    const merged = mergeOverlay(await this.source.keys({ ...range, limit }), overlay, range.reverse === true);
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
    await this.source.readNewest(kind, this);
    return this.allocateId(kind);
  }

  /** `count` new ids of a kind, increasing. */
  allocateIds(kind: string, count: number): Promise<number[]> {
    return this.source.takeIds(kind, count, this);
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
    this.source.reads.point(hosted === null ? recordKey(kind.name, id) : hosted.key, hosted === null ? null : (hosted.pendingVersion ?? hosted.version));
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
    const version = this.source.version;
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
    this.effects.push({ hosted, event, next, record: persisted, version: this.source.version ?? undefined });
    // A live snapshot has the value and context index entries are made of; those of `previous` were
    // most likely made when it was recorded (the live actor adopts the very snapshot decided).
    const stale = previous === null ? [] : previous === hosted.indexedSnapshot ? hosted.indexKeys : kind.indexes(previous as unknown as PersistedActor);
    const fresh = kind.indexes(persisted);
    hosted.indexedSnapshot = next;
    hosted.indexKeys = fresh;
    this.putIndexed(hosted.key, persisted, fresh, stale);
  }
}
