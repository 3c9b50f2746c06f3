import { describe, expect, it } from 'vitest';
import { LIMITS } from '../../src/validate.ts';
import { expectRefused, requests, storeFixture, STORES, untouchable } from './stores.ts';

/**
 * Lists past their limit are refused, naming the argument and the limit,
 * with the store unchanged; a list exactly at the limit is accepted. The
 * count is checked before any item is read.
 */
describe.each(STORES)('count limits [%s]', (kind) => {
  const open = storeFixture(kind);
  const IDS = LIMITS.idsPerCall;

  it('claim, reclaim, unclaim and completeBuildRequests: idsPerCall + 1 brids are refused; idsPerCall are accepted', async () => {
    const store = await open();
    const br = store.db.buildrequests;
    const brids = await requests(store.db, IDS);
    const over = [...brids, 999_999];

    await expectRefused(store, () => br.claimBuildRequests(over), 'brids', 'idsPerCall');
    await br.claimBuildRequests(brids);
    await expectRefused(store, () => br.reclaimBuildRequests(over), 'brids', 'idsPerCall');
    await br.reclaimBuildRequests(brids);
    await expectRefused(store, () => br.unclaimBuildRequests(over), 'brids', 'idsPerCall');
    await br.unclaimBuildRequests(brids);
    expect(await br.getBuildRequests({ claimed: true })).toEqual([]);
    await expectRefused(store, () => br.completeBuildRequests(over, 0), 'brids', 'idsPerCall');
    await br.completeBuildRequests(brids, 0);
    expect((await br.getBuildRequests({ complete: true })).length).toBe(IDS);
  });

  it('finishBuilds: idsPerCall + 1 bids are refused; idsPerCall are accepted', async () => {
    const store = await open();
    const brids = await requests(store.db, IDS);
    const bids = await Promise.all(brids.map((brid) => store.db.builds.addBuild(brid, 1)));
    await expectRefused(store, () => store.db.builds.finishBuilds([...bids, 999_999]), 'bids', 'idsPerCall');
    await store.db.builds.finishBuilds(bids);
    expect((await store.db.builds.getBuild(bids.at(-1)!))!.finish_time).not.toBeNull();
  });

  it('addSourceStamp and classifyChanges: idsPerCall + 1 changeids are refused; idsPerCall are accepted', async () => {
    const store = await open();
    const changeids = await Promise.all(Array.from({ length: IDS }, () => store.db.changes.addChange({})));
    const sss = await store.db.sourcestampsets.addSourceStampSet();
    const stamp = (ids: number[]) => store.db.sourcestamps.addSourceStamp({ branch: null, revision: null, repository: 'r', project: 'p', sourcestampsetid: sss, changeids: ids });
    await expectRefused(store, () => stamp([...changeids, 999_999]), 'changeids', 'idsPerCall');
    const ssid = await stamp(changeids);
    expect((await store.db.sourcestamps.getSourceStamp(ssid))!.changeids).toHaveLength(IDS);

    const objectid = await store.db.state.getObjectId('scheduler', 'Scheduler');
    const classify = (ids: number[]) => store.db.schedulers.classifyChanges(objectid, Object.fromEntries(ids.map((id) => [id, true])));
    await expectRefused(store, () => classify([...changeids, 999_999]), 'classifications', 'idsPerCall');
    await classify(changeids);
    expect(Object.keys(await store.db.schedulers.getChangeClassifications(objectid))).toHaveLength(IDS);
  });

  it('addBuildset: buildersPerBuildset + 1 builders are refused; buildersPerBuildset are accepted, one request each', async () => {
    const store = await open();
    const sss = await store.db.sourcestampsets.addSourceStampSet();
    const names = Array.from({ length: LIMITS.buildersPerBuildset + 1 }, (_, i) => `b${i}`);
    const add = (builderNames: string[]) => store.db.buildsets.addBuildset({ sourcestampsetid: sss, reason: 'r', properties: {}, builderNames });
    await expectRefused(store, () => add(names), 'builderNames', 'buildersPerBuildset');
    const [bsid, brids] = await add(names.slice(0, -1));
    expect(Object.keys(brids)).toHaveLength(LIMITS.buildersPerBuildset);
    expect(await store.db.buildrequests.getBuildRequests({ bsid })).toHaveLength(LIMITS.buildersPerBuildset);
  });

  it('addChange: listLength + 1 files or links are refused; listLength are accepted', async () => {
    const store = await open();
    const list = Array.from({ length: LIMITS.listLength + 1 }, (_, i) => `f${i}`);
    await expectRefused(store, () => store.db.changes.addChange({ files: list }), 'files', 'listLength');
    await expectRefused(store, () => store.db.changes.addChange({ links: list }), 'links', 'listLength');
    const changeid = await store.db.changes.addChange({ files: list.slice(0, -1), links: list.slice(0, -1) });
    const change = (await store.db.changes.getChange(changeid))!;
    expect(change.files).toHaveLength(LIMITS.listLength);
    expect(change.links).toHaveLength(LIMITS.listLength);
  });

  it('one list whose strings hold listChars + 1 characters in all is refused; listChars are accepted', async () => {
    const store = await open();
    // Each string at the longest a string may be, so only the total is over.
    const full = Array.from({ length: LIMITS.listChars / LIMITS.stringLength }, (_, i) => `${i}:`.padEnd(LIMITS.stringLength, 'x'));
    const over = [...full, 'x'];
    const sss = await store.db.sourcestampsets.addSourceStampSet();
    const add = (builderNames: string[]) => store.db.buildsets.addBuildset({ sourcestampsetid: sss, reason: 'r', properties: {}, builderNames });
    await expectRefused(store, () => add(over), 'builderNames', 'listChars');
    await expectRefused(store, () => store.db.changes.addChange({ files: over }), 'files', 'listChars');
    await expectRefused(store, () => store.db.changes.addChange({ links: over }), 'links', 'listChars');
    const [, brids] = await add(full);
    expect(Object.keys(brids)).toHaveLength(full.length);
    const changeid = await store.db.changes.addChange({ files: full, links: full });
    expect((await store.db.changes.getChange(changeid))!.files.join('')).toBe(full.join(''));
  });

  describe('a list of 10,000,000 is refused without reading one item past the first', () => {
    const HUGE = 10_000_000;
    const cases: [string, string, (store: Awaited<ReturnType<typeof open>>, list: number[]) => Promise<unknown>][] = [
      ['claimBuildRequests', 'brids', (s, list) => s.db.buildrequests.claimBuildRequests(list)],
      ['reclaimBuildRequests', 'brids', (s, list) => s.db.buildrequests.reclaimBuildRequests(list)],
      ['unclaimBuildRequests', 'brids', (s, list) => s.db.buildrequests.unclaimBuildRequests(list)],
      ['completeBuildRequests', 'brids', (s, list) => s.db.buildrequests.completeBuildRequests(list, 0)],
      ['finishBuilds', 'bids', (s, list) => s.db.builds.finishBuilds(list)],
      [
        'addSourceStamp',
        'changeids',
        (s, list) => s.db.sourcestamps.addSourceStamp({ branch: null, revision: null, repository: '', project: '', sourcestampsetid: 1, changeids: list }),
      ],
      ['addBuildset', 'builderNames', (s, list) => s.db.buildsets.addBuildset({ sourcestampsetid: 1, reason: 'r', properties: {}, builderNames: list as unknown as string[] })],
      ['addChange files', 'files', (s, list) => s.db.changes.addChange({ files: list as unknown as string[] })],
      ['addChange links', 'links', (s, list) => s.db.changes.addChange({ links: list as unknown as string[] })],
    ];
    it.each(cases)('%s', async (_, argument, call) => {
      const store = await open();
      await store.db.sourcestampsets.addSourceStampSet();
      const { list, reads } = untouchable(HUGE);
      const limit = argument === 'builderNames' ? 'buildersPerBuildset' : argument === 'files' || argument === 'links' ? 'listLength' : 'idsPerCall';
      await expectRefused(store, () => call(store, list), argument, limit);
      expect(reads).toEqual([]);
    });

    it('classifyChanges: an object of idsPerCall + 1 entries is refused before any entry is read', async () => {
      const store = await open();
      const objectid = await store.db.state.getObjectId('scheduler', 'Scheduler');
      const reads: PropertyKey[] = [];
      const target = Object.fromEntries(Array.from({ length: IDS + 1 }, (_, i) => [i + 1, true]));
      const given = new Proxy(target, {
        get(object, key, receiver) {
          reads.push(key);
          return Reflect.get(object, key, receiver) as unknown;
        },
      });
      await expectRefused(store, () => store.db.schedulers.classifyChanges(objectid, given), 'classifications', 'idsPerCall');
      expect(reads).toEqual([]);
    });
  });
});
