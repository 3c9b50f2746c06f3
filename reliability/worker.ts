/**
 * The process the torture run kills: drives random commands from three
 * masters against a LevelDB store at durability 'sync', and reports every
 * call on stdout as it is issued and as it is answered, one JSON line each:
 *   {"t":"issue","n":7,"op":"claim","master":1,"brids":[4]}
 *   {"t":"ack","n":7,"value":...}   or   {"t":"nack","n":7,"error":"AlreadyClaimedError"}
 * Usage: node --import tsx reliability/worker.ts <location> <seed>
 */
import { openCoordinator } from '../src/api.ts';
import type { Connector } from '../src/api.ts';

const [location, seedText] = process.argv.slice(2);
let seed = Number(seedText ?? 1) >>> 0 || 1;
const random = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
const pick = <T>(list: readonly T[]): T | undefined => list[Math.floor(random() * list.length)];

const coordinator = await openCoordinator({ location: location!, durability: 'sync' });
const masters: Connector[] = [];
for (const name of ['m0', 'm1', 'm2']) masters.push(await coordinator.connect(name));
const db = masters[0]!;
const sss = await db.sourcestampsets.addSourceStampSet();
const cs = await db.changesources.findChangeSourceId('poller');
const objectid = await db.state.getObjectId('torture', 'Torture');
const known = (await db.buildrequests.getBuildRequests()).map((br) => br.brid);

let calls = 0;
const report = (line: object) => process.stdout.write(`${JSON.stringify(line)}\n`);

// For testing the checker only: claim success before the answer, as a store that acknowledged too early would.
const ACK_EARLY = process.env.TORTURE_ACK_EARLY === '1';

/** Issues one call, reporting it before and after. */
async function call(op: string, detail: Record<string, unknown>, run: () => Promise<unknown>): Promise<unknown> {
  const n = ++calls;
  report({ t: 'issue', n, op, ...detail });
  if (ACK_EARLY && op !== 'addBuildset') {
    report({ t: 'ack', n, value: null });
    return run().catch(() => undefined);
  }
  try {
    const value = await run();
    report({ t: 'ack', n, value: value ?? null });
    return value;
  } catch (error) {
    report({ t: 'nack', n, error: (error as Error).constructor.name });
    return undefined;
  }
}

async function step(): Promise<void> {
  const m = Math.floor(random() * 3);
  const master = masters[m]!;
  const some = () => Array.from({ length: 1 + Math.floor(random() * 2) }, () => pick(known)).filter((b): b is number => b !== undefined);
  const roll = random();
  if (roll < 0.15 || known.length < 5) {
    const builderNames = ['a', 'b', 'c'].slice(0, 1 + Math.floor(random() * 3));
    const result = (await call('addBuildset', { master: m, builderNames }, () =>
      master.buildsets.addBuildset({ sourcestampsetid: sss, reason: 'torture', properties: {}, builderNames }),
    )) as [number, Record<string, number>] | undefined;
    if (result) known.push(...Object.values(result[1]));
  } else if (roll < 0.45) {
    const brids = some();
    await call('claim', { master: m, brids }, () => master.buildrequests.claimBuildRequests(brids));
  } else if (roll < 0.55) {
    const brids = some();
    await call('reclaim', { master: m, brids }, () => master.buildrequests.reclaimBuildRequests(brids));
  } else if (roll < 0.62) {
    const brids = some();
    await call('unclaim', { master: m, brids }, () => master.buildrequests.unclaimBuildRequests(brids));
  } else if (roll < 0.75) {
    const brids = some();
    await call('complete', { master: m, brids }, () => master.buildrequests.completeBuildRequests(brids, 0));
  } else if (roll < 0.8) {
    const old = random() * 0.05;
    await call('expire', { master: m, old }, () => master.buildrequests.unclaimExpiredRequests(old));
  } else if (roll < 0.85) {
    const target = Math.floor(random() * 3);
    const active = random() < 0.5;
    await call('setMasterState', { master: m, target, active }, () => master.masters.setMasterState(masters[target]!.masterid, active));
  } else if (roll < 0.9) {
    await call('setChangeSourceMaster', { master: m }, () => master.changesources.setChangeSourceMaster(cs, master.masterid));
  } else {
    const name = `k${Math.floor(random() * 4)}`;
    const value = { n: calls + 1, seed: seedText };
    await call('setState', { master: m, name, value }, () => master.state.setState(objectid, name, value));
  }
}

report({ t: 'ready', masters: masters.map((x) => x.masterid), objectid });
// Eight drivers keep calls in flight at once, so writes group and interleave.
await Promise.all(
  Array.from({ length: 8 }, async () => {
    for (;;) await step();
  }),
);
