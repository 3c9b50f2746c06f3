// sourcestampsets: spec buildbot-database.md, "sourcestampset".
import type { Core } from './core.ts';
import { sourceStampSets } from './model.ts';

export class SourceStampSetsComponent {
  constructor(private readonly core: Core) {}

  /** Adds a new, empty source stamp set; resolves to its id. */
  async addSourceStampSet(): Promise<number> {
    return this.core.runner.run(async (tx) => {
      const id = await tx.allocateId(sourceStampSets.name);
      tx.putRecord(sourceStampSets, id, { id });
      return id;
    });
  }
}
