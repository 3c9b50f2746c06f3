import type { CommandRunner } from '../commit/commandRunner.ts';
import type { Reader } from '../persistence/records.ts';

/** What every connector component is built on. */
export interface Core {
  /**
   * The serialized, group-committed write path: `runner.run(command)`
   * decides a command and answers once it is durable (a read-only store's
   * runner refuses every command).
   */
  readonly runner: CommandRunner;
  /** Reads of what is written (durable, at 'sync'). */
  readonly reader: Reader;
  /** The injected clock. */
  now(): Date;
}
