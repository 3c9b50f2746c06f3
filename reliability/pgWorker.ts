/**
 * A process of the PostgreSQL torture run (reliability/pgTorture.ts): one
 * coordinator on the shared store at durability 'sync', hosting one master,
 * driving random commands from several lanes at once, and reporting every
 * call on stdout as it is issued and as it is answered, one JSON line each
 * (ts: this machine's clock in ms, comparable across processes):
 *   {"t":"issue","n":7,"ts":...,"op":"claim","brids":[4]}
 *   {"t":"ack","n":7,"ts":...,"value":...}
 *   {"t":"nack","n":7,"ts":...,"error":"AlreadyClaimedError","code":"ALREADY_CLAIMED"}
 *
 * Usage: node --import tsx reliability/pgWorker.ts <url> <master name> <seed>
 *
 * Stdin, one JSON message a line:
 *   {"t":"arm","commits":K}         SIGKILL self between sending the K-th writing COMMIT from
 *                                   now on and reading its answer; prints {"t":"commit-kill"} first
 *   {"t":"takeover","masterid":M}   setMasterState(M, false) for a dead master, then claim what
 *                                   is unclaimed; prints {"t":"takeover-done"}
 */
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { openCoordinator } from '../src/api.ts';
import { armCommitKill } from './commitKill.ts';

const [url, name, seedText] = process.argv.slice(2);
if (url === undefined || name === undefined) {
  process.stderr.write('usage: pgWorker.ts <url> <master name> <seed>\n');
  process.exit(2);
}
let seed = Number(seedText ?? 1) >>> 0 || 1;
const random = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
const pick = <T>(list: readonly T[]): T | undefined => list[Math.floor(random() * list.length)];
const now = () => performance.timeOrigin + performance.now();
const report = (line: object) => process.stdout.write(`${JSON.stringify(line)}\n`);

const LANES = 6;

const coordinator = await openCoordinator({ location: url, durability: 'sync' });
const db = await coordinator.connect(name);
const sss = await db.sourcestampsets.addSourceStampSet();
const cs = await db.changesources.findChangeSourceId('torture-poller');
const objectid = await db.state.getObjectId('torture', 'Torture');
let known = (await db.buildrequests.getBuildRequests({ complete: false })).map((br) => br.brid);

let calls = 0;

// For testing the checker only: claims, completions and setStates acknowledged before the answer, as a store that acknowledged too early would.
const ACK_EARLY = process.env.TORTURE_ACK_EARLY === '1';

/** Issues one call, reporting it before and after. */
async function call(op: string, detail: Record<string, unknown>, run: () => Promise<unknown>): Promise<unknown> {
  const n = ++calls;
  report({ t: 'issue', n, ts: now(), op, ...detail });
  if (ACK_EARLY && (op === 'claim' || op === 'complete' || op === 'setState')) {
    report({ t: 'ack', n, ts: now(), value: null });
    return run().catch(() => undefined);
  }
  try {
    const value = await run();
    report({ t: 'ack', n, ts: now(), value: value ?? null });
    return value;
  } catch (error) {
    const e = error as Error & { code?: unknown };
    report({ t: 'nack', n, ts: now(), error: e?.constructor?.name ?? String(error), code: e?.code ?? null, message: String(e?.message ?? error) });
    return undefined;
  }
}

async function step(): Promise<void> {
  const some = () => [...new Set(Array.from({ length: 1 + Math.floor(random() * 2) }, () => pick(known)).filter((b): b is number => b !== undefined))];
  const roll = random();
  if (roll < 0.12 || known.length < 5) {
    const builderNames = ['a', 'b', 'c'].slice(0, 1 + Math.floor(random() * 3));
    const result = (await call('addBuildset', { builderNames }, () => db.buildsets.addBuildset({ sourcestampsetid: sss, reason: 'torture', properties: {}, builderNames }))) as
      | [number, Record<string, number>]
      | undefined;
    if (result) known.push(...Object.values(result[1]));
  } else if (roll < 0.42) {
    const brids = some();
    await call('claim', { brids }, () => db.buildrequests.claimBuildRequests(brids));
  } else if (roll < 0.5) {
    const brids = some();
    await call('reclaim', { brids }, () => db.buildrequests.reclaimBuildRequests(brids));
  } else if (roll < 0.58) {
    const brids = some();
    await call('unclaim', { brids }, () => db.buildrequests.unclaimBuildRequests(brids));
  } else if (roll < 0.7) {
    const brids = some();
    await call('complete', { brids }, () => db.buildrequests.completeBuildRequests(brids, 0));
  } else if (roll < 0.72) {
    const old = 2 + random() * 3;
    await call('expire', { old }, () => db.buildrequests.unclaimExpiredRequests(old));
  } else if (roll < 0.77) {
    await call('setChangeSourceMaster', { cs }, () => db.changesources.setChangeSourceMaster(cs, db.masterid));
  } else if (roll < 0.9) {
    const key = `${name}-k${Math.floor(random() * 4)}`;
    const value = { n: calls + 1, pid: process.pid, seed: seedText };
    await call('setState', { name: key, value }, () => db.state.setState(objectid, key, value));
  } else {
    const found = (await call('incomplete', {}, async () => (await db.buildrequests.getBuildRequests({ complete: false })).map((br) => br.brid))) as number[] | undefined;
    if (found) known = found;
  }
  if (known.length > 200) known = known.slice(-200);
}

/** A survivor's part after a kill: the dead master goes inactive, and its requests are claimed here. */
async function takeover(masterid: number): Promise<void> {
  await call('deactivate', { target: masterid }, () => db.masters.setMasterState(masterid, false));
  const free = (await call('unclaimed', {}, async () => (await db.buildrequests.getBuildRequests({ claimed: false, complete: false })).map((br) => br.brid))) as
    | number[]
    | undefined;
  for (const brid of (free ?? []).slice(0, 20)) await call('claim', { brids: [brid], takeover: true }, () => db.buildrequests.claimBuildRequests([brid]));
  report({ t: 'takeover-done', masterid, ts: now() });
}

report({ t: 'ready', masterid: db.masterid, objectid, cs, pid: process.pid, ts: now() });

void (async () => {
  for await (const text of createInterface({ input: process.stdin })) {
    if (text.trim() === '') continue;
    const message = JSON.parse(text) as { t: string; commits?: number; masterid?: number };
    if (message.t === 'arm') armCommitKill(message.commits!, (kill) => report({ t: 'commit-kill', ...kill, ts: now() }));
    else if (message.t === 'takeover') void takeover(message.masterid!);
  }
  process.exit(0); // the parent is gone: stop (a torture worker never outlives its run)
})();

await Promise.all(
  Array.from({ length: LANES }, async () => {
    for (;;) await step();
  }),
);
