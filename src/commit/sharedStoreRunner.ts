import type { ActorRegistry } from '../actors/registry.ts';
import { breathe, due } from '../breathe.ts';
import { StorageError } from '../errors.ts';
import { encode } from '../persistence/codec.ts';
import type { Reader } from '../persistence/records.ts';
import { commitDecisions } from '../persistence/shared/commit.ts';
import type { SharedBackend, Version, VersionSource } from '../persistence/shared/contract.ts';
import { CommandRunner } from './commandRunner.ts';
import type { Call, Warm } from './commandRunner.ts';
import { DELETED } from './layers.ts';
import type { Layer, Layered } from './layers.ts';
import { SharedStoreSource } from './source.ts';
import { Transaction } from './transaction.ts';

/** A decided command waiting for its group's commit. */
interface Entry {
  call: Call;
  tx: Transaction;
  /** What it read, and the version its writes carry. */
  source: SharedStoreSource;
  ok: boolean;
  value: unknown;
}

/** Consecutive decisions, checked and committed in one transaction. */
class Group implements Layered {
  readonly writes: Layer = new Map();
  readonly versions = new Map<string, Version>();
  readonly entries: Entry[] = [];
}

/** How often one call is decided again before it gives up. */
const MAX_ATTEMPTS = 50;

/**
 * The commit queue of a store that other coordinators write too. Commands
 * are decided one at a time, as on a store of our own, on cached actors and
 * other commands' undurable writes; but a cache can be stale here, so every
 * decision (a refusal and a read-only answer too) records what it read. A
 * group commits in one serializable transaction that keeps the decisions
 * whose reads still hold and writes theirs; the others are evicted from the
 * cache and decided again on fresh reads. No call is answered before its
 * group commits, so no answer comes from a stale copy or an undurable write.
 */
export class SharedStoreRunner extends CommandRunner<Group> {
  private readonly attempts = new WeakMap<Call, number>();
  /** Bumped when undurable writes are withdrawn: a decision in progress may have read them. */
  private epoch = 0;

  constructor(
    private readonly backend: SharedBackend,
    private readonly store: Reader,
    private readonly registry: ActorRegistry,
    private readonly versions: VersionSource,
  ) {
    super(() => new Group());
  }

  protected override prefetch({ kind, ids }: Warm): void {
    this.registry.prefetch(kind, ids);
  }

  protected async decide(call: Call): Promise<void> {
    let tx: Transaction;
    let source: SharedStoreSource;
    let ok: boolean;
    let value: unknown;
    for (;;) {
      const epoch = this.epoch;
      source = new SharedStoreSource(this.backend, this.store, this.versions.take());
      tx = new Transaction(source, this.layers, this.registry);
      ok = true;
      try {
        value = await call.command(tx);
      } catch (error) {
        ok = false;
        value = error;
      }
      if (this.epoch === epoch) break;
      tx.abandon(); // it may have read writes withdrawn meanwhile: decide again
    }
    if (ok) tx.commit();
    else tx.abandon();
    if (!ok && value instanceof StorageError) return this.settle(call, false, value); // decided nothing
    this.join({ call, tx, source, ok, value });
    if (this.flushNow(this.open.entries.length)) void this.flush();
  }

  private join(entry: Entry): void {
    if (entry.ok) {
      for (const [key, written] of entry.tx.writes) {
        this.open.writes.set(key, written);
        this.open.versions.set(key, entry.source.version);
      }
    }
    this.open.entries.push(entry);
  }

  protected pending(): number {
    return this.open.entries.length;
  }

  protected async flush(): Promise<void> {
    const group = this.takeOpen();
    const writes = await encodeWrites(group.entries);
    let kept: boolean[];
    try {
      kept = await commitDecisions(
        this.backend,
        group.entries.map(({ source }, i) => ({ reads: source.reads, writes: writes[i]!, version: source.version })),
      );
    } catch (error) {
      this.fail(group, error);
      return;
    }
    const stale = group.entries.filter((_, i) => !kept[i]);
    await this.registry.apply(group.entries.flatMap(({ tx, ok }, i) => (kept[i] && ok ? tx.effects : [])));
    const again = [...stale, ...this.withdrawDependents(stale)];
    for (const { tx } of again) this.forget(tx);
    this.flushing = null;
    for (const [i, { call, ok, value }] of group.entries.entries()) if (kept[i]) this.settle(call, ok, value);
    this.retry(again.map(({ call }) => call));
    this.next();
  }

  /**
   * Takes out of the open group every decision that read a write of a stale
   * one (directly or through another such decision): it is bound to fail,
   * and left in place its writes would mislead the decisions made again.
   */
  private withdrawDependents(stale: readonly Entry[]): Entry[] {
    if (stale.length === 0) return [];
    this.epoch++;
    const versions = new Set<Version>();
    const keys = new Set<string>();
    const doom = ({ tx, source, ok }: Entry) => {
      versions.add(source.version);
      if (ok) for (const key of tx.writes.keys()) keys.add(key);
    };
    stale.forEach(doom);
    const kept: Entry[] = [];
    const withdrawn: Entry[] = [];
    for (const entry of this.open.entries) {
      if (readsAny(entry.source, versions, keys)) {
        doom(entry);
        withdrawn.push(entry);
      } else kept.push(entry);
    }
    if (withdrawn.length > 0) {
      this.open = new Group();
      for (const entry of kept) this.join(entry);
    }
    return withdrawn;
  }

  /** Drops what a command decided and every actor it read: the store has moved on from them. */
  private forget(tx: Transaction): void {
    this.registry.discard(tx.effects);
    for (const hosted of tx.loaded) this.registry.drop(hosted);
  }

  /** Decides stale calls again, first in the queue, in their order. */
  private retry(calls: Call[]): void {
    const again: Call[] = [];
    for (const call of calls) {
      const attempts = (this.attempts.get(call) ?? 1) + 1;
      this.attempts.set(call, attempts);
      if (attempts > MAX_ATTEMPTS) this.settle(call, false, new StorageError(`gave up after ${MAX_ATTEMPTS} attempts: other coordinators kept changing what this call read`));
      else again.push(call);
    }
    if (again.length === 0) return;
    this.queue.unshift(...again);
    if (!this.running) void this.pump();
  }

  /** The commit failed and could not be retried: every call of the group gets the error, and its actors are read again. */
  private fail(group: Group, cause: unknown): void {
    this.flushing = null;
    for (const { tx } of group.entries) this.forget(tx);
    const error = cause instanceof StorageError ? cause : new StorageError(`store commit failed: ${(cause as Error)?.message ?? cause}`, { cause });
    for (const { call } of group.entries) this.settle(call, false, error);
    this.next();
  }
}

/** Whether a decision read one of these versions, or a range that holds one of these keys. */
function readsAny({ reads }: SharedStoreSource, versions: ReadonlySet<Version>, keys: ReadonlySet<string>): boolean {
  for (const version of reads.points.values()) if (version !== null && versions.has(version)) return true;
  for (const { gte, lt } of reads.ranges) for (const key of keys) if (key >= gte && key < lt) return true;
  return false;
}

/** Each entry's writes, encoded once (null: a delete; a refused command writes nothing). */
async function encodeWrites(entries: readonly Entry[]): Promise<Map<string, Uint8Array | null>[]> {
  const out: Map<string, Uint8Array | null>[] = [];
  let count = 0;
  for (const { tx, ok } of entries) {
    const bytes = new Map<string, Uint8Array | null>();
    if (ok) {
      for (const [key, value] of tx.writes) {
        bytes.set(key, value === DELETED ? null : encode(value));
        if (due(++count)) await breathe();
      }
    }
    out.push(bytes);
  }
  return out;
}
