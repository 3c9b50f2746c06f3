import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteClaims } from '../../bench/baselines/sqlite.ts';
import { AlreadyClaimedError, NotClaimedError, openCoordinator } from '../../src/api.ts';

const root = mkdtempSync(join(tmpdir(), 'buildcoord-sqlite-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** One scripted run: [master index, op, brids]. */
const script: [number, 'claim' | 'complete', number[]][] = [
  [0, 'claim', [1]], [1, 'claim', [1]], [1, 'claim', [2, 3]], [0, 'claim', [3, 4]], [0, 'claim', [4]],
  [1, 'complete', [2]], [0, 'claim', [2]], [0, 'complete', [2]], [1, 'complete', [5, 9]], [1, 'claim', [9]], [0, 'complete', [1, 4]],
];

describe('sqlite baseline', () => {
  it('gives the same outcome as buildcoord for every call of a scripted run, and the same final state', async () => {
    const sqlite = new SqliteClaims(join(root, 'state.sqlite'), 'FULL');
    sqlite.addRequests(5, 5);
    const coordinator = await openCoordinator();
    const masters = [await coordinator.connect('m0'), await coordinator.connect('m1')];
    const sss = await masters[0]!.sourcestampsets.addSourceStampSet();
    await masters[0]!.buildsets.addBuildset({ sourcestampsetid: sss, reason: 'r', properties: {}, builderNames: ['b0', 'b1', 'b2', 'b3', 'b4'] });

    for (const [m, op, brids] of script) {
      const db = masters[m]!;
      const ours = await (op === 'claim' ? db.buildrequests.claimBuildRequests(brids) : db.buildrequests.completeBuildRequests(brids, 0)).then(
        () => true,
        (error: unknown) => {
          expect(error).toBeInstanceOf(op === 'claim' ? AlreadyClaimedError : NotClaimedError);
          return false;
        },
      );
      const theirs = op === 'claim' ? sqlite.tryClaim(brids, db.masterid) : sqlite.tryComplete(brids, 0);
      expect(theirs, `${op} ${brids} by m${m}`).toBe(ours);
    }
    for (let brid = 1; brid <= 5; brid++) {
      const br = (await masters[0]!.buildrequests.getBuildRequest(brid))!;
      const owner = br.claimed ? (br.mine ? masters[0]!.masterid : masters[1]!.masterid) : null;
      expect([sqlite.claimedBy(brid), sqlite.isComplete(brid)]).toEqual([owner, br.complete]);
    }
    sqlite.close();
    await coordinator.close();
  });
});
