/**
 * A build farm in one process, on the embedded LevelDB store: a change
 * source owned by one master, a scheduler turning changes into buildsets,
 * three masters polling for and racing to claim requests, one master
 * vanishing mid-run and the others taking over its work.
 *
 *   npm start                 # state in ./state
 *   npm start -- /tmp/farm    # or anywhere else
 */
import { AlreadyClaimedError, openCoordinator } from '../src/api.ts';
import type { Connector } from '../src/api.ts';

const location = process.argv[2] ?? 'state';
const BUILDERS = ['linux', 'macos', 'windows', 'docs'];
const PUSHES = 50;

const coordinator = await openCoordinator({ location });
const masters = await Promise.all(['master-a', 'master-b', 'master-c'].map((name) => coordinator.connect(name)));
const [scheduler] = masters as [Connector];

// The change source runs on one master at a time.
const poller = await scheduler.changesources.findChangeSourceId('git-poller');
const owner = (await scheduler.changesources.getChangeSource(poller))!.masterid;
if (owner === null) await scheduler.changesources.setChangeSourceMaster(poller, scheduler.masterid);

// The scheduler: one buildset per push, one request per builder.
for (let push = 0; push < PUSHES; push++) {
  const sss = await scheduler.sourcestampsets.addSourceStampSet();
  await scheduler.sourcestamps.addSourceStamp({ branch: 'main', revision: `rev-${push}`, repository: 'git://example/repo', project: 'example', sourcestampsetid: sss });
  await scheduler.buildsets.addBuildset({ sourcestampsetid: sss, reason: `push ${push}`, properties: { push: [push, 'Scheduler'] }, builderNames: BUILDERS });
}

/** One polling round of a master: find unclaimed work, race for it, build what it won. */
async function poll(db: Connector, finish: boolean, start: number): Promise<{ won: number; lost: number }> {
  let won = 0;
  let lost = 0;
  const found = await db.buildrequests.getBuildRequests({ claimed: false });
  // Masters walk the list from different places, so they meet where their walks overlap.
  const offset = Math.floor(found.length * start);
  for (const request of [...found.slice(offset), ...found.slice(0, offset)]) {
    try {
      await db.buildrequests.claimBuildRequests([request.brid]);
      won++;
    } catch (error) {
      if (!(error instanceof AlreadyClaimedError)) throw error;
      lost++; // another master got there first
    }
  }
  if (finish) {
    const mine = (await db.buildrequests.getBuildRequests({ claimed: 'mine', complete: false })).map((br) => br.brid);
    if (mine.length > 0) await db.buildrequests.completeBuildRequests(mine, 0);
  }
  return { won, lost };
}

// master-c claims work and then vanishes without finishing it.
const rounds = await Promise.all(masters.map((db, i) => poll(db, i !== 2, i / masters.length)));
await scheduler.masters.setMasterState(masters[2]!.masterid, false);
const takeover = await Promise.all(masters.slice(0, 2).map((db, i) => poll(db, true, i / 2)));

for (const { bsid } of await scheduler.buildsets.getBuildsets({ complete: false })) {
  const requests = await scheduler.buildrequests.getBuildRequests({ bsid });
  if (requests.every((br) => br.complete)) await scheduler.buildsets.completeBuildset(bsid, 0);
}

const all = await scheduler.buildrequests.getBuildRequests();
console.log(`store: ${location}`);
for (const [i, db] of masters.entries()) {
  console.log(`master ${db.masterid}: won ${rounds[i]!.won} races, lost ${rounds[i]!.lost}${i < 2 ? `, took over ${takeover[i]!.won}` : ', then vanished'}`);
}
console.log(`build requests: ${all.length} in the store, ${all.filter((br) => br.complete).length} complete`);
console.log(`buildsets still open: ${(await scheduler.buildsets.getBuildsets({ complete: false })).length}`);
await coordinator.close();
