import type { Effect } from '../actors/hosted.ts';
import type { ActorRegistry } from '../actors/registry.ts';
import { breathe, due } from '../breathe.ts';
import { StorageError } from '../errors.ts';
import type { Backend, WriteBatch } from '../persistence/backend.ts';
import { encode } from '../persistence/codec.ts';
import type { StoreReader } from '../persistence/records.ts';
import { CommandRunner } from './commandRunner.ts';
import type { Call, Warm } from './commandRunner.ts';
import { DELETED } from './layers.ts';
import type { Layer, Layered } from './layers.ts';
import { OwnStoreSource } from './source.ts';
import type { Counters } from './source.ts';
import { Transaction } from './transaction.ts';

interface Answer {
  call: Call;
  /** Whether the call's own writes are in the commit (else it only read what the commit holds). */
  wrote: boolean;
  ok: boolean;
  value: unknown;
}

/** The writes of consecutive commands, made durable in one store write. */
class Group implements Layered {
  readonly writes: Layer = new Map();
  readonly effects: Effect[] = [];
  readonly answers: Answer[] = [];
}

/**
 * Runs commands one at a time (validate, decide, commit, apply) and groups
 * their writes: while one store write is in flight, the next commands'
 * writes gather into the following one. No call is answered, not even a
 * refusal, before every write it saw is durable; so a crash never takes back
 * an answer. If a write fails, its calls get a StorageError, actors fall
 * back to their durable state, and the calls that only saw it run again.
 *
 * A group is written as soon as it holds half the calls waiting and the
 * store is free. Callers that wait for their answer before the next call
 * so settle into two cohorts: one decides while the other's write is in
 * flight, and deciding (main thread) overlaps writing (LevelDB's thread).
 */
export class OwnStoreRunner extends CommandRunner<Group> {
  private failures = 0; // bumped when a write fails: decisions made before it are void
  private readonly source: OwnStoreSource;

  constructor(
    private readonly backend: Backend,
    private readonly store: StoreReader,
    private readonly registry: ActorRegistry,
    counters: Counters,
    private readonly sync: boolean,
  ) {
    super(() => new Group());
    this.source = new OwnStoreSource(store, counters);
  }

  protected override prefetch({ kind, ids }: Warm): void {
    this.registry.prefetch(kind, ids);
  }

  protected async decide(call: Call): Promise<void> {
    for (;;) {
      const failuresBefore = this.failures;
      const tx = new Transaction(this.source, this.layers, this.registry);
      let ok = true;
      let value: unknown;
      try {
        value = await call.command(tx);
      } catch (error) {
        ok = false;
        value = error;
      }
      if (this.failures !== failuresBefore) {
        tx.abandon(); // it saw writes that are now lost: decide again
        continue;
      }
      if (ok && tx.writes.size > 0) {
        tx.commit();
        this.join(tx);
        this.open.answers.push({ call, wrote: true, ok, value });
        if (this.flushNow(this.open.answers.length)) void this.flush();
      } else {
        if (ok) tx.commit();
        else tx.abandon();
        this.answerAfterWrites({ call, wrote: false, ok, value });
      }
      return;
    }
  }

  private join(tx: Transaction): void {
    for (const [key, value] of tx.writes) this.open.writes.set(key, value);
    for (const effect of tx.effects) this.open.effects.push(effect);
  }

  /** Answers once the newest write this call could have seen is durable. */
  private answerAfterWrites(answer: Answer): void {
    const newest = this.open.writes.size > 0 ? this.open : this.flushing;
    if (newest === null) this.settle(answer.call, answer.ok, answer.value);
    else newest.answers.push(answer);
  }

  protected pending(): number {
    return this.open.writes.size > 0 ? this.open.answers.length : 0;
  }

  protected async flush(): Promise<void> {
    const group = this.takeOpen();
    const batch: WriteBatch = new Map();
    for (const [key, value] of group.writes) {
      batch.set(key, value === DELETED ? null : encode(value));
      if (due(batch.size)) await breathe(); // a bulk release's commit: tens of thousands of keys
    }
    try {
      await this.backend.write(batch, { sync: this.sync });
    } catch (error) {
      this.fail(group, error);
      return;
    }
    this.store.written(batch);
    await this.registry.apply(group.effects);
    this.flushing = null;
    for (const { call, ok, value } of group.answers) this.settle(call, ok, value);
    this.next();
  }

  private fail(group: Group, cause: unknown): void {
    const lost = this.open; // decided on top of the failed write
    this.open = new Group();
    this.flushing = null;
    this.failures++;
    this.store.writeFailed();
    this.registry.discard(group.effects);
    this.registry.discard(lost.effects);
    const error = cause instanceof StorageError ? cause : new StorageError(`store write failed: ${(cause as Error)?.message ?? cause}`, { cause });
    const retry: Call[] = [];
    for (const answer of group.answers) {
      if (answer.wrote) this.settle(answer.call, false, error);
      else retry.push(answer.call);
    }
    for (const answer of lost.answers) retry.push(answer.call);
    this.queue.unshift(...retry);
    if (!this.running && this.queue.length > 0) void this.pump();
    else this.checkIdle();
  }
}
