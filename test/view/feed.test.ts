import { describe, expect, it } from 'vitest';
import { openCoordinator } from '../../src/api.ts';
import { createLiveFeed, fanOut } from '../../src/view/feed.ts';
import type { Transition } from '../../src/view/feed.ts';

const T0 = new Date('2024-05-01T12:00:00Z');

/** A coordinator on the in-memory store with a feed and a clock the test moves. */
async function watched(options: { maxLiveActors?: number } = {}) {
  let now = T0.getTime();
  const clock = () => new Date(now);
  const feed = createLiveFeed({ now: clock });
  const seen: Transition[] = [];
  feed.subscribe((t) => seen.push(t));
  const coordinator = await openCoordinator({ inspect: feed.inspect, now: clock, ...options });
  return { feed, seen, coordinator, advance: (seconds: number) => void (now += seconds * 1000) };
}

const steps = (seen: Transition[], actor: string) => seen.filter((t) => t.actor === actor).map((t) => `${t.from ?? '·'} -> ${t.to} (${t.event})`);

describe('createLiveFeed', () => {
  it('reports a request from new to claimed, reclaimed and complete, with builder and master', async () => {
    const { seen, coordinator } = await watched();
    const db = await coordinator.connect('m1');
    const sss = await db.sourcestampsets.addSourceStampSet();
    const [, brids] = await db.buildsets.addBuildset({ sourcestampsetid: sss, reason: 'r', properties: {}, builderNames: ['linux'] });
    await db.buildrequests.claimBuildRequests([brids.linux!]);
    await db.buildrequests.reclaimBuildRequests([brids.linux!]);
    await db.buildrequests.completeBuildRequests([brids.linux!], 0);

    expect(steps(seen, `br:${brids.linux}`)).toEqual([
      '· -> unclaimed (new)',
      'unclaimed -> claimed (request.claim)',
      'claimed -> claimed (request.reclaim)',
      'claimed -> complete (request.complete)',
    ]);
    const claim = seen.find((t) => t.event === 'request.claim')!;
    expect(claim).toMatchObject({ kind: 'buildrequest', id: brids.linux, label: 'linux', masterid: db.masterid, at: T0.toISOString() });
    await coordinator.close();
  });

  it('reports expiry and a dead master releasing its change source; the passivation stop is not a step', async () => {
    const { seen, coordinator, advance } = await watched();
    const [a, b] = [await coordinator.connect('a'), await coordinator.connect('b')];
    const sss = await a.sourcestampsets.addSourceStampSet();
    const [, brids] = await a.buildsets.addBuildset({ sourcestampsetid: sss, reason: 'r', properties: {}, builderNames: ['linux'] });
    await b.buildrequests.claimBuildRequests([brids.linux!]);
    const cs = await a.changesources.findChangeSourceId('poller');
    await a.changesources.setChangeSourceMaster(cs, b.masterid);
    advance(600);
    await a.buildrequests.unclaimExpiredRequests(300);
    await a.masters.setMasterState(b.masterid, false);
    await a.changesources.setChangeSourceMaster(cs, a.masterid);

    expect(steps(seen, `br:${brids.linux}`)).toEqual(['· -> unclaimed (new)', 'unclaimed -> claimed (request.claim)', 'claimed -> unclaimed (request.expire)']);
    expect(steps(seen, `cs:${cs}`)).toEqual([
      '· -> unclaimed (new)',
      'unclaimed -> claimed (changesource.setMaster)',
      'claimed -> unclaimed (master.deactivated)',
      'unclaimed -> claimed (changesource.setMaster)',
    ]);
    expect(seen.at(-1)).toMatchObject({ label: 'poller', masterid: a.masterid });
    // A release names the master that lost the claim or the change source.
    expect(seen.find((t) => t.event === 'request.expire')).toMatchObject({ masterid: b.masterid });
    expect(seen.find((t) => t.event === 'master.deactivated')).toMatchObject({ actor: `cs:${cs}`, masterid: b.masterid });
    await coordinator.close();
    expect(seen.filter((t) => t.actor === `cs:${cs}`)).toHaveLength(4); // closing stops the actors: no more steps
  });

  it('a rehydrated actor is not reported as new again', async () => {
    const { seen, coordinator } = await watched({ maxLiveActors: 1 });
    const db = await coordinator.connect('m1');
    const sss = await db.sourcestampsets.addSourceStampSet();
    const [, brids] = await db.buildsets.addBuildset({ sourcestampsetid: sss, reason: 'r', properties: {}, builderNames: ['a', 'b', 'c'] });
    for (const brid of Object.values(brids)) await db.buildrequests.claimBuildRequests([brid]); // each claim rehydrates a passivated actor
    for (const brid of Object.values(brids)) {
      expect(steps(seen, `br:${brid}`)).toEqual(['· -> unclaimed (new)', 'unclaimed -> claimed (request.claim)']);
    }
    await coordinator.close();
  });

  it('keeps the last transitions, oldest first, and numbers them', async () => {
    const feed = createLiveFeed({ keep: 2 });
    const coordinator = await openCoordinator({ inspect: feed.inspect });
    const db = await coordinator.connect('m1');
    const sss = await db.sourcestampsets.addSourceStampSet();
    await db.buildsets.addBuildset({ sourcestampsetid: sss, reason: 'r', properties: {}, builderNames: ['a', 'b', 'c'] });
    expect(feed.recent().map((t) => [t.seq, t.label])).toEqual([
      [2, 'b'],
      [3, 'c'],
    ]);
    await coordinator.close();
  });

  it('fanOut gives every observer each event, even when one throws', async () => {
    const feed = createLiveFeed();
    const types: string[] = [];
    const coordinator = await openCoordinator({
      inspect: fanOut(
        () => {
          throw new Error('a broken observer');
        },
        feed.inspect,
        { next: (e) => types.push(e.type) },
      ),
    });
    const db = await coordinator.connect('m1');
    const sss = await db.sourcestampsets.addSourceStampSet();
    const [, brids] = await db.buildsets.addBuildset({ sourcestampsetid: sss, reason: 'r', properties: {}, builderNames: ['linux'] });
    await db.buildrequests.claimBuildRequests([brids.linux!]);
    expect(feed.recent().map((t) => t.event)).toEqual(['new', 'request.claim']);
    expect(types).toContain('@xstate.snapshot');
    await coordinator.close();
  });
});
