// changesources: spec changesources.md. Each change source is an actor;
// its master may change only while the current one is unset or inactive.
import type { Transaction } from '../commit/transaction.ts';
import { ChangeSourceAlreadyClaimedError, InvalidArgumentError } from '../errors.ts';
import type { ChangeSourceContext } from '../machines/changeSource.ts';
import type { PersistedActor } from '../actors/hosted.ts';
import { recordPrefix } from '../persistence/keys.ts';
import { firstIdUnder, idsUnder, readRecord, readRecords, requireRecord } from '../persistence/records.ts';
import type { ChangeSourceDict } from '../types.ts';
import * as v from '../validate.ts';
import { breathe, due } from '../breathe.ts';
import type { Core } from './core.ts';
import { changeSourceIndex, changeSources, masters } from './model.ts';

export class ChangeSourcesComponent {
  constructor(private readonly core: Core) {}

  /** The id of the change source with this name, adding it if new. */
  async findChangeSourceId(name: string): Promise<number> {
    v.string(name, 'name');
    return this.core.runner.run(async (tx) => {
      const known = await firstIdUnder(tx, changeSourceIndex.name(name));
      if (known !== undefined) return known;
      const id = await tx.allocateId(changeSources.name);
      tx.spawn(changeSources, id, { id, name });
      return id;
    });
  }

  /**
   * Links a change source to a master, or unlinks it (masterid null).
   * Refused with ChangeSourceAlreadyClaimedError while its current master
   * is set and active, even when that is `masterid` itself.
   */
  async setChangeSourceMaster(changesourceid: number, masterid: number | null): Promise<void> {
    v.id(changesourceid, 'changesourceid');
    v.nullableId(masterid, 'masterid');
    return this.core.runner.run(async (tx) => {
      const hosted = await tx.actor(changeSources, changesourceid);
      if (hosted === null) throw new InvalidArgumentError(`change source ${changesourceid} does not exist`);
      if (masterid !== null) await requireRecord(tx, masters, masterid, 'master');
      const owner = (tx.snapshot(hosted).context as ChangeSourceContext).masterid;
      const ownerActive = owner !== null && (await readRecord(tx, masters, owner))?.active === true;
      if (tx.send(hosted, { type: 'changesource.setMaster', masterid, ownerActive }) === null && owner !== null) {
        throw new ChangeSourceAlreadyClaimedError(changesourceid, owner);
      }
    });
  }

  async getChangeSource(changesourceid: number): Promise<ChangeSourceDict | null> {
    v.id(changesourceid, 'changesourceid');
    const source = await readRecord(this.core.reader, changeSources, changesourceid);
    return source === undefined ? null : changeSourceDict(source);
  }

  /** Change sources, optionally only active (linked) or inactive ones, or those of one master. */
  async getChangeSources(options?: { active?: boolean | null; masterid?: number | null }): Promise<ChangeSourceDict[]> {
    const opts = v.options(options, 'getChangeSources options', ['active', 'masterid']);
    const active = opts.active === undefined || opts.active === null ? null : v.boolean(opts.active, 'active');
    const masterid = v.given(opts, 'masterid', null, v.nullableId);
    const reader = this.core.reader;
    const prefix = masterid !== null ? changeSourceIndex.master(masterid) : active === true ? changeSourceIndex.master() : recordPrefix(changeSources.name);
    const ids = (await idsUnder(reader, prefix)).sort((a, b) => a - b);
    const found = (await readRecords(reader, changeSources, ids)).map(changeSourceDict);
    return found.filter((cs) => active === null || (cs.masterid !== null) === active);
  }
}

/** Unlinks every change source of a master going inactive. */
export async function releaseChangeSourcesOf(tx: Transaction, masterid: number): Promise<void> {
  for (const [i, id] of (await idsUnder(tx, changeSourceIndex.master(masterid))).entries()) {
    if (due(i)) await breathe();
    const hosted = await tx.actor(changeSources, id);
    if (hosted !== null) tx.send(hosted, { type: 'master.deactivated', masterid });
  }
}

function changeSourceDict({ context: c }: PersistedActor<ChangeSourceContext>): ChangeSourceDict {
  return { id: c.id, name: c.name, masterid: c.masterid };
}
