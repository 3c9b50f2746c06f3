import { describe, expect, it } from 'vitest';
import type { InspectionEvent } from 'xstate';
import { openCoordinator } from '../../src/api.ts';

describe('inspection', () => {
  it('every hosted actor reports its snapshots to the inspect observer', async () => {
    const events: InspectionEvent[] = [];
    const coordinator = await openCoordinator({ inspect: (event) => events.push(event) });
    const db = await coordinator.connect('m1');
    const sss = await db.sourcestampsets.addSourceStampSet();
    const [, brids] = await db.buildsets.addBuildset({ sourcestampsetid: sss, reason: 'r', properties: {}, builderNames: ['linux'] });
    await db.buildrequests.claimBuildRequests([brids.linux!]);
    await db.buildrequests.completeBuildRequests([brids.linux!], 0);
    const cs = await db.changesources.findChangeSourceId('poller');
    await db.changesources.setChangeSourceMaster(cs, db.masterid);

    const actorId = (e: InspectionEvent) => (e.actorRef as { id?: string }).id;
    const statesOf = (id: string) =>
      events
        .filter((e): e is Extract<InspectionEvent, { type: '@xstate.snapshot' }> => e.type === '@xstate.snapshot' && actorId(e) === id)
        .map((e) => (e.snapshot as unknown as { value: string }).value)
        .filter((value, i, all) => value !== all[i - 1]); // passivation reports the last state once more
    expect(statesOf(`br:${brids.linux}`)).toEqual(['unclaimed', 'claimed', 'complete']);
    expect(statesOf(`cs:${cs}`)).toEqual(['unclaimed', 'claimed']);
    const sent = events.filter((e) => e.type === '@xstate.event' && actorId(e) === `br:${brids.linux}`).map((e) => (e as { event: { type: string } }).event.type);
    expect(sent).toEqual(expect.arrayContaining(['request.claim', 'request.complete']));
    await coordinator.close();
  });
});
