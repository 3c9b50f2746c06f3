import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AlreadyClaimedError, NotClaimedError, openCoordinator, StorageError } from '../../src/api.ts';
import type { Connector } from '../../src/api.ts';
import type { Backend } from '../../src/persistence/backend.ts';
import { levelDBBackend } from '../../src/persistence/leveldb/backend.ts';
import { memoryBackend } from '../../src/persistence/memory/backend.ts';
import { ControlledBackend } from '../support/controlledBackend.ts';
import type { Fault } from '../support/controlledBackend.ts';

const root = mkdtempSync(join(tmpdir(), 'buildcoord-faults-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let stores = 0;

const stores_: Record<string, () => Backend> = {
  memory: () => memoryBackend(),
  leveldb: () => levelDBBackend(join(root, `store-${++stores}`)),
};
const faults: Record<string, Fault> = {
  'EIO, nothing written': { code: 'EIO', landed: false },
  'disk full, nothing written': { code: 'ENOSPC', landed: false },
  'fsync failed after the write landed': { code: 'EIO', landed: true },
};

async function farm(inner: () => Backend) {
  const backend = new ControlledBackend(inner());
  const coordinator = await openCoordinator({ backend });
  const m1 = await coordinator.connect('m1');
  const m2 = await coordinator.connect('m2');
  const sss = await m1.sourcestampsets.addSourceStampSet();
  const [, brids] = await m1.buildsets.addBuildset({ sourcestampsetid: sss, reason: 'r', properties: {}, builderNames: ['a', 'b', 'c'] });
  await m1.buildrequests.claimBuildRequests([brids.b!]);
  return { backend, coordinator, m1, m2, sss, brids: brids as Record<'a' | 'b' | 'c', number> };
}

/**
 * Memory agrees with disk: what each request's actor decides matches what
 * the store says of it. Probing changes state, so it runs last.
 */
async function actorsAgreeWithStore(m1: Connector, m2: Connector): Promise<void> {
  for (const br of await m1.buildrequests.getBuildRequests()) {
    if (br.complete) {
      await expect(m1.buildrequests.completeBuildRequests([br.brid], 0)).rejects.toThrow(NotClaimedError);
    } else if (!br.claimed) {
      await m2.buildrequests.claimBuildRequests([br.brid]);
    } else {
      const [owner, other] = br.mine ? [m1, m2] : [m2, m1];
      await expect(other.buildrequests.claimBuildRequests([br.brid])).rejects.toThrow(AlreadyClaimedError);
      await owner.buildrequests.reclaimBuildRequests([br.brid]);
    }
  }
}

/** Each step of the commit path that writes, as the call a fault hits. */
const commands: Record<string, (w: Awaited<ReturnType<typeof farm>>) => Promise<unknown>> = {
  'claim (actor transition)': (w) => w.m1.buildrequests.claimBuildRequests([w.brids.a, w.brids.c]),
  'complete (actor leaves the index of incomplete requests)': (w) => w.m1.buildrequests.completeBuildRequests([w.brids.b], 0),
  'addBuildset (new actors and id counters)': (w) => w.m1.buildsets.addBuildset({ sourcestampsetid: w.sss, reason: 'r', properties: {}, builderNames: ['d'] }),
  'master deactivation (claims released in bulk)': (w) => w.m2.masters.setMasterState(w.m1.masterid, false),
  'setState (plain record)': async (w) => w.m1.state.setState(await w.m1.state.getObjectId('o', 'C'), 'k', { v: 1 }),
};

for (const [storeName, inner] of Object.entries(stores_)) {
  describe(`failed writes [${storeName}]`, () => {
    for (const [faultName, fault] of Object.entries(faults)) {
      for (const [commandName, command] of Object.entries(commands)) {
        it(`${faultName} during ${commandName}: the call fails, memory follows the store, later calls succeed`, async () => {
          const w = await farm(inner);
          const objectid = await w.m1.state.getObjectId('o', 'C'); // made before the fault
          w.backend.failWrites(1, fault);
          await expect(command(w)).rejects.toThrow(StorageError);
          expect(await w.m1.state.getObjectId('o', 'C')).toBe(objectid);
          await actorsAgreeWithStore(w.m1, w.m2);
          // Later calls succeed, and ids keep increasing past any that were handed out.
          const [bsid] = await w.m1.buildsets.addBuildset({ sourcestampsetid: w.sss, reason: 'after', properties: {}, builderNames: ['e'] });
          expect(bsid).toBeGreaterThan(1);
          expect(await w.m1.buildsets.getBuildset(bsid)).not.toBeNull();
          await w.coordinator.close();
        });
      }
    }
  });
}
