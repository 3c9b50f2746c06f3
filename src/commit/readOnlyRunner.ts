import { CoordinatorError } from '../errors.ts';
import { CommandRunner } from './commandRunner.ts';
import type { Call } from './commandRunner.ts';

/** The runner of a store opened only to look at it (the command line's tools): every command is refused. */
export class ReadOnlyRunner extends CommandRunner<null> {
  constructor(private readonly shown: string) {
    super(() => null);
  }

  protected async decide(call: Call): Promise<void> {
    this.settle(call, false, new CoordinatorError(`${this.shown} is open read-only`));
  }

  protected async flush(): Promise<void> {}

  protected pending(): number {
    return 0;
  }
}
