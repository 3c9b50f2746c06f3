import type { CallQueue } from '../commit/commandRunner.ts';
import type { Reader } from '../persistence/records.ts';

/** What every connector component is built on. */
export interface Core {
  /**
   * The serialized, group-committed write path: `queue.run(command)` decides
   * a command and answers once it is durable (CallQueue.run; a read-only
   * store's queue refuses every command).
   */
  readonly queue: Pick<CallQueue<unknown>, 'run'>;
  /** Reads of what is written (durable, at 'sync'). */
  readonly reader: Reader;
  /** The injected clock. */
  now(): Date;
}
