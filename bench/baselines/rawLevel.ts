import { ClassicLevel } from 'classic-level';
import type { Backend, KeyRange, WriteBatch } from '../../src/persistence/backend.ts';

/**
 * The storage ceiling, derived rather than guessed: a Backend wrapper keeps
 * every batch the coordinator writes, by phase of the run, and `replay`
 * writes the same keys and bytes in the same grouping with raw classic-level
 * chained batches, one write at a time as the commit queue issues them.
 */
export class RecordingBackend implements Backend {
  /** Batches written in each phase, with the entry the backend stamped on each; writes outside any phase are not kept. */
  private readonly kept = new Map<string, { batch: WriteBatch; stamp: [string, Uint8Array] | null }[]>();
  /**
   * Seconds spent inside the inner backend's write, by phase. The commit
   * queue has one write in flight at a time, so this is the wall time of
   * the phase with a store write in flight.
   */
  readonly writeSeconds = new Map<string, number>();
  phase: string | null = null;

  constructor(private readonly inner: Backend) {}

  get capabilities() {
    return this.inner.capabilities;
  }
  open(): Promise<void> {
    return this.inner.open();
  }
  get(key: string) {
    return this.inner.get(key);
  }
  getMany(keys: readonly string[]) {
    return this.inner.getMany(keys);
  }
  keys(range: KeyRange) {
    return this.inner.keys(range);
  }
  entries(range: KeyRange) {
    return this.inner.entries(range);
  }
  async write(batch: WriteBatch, options: { sync: boolean }): Promise<void> {
    const phase = this.phase;
    const started = performance.now();
    await this.inner.write(batch, options);
    if (phase === null) return;
    this.writeSeconds.set(phase, (this.writeSeconds.get(phase) ?? 0) + (performance.now() - started) / 1000);
    // Empty batches are not written by the LevelDB backend, so they are not replayed either.
    if (batch.size > 0) {
      let list = this.kept.get(phase);
      if (list === undefined) this.kept.set(phase, (list = []));
      list.push({ batch, stamp: stampOf(this.inner) });
    }
  }

  /** The batches of a phase as the store received them, stamps included. */
  batches(phase: string): WriteBatch[] {
    return (this.kept.get(phase) ?? []).map(({ batch, stamp }) => (stamp === null ? batch : new Map(batch).set(...stamp)));
  }

  /** The phases that wrote something. */
  phases(): string[] {
    return [...this.kept.keys()];
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

/** The entry the backend added to its last write (the LevelDB backend's sequence number), if it adds one. */
function stampOf(backend: Backend): [string, Uint8Array] | null {
  const stamped = backend as Partial<{ lastStamp: () => [string, Uint8Array] }>;
  return typeof stamped.lastStamp === 'function' ? stamped.lastStamp() : null;
}

/** Counts of a list of batches: how many, and the keys and value bytes they carry. */
export function batchStats(batches: readonly WriteBatch[]): { batches: number; operations: number; bytes: number } {
  let operations = 0;
  let bytes = 0;
  for (const batch of batches) {
    operations += batch.size;
    for (const [key, value] of batch) bytes += Buffer.byteLength(key) + (value?.byteLength ?? 0);
  }
  return { batches: batches.length, operations, bytes };
}

/** Opens a store for replay: the same classic-level options as the coordinator's LevelDB backend. */
export async function openRaw(location: string): Promise<ClassicLevel<string, Uint8Array>> {
  const db = new ClassicLevel<string, Uint8Array>(location, { keyEncoding: 'utf8', valueEncoding: 'view' });
  await db.open();
  return db;
}

/** Writes the batches one after another as chained batches; resolves to the seconds taken. Each write's milliseconds go into `times`. */
export async function replay(db: ClassicLevel<string, Uint8Array>, batches: readonly WriteBatch[], sync: boolean, times: number[] = []): Promise<number> {
  const started = performance.now();
  for (const batch of batches) {
    const chained = db.batch();
    for (const [key, value] of batch) {
      if (value === null) chained.del(key);
      else chained.put(key, value);
    }
    const before = performance.now();
    await chained.write({ sync } as object);
    times.push(performance.now() - before);
  }
  return (performance.now() - started) / 1000;
}
