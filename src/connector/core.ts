import type { Command, Warm } from '../actors/callQueue.ts';
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
