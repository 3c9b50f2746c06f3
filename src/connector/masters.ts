// masters: spec changesources.md and Buildbot's masters connector (findMasterId,
// setMasterState, getMaster, getMasters).
import type { Transaction } from '../commit/transaction.ts';
import { firstIdUnder, idsUnder, readRecord, readRecords } from '../persistence/records.ts';
import { recordPrefix } from '../persistence/keys.ts';
import type { MasterDict } from '../types.ts';
import * as v from '../validate.ts';
import { releaseClaimsOf } from './buildrequests.ts';
import { releaseChangeSourcesOf } from './changesources.ts';
import type { Core } from './core.ts';
import { masterIndex, masters } from './model.ts';
import type { MasterRecord } from './model.ts';

export class MastersComponent {
  constructor(private readonly core: Core) {}

  /** The id of the master with this name, adding it (inactive) if new. */
  async findMasterId(name: string): Promise<number> {
    v.string(name, 'name');
    const now = this.core.now().getTime();
    return this.core.runner.run(async (tx) => {
      const known = await firstIdUnder(tx, masterIndex.name(name));
      if (known !== undefined) return known;
      const id = await tx.allocateId(masters.name);
      tx.putRecord(masters, id, { id, name, active: false, last_active: now });
      return id;
    });
  }

  /**
   * Marks a master active (refreshing last_active) or inactive. Going
   * inactive releases, in the same commit, its change sources and its
   * claims on incomplete build requests. Resolves to whether `active` changed;
   * false for a master that does not exist.
   */
  async setMasterState(masterid: number, active: boolean): Promise<boolean> {
    v.id(masterid, 'masterid');
    v.boolean(active, 'active');
    const now = this.core.now().getTime();
    return this.core.runner.run(async (tx) => {
      const master = await readRecord(tx, masters, masterid);
      if (master === undefined) return false;
      if (!active) await releaseMaster(tx, masterid);
      tx.putRecord(masters, masterid, { ...master, active, last_active: active ? now : master.last_active }, master);
      return master.active !== active;
    });
  }

  async getMaster(masterid: number): Promise<MasterDict | null> {
    v.id(masterid, 'masterid');
    const master = await readRecord(this.core.reader, masters, masterid);
    return master === undefined ? null : masterDict(master);
  }

  async getMasters(): Promise<MasterDict[]> {
    const ids = await idsUnder(this.core.reader, recordPrefix(masters.name));
    return (await readRecords(this.core.reader, masters, ids)).map(masterDict);
  }
}

async function releaseMaster(tx: Transaction, masterid: number): Promise<void> {
  await releaseChangeSourcesOf(tx, masterid);
  await releaseClaimsOf(tx, masterid);
}

function masterDict(m: MasterRecord): MasterDict {
  return { id: m.id, name: m.name, active: m.active, last_active: new Date(m.last_active) };
}
