import { ClosedError } from '../errors.ts';
import type { Transaction } from './transaction.ts';
import type { ActorKind } from '../actors/hosted.ts';

/** A command: decides against a transaction, throws a CoordinatorError to refuse. */
export type Command<T> = (tx: Transaction) => Promise<T>;

/** Actors a command will load. */
export interface Warm {
  kind: ActorKind;
  ids: readonly number[];
}

export interface Call {
  command: Command<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/**
 * Runs the connector's commands. What every runner shares: calls are taken
 * in order and decided one at a time (`decide`), while at most one group of
 * decisions is being made durable (`flushing`); a group waits a turn of the
 * event loop for the commands issued in the same turn, unless `flush` is
 * called sooner. OwnStoreRunner and SharedStoreRunner decide and commit;
 * ReadOnlyRunner refuses.
 */
export abstract class CommandRunner<G = unknown> {
  protected readonly queue: Call[] = [];
  protected running = false;
  protected open: G;
  protected flushing: G | null = null;
  /** Calls taken and not yet answered. */
  protected waiting = 0;
  private closed = false;
  private flushScheduled = false;
  private idle: (() => void) | null = null;

  constructor(private readonly newGroup: () => G) {
    this.open = newGroup();
  }

  /** Queues a command; `warm` names actors it will load, to rehydrate while it waits its turn. */
  run<T>(command: Command<T>, warm?: Warm): Promise<T> {
    if (this.closed) return Promise.reject(new ClosedError('the coordinator is closed'));
    if (warm !== undefined && this.running) this.prefetch(warm);
    this.waiting++;
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ command, resolve: resolve as (value: unknown) => void, reject });
      if (!this.running) void this.pump();
    });
  }

  /** Stops taking calls and resolves once every call taken is answered. */
  async close(): Promise<void> {
    this.closed = true;
    if (!this.running && this.flushing === null && !this.flushScheduled) return;
    await new Promise<void>((resolve) => (this.idle = resolve));
  }

  /** Starts loading the actors a queued command will need, so its turn does not wait on the store. */
  protected prefetch(_warm: Warm): void {}

  protected abstract decide(call: Call): Promise<void>;
  /** Makes the open group durable. */
  protected abstract flush(): Promise<void>;
  /** How many calls the open group holds that wait for its flush (0: nothing to flush). */
  protected abstract pending(): number;

  protected async pump(): Promise<void> {
    this.running = true;
    for (let call = this.queue.shift(); call !== undefined; call = this.queue.shift()) await this.decide(call);
    this.running = false;
    this.checkIdle();
  }

  /** The groups of undurable writes a command reads through, newest first. */
  protected readonly layers = (): G[] => (this.flushing === null ? [this.open] : [this.open, this.flushing]);

  /**
   * A decision joined the open group, which now holds `size`: whether to
   * flush it now. It is flushed once it holds half the calls waiting and no
   * other is in flight, else (scheduled here) at the next turn. Callers that
   * wait for each answer so settle into two cohorts: one decides while the
   * other's group is being made durable.
   */
  protected flushNow(size: number): boolean {
    if (this.flushing === null && 2 * size >= this.waiting) return true;
    this.scheduleFlush();
    return false;
  }

  /** Starts a new open group, making the old one the one being flushed. */
  protected takeOpen(): G {
    const group = this.open;
    this.open = this.newGroup();
    this.flushing = group;
    return group;
  }

  protected scheduleFlush(): void {
    if (this.flushing !== null || this.flushScheduled) return;
    this.flushScheduled = true;
    // Let the commands already issued in this turn join the same group.
    setImmediate(() => {
      this.flushScheduled = false;
      if (this.flushing === null && this.pending() > 0) void this.flush();
      else this.checkIdle();
    });
  }

  /**
   * After a flush: the next group, now if it is ready by the same rule as
   * flushNow (else at the next turn, so that a store that answers at once
   * still gets groups, not one call per write), or maybe the end of close().
   */
  protected next(): void {
    const calls = this.pending();
    if (calls === 0) this.checkIdle();
    else if (this.flushNow(calls)) void this.flush();
  }

  protected settle(call: Call, ok: boolean, value: unknown): void {
    this.waiting--;
    if (ok) call.resolve(value);
    else call.reject(value);
  }

  protected checkIdle(): void {
    if (!this.closed || this.running || this.flushing !== null || this.flushScheduled || this.idle === null) return;
    this.idle();
    this.idle = null;
  }
}
