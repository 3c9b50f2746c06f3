import { describe, expect, it } from 'vitest';
import { openCoordinator } from '../../src/api.ts';
import type { ActorRegistry } from '../../src/actors/registry.ts';
import { decode } from '../../src/persistence/codec.ts';
import { recordKey } from '../../src/persistence/keys.ts';
import { memoryBackend } from '../../src/persistence/memory/backend.ts';
import { ControlledBackend } from '../support/controlledBackend.ts';

describe('durable records of live actors', () => {
  it('are exactly what the store holds, in every state, so reads can skip the store', async () => {
    const backend = memoryBackend();
    const coordinator = await openCoordinator({ backend });
    const registry = (coordinator as unknown as { path: { registry: ActorRegistry } }).path.registry;
    const [m1, m2] = [await coordinator.connect('m1'), await coordinator.connect('m2')];
    const sss = await m1.sourcestampsets.addSourceStampSet();
    const [, byBuilder] = await m1.buildsets.addBuildset({ sourcestampsetid: sss, reason: 'r', properties: {}, builderNames: ['a', 'b', 'c', 'd'] });
    const [a, b, c] = [byBuilder.a!, byBuilder.b!, byBuilder.c!];
    await m1.buildrequests.claimBuildRequests([a, b]);
    await m2.buildrequests.claimBuildRequests([c]);
    await m1.buildrequests.completeBuildRequests([b], 3);
    await m1.buildrequests.unclaimBuildRequests([a]);
    const cs = await m1.changesources.findChangeSourceId('poller');
    await m1.changesources.setChangeSourceMaster(cs, m1.masterid);

    const keys = [...Object.values(byBuilder).map((id) => recordKey('br', id)), recordKey('cs', cs)];
    let compared = 0;
    for (const key of keys) {
      const inMemory = registry.durableRecord(key);
      if (inMemory === undefined) continue; // passivated (complete): read from the store
      expect(inMemory).toStrictEqual(decode((await backend.get(key))!)); // same fields, same order, same values
      compared++;
    }
    expect(compared).toBe(4); // a (unclaimed again), c (claimed), d (never touched), the change source
    await coordinator.close();
  });

  it('an undurable transition is not visible through them until its write is', async () => {
    const backend = new ControlledBackend();
    const coordinator = await openCoordinator({ backend });
    const db = await coordinator.connect('m1');
    const sss = await db.sourcestampsets.addSourceStampSet();
    const [, { a }] = await db.buildsets.addBuildset({ sourcestampsetid: sss, reason: 'r', properties: {}, builderNames: ['a'] });
    backend.hold();
    const claim = db.buildrequests.claimBuildRequests([a!]);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect((await db.buildrequests.getBuildRequest(a!))!.claimed).toBe(false);
    backend.release();
    await claim;
    expect((await db.buildrequests.getBuildRequest(a!))!.claimed).toBe(true);
    await coordinator.close();
  });
});
