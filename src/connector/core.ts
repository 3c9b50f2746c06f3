import type { Command, Warm } from '../actors/commitQueue.ts';
import type { Reader } from '../persistence/records.ts';

/** What every connector component is built on. */
export interface Core {
  /** Runs a command on the serialized, group-committed write path; `warm` names actors to rehydrate early. */
  run<T>(command: Command<T>, warm?: Warm): Promise<T>;
  /** Reads of what is written (durable, at 'sync'). */
  readonly reader: Reader;
  /** The injected clock. */
  now(): Date;
}

/** How many items a command handles between two turns of the event loop (see breathe). */
export const CHUNK = 256;

/** Whether a command walking a list is at item `index` such that it should breathe first: every CHUNK items. */
export function due(index: number): boolean {
  return index > 0 && index % CHUNK === 0;
}

/**
 * Lets the event loop turn in the middle of a long command, so timers, I/O
 * and other callers' reads run. It stays one command: the commit queue
 * starts no other until it returns, and nothing it decided is written or
 * seen before then (its writes live in its transaction), so it is still all
 * or nothing. Commands on LevelDB already wait for reads like this; on the
 * in-memory store they would otherwise hold the thread from start to end.
 */
export function breathe(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
