import { idsUnder, readRecord, readRecords, requireRecord } from '../persistence/records.ts';
import type { BDict } from '../types.ts';
import * as v from '../validate.ts';
import { breathe, due } from '../breathe.ts';
import type { Core } from './core.ts';
import { buildIndex, buildRequests, builds, toDate } from './model.ts';
import type { BuildRecord } from './model.ts';

export class BuildsComponent {
  constructor(private readonly core: Core) {}

  async getBuild(bid: number): Promise<BDict | null> {
    v.id(bid, 'bid');
    const build = await readRecord(this.core.reader, builds, bid);
    return build === undefined ? null : bdict(build);
  }

  async getBuildsForRequest(brid: number): Promise<BDict[]> {
    v.id(brid, 'brid');
    const reader = this.core.reader;
    return (await readRecords(reader, builds, await idsUnder(reader, buildIndex.request(brid)))).map(bdict);
  }

  /** Adds a build of a request, started now; resolves to its bid. */
  async addBuild(brid: number, number: number): Promise<number> {
    v.id(brid, 'brid');
    v.integer(number, 'number');
    const now = this.core.now().getTime();
    return this.core.runner.run(async (tx) => {
      await requireRecord(tx, buildRequests, brid, 'build request');
      const bid = await tx.allocateId(builds.name);
      tx.putRecord(builds, bid, { bid, number, brid, start_time: now, finish_time: null });
      return bid;
    });
  }

  /** Sets finish_time to now on every build given, finished or not; missing ids are skipped. */
  async finishBuilds(bids: number[]): Promise<void> {
    const ids = v.ids(bids, 'bids');
    const now = this.core.now().getTime();
    await this.core.runner.run(async (tx) => {
      for (const [i, bid] of ids.entries()) {
        if (due(i)) await breathe();
        const build = await readRecord(tx, builds, bid);
        if (build !== undefined) tx.putRecord(builds, bid, { ...build, finish_time: now }, build);
      }
    });
  }
}

function bdict(b: BuildRecord): BDict {
  return { bid: b.bid, number: b.number, brid: b.brid, start_time: new Date(b.start_time), finish_time: toDate(b.finish_time) };
}
