import type { Command } from '../actors/commitQueue.ts';
import type { Reader } from '../persistence/records.ts';

/** What every connector component is built on. */
export interface Core {
  /** Runs a command on the serialized, group-committed write path. */
  run<T>(command: Command<T>): Promise<T>;
  /** Reads of what is written (durable, at 'sync'). */
  readonly reader: Reader;
  /** The injected clock. */
  now(): Date;
}
