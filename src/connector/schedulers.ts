// schedulers: spec buildbot-database.md, "schedulers" (change classifications).
import { InvalidArgumentError } from '../errors.ts';
import { readRecord, readRecords, requireRecord } from '../persistence/records.ts';
import * as v from '../validate.ts';
import { breathe, due } from '../breathe.ts';
import type { Core } from './core.ts';
import { changes, classifications, objects } from './model.ts';

export type Classifications = Record<number, boolean>;

export class SchedulersComponent {
  constructor(private readonly core: Core) {}

  /** Records whether each change is important to the scheduler `objectid`. */
  async classifyChanges(objectid: number, given: Classifications): Promise<void> {
    v.id(objectid, 'objectid');
    if (!v.isPlainObject(given)) throw new InvalidArgumentError('classifications must be an object of changeid: boolean');
    const keys = Object.keys(given); // no count without listing them, but nothing is read or checked before the count
    v.atMost(keys.length, 'classifications', 'idsPerCall', 'changeids');
    const entries = keys.map((key) => [v.idKey(key, 'classifications key'), v.boolean((given as Record<string, unknown>)[key], `classifications[${key}]`)] as const);
    await this.core.runner.run(async (tx) => {
      await requireRecord(tx, objects, objectid, 'object');
      for (const [i, [changeid]] of entries.entries()) {
        if (due(i)) await breathe();
        await requireRecord(tx, changes, changeid, 'change');
      }
      const previous = await readRecord(tx, classifications, objectid);
      const important = { ...previous?.important };
      for (const [changeid, value] of entries) important[changeid] = value;
      tx.putRecord(classifications, objectid, { objectid, important }, previous);
    });
  }

  /**
   * The classifications of a scheduler, `{ changeid: important }`. With a
   * `branch` key, only changes on that branch; `{ branch: null }` means the
   * default branch, which is not the same as no `branch` key.
   */
  async getChangeClassifications(objectid: number, options?: { branch?: string | null }): Promise<Classifications> {
    v.id(objectid, 'objectid');
    const opts = v.options(options, 'getChangeClassifications options', ['branch']);
    const filtered = 'branch' in opts && opts.branch !== undefined;
    const branch = filtered ? v.nullableString(opts.branch, 'branch') : null;
    const reader = this.core.reader;
    const record = await readRecord(reader, classifications, objectid);
    const entries = Object.entries(record?.important ?? {}).map(([key, value]) => [Number(key), value] as const);
    if (!filtered) return Object.fromEntries(entries);
    const onBranch = new Set(
      (
        await readRecords(
          reader,
          changes,
          entries.map(([id]) => id),
        )
      )
        .filter((c) => c.branch === branch)
        .map((c) => c.changeid),
    );
    return Object.fromEntries(entries.filter(([id]) => onBranch.has(id)));
  }

  /** Forgets a scheduler's classifications: all of them, or those of changes below `less_than`. */
  async flushChangeClassifications(objectid: number, options?: { less_than?: number | null }): Promise<void> {
    v.id(objectid, 'objectid');
    const lessThan = v.optional(v.options(options, 'flushChangeClassifications options', ['less_than']).less_than, 'less_than', v.integer);
    await this.core.runner.run(async (tx) => {
      const previous = await readRecord(tx, classifications, objectid);
      if (previous === undefined) return;
      const important = lessThan === null ? {} : Object.fromEntries(Object.entries(previous.important).filter(([key]) => Number(key) >= lessThan));
      tx.putRecord(classifications, objectid, { objectid, important }, previous);
    });
  }
}
