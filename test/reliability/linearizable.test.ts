import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { openCoordinator } from '../../src/api.ts';
import { seededRandom } from '../../src/cli/farm.ts';
import type { Connector, Coordinator } from '../../src/api.ts';
import { SharedMemoryStore } from '../../src/persistence/shared/memory.ts';
import type { SharedFault } from '../../src/persistence/shared/memory.ts';
import { SUBMITTED_AT, TestClock } from '../conformance/harness.ts';

/**
 * Three coordinators, one master each, on one shared store (the in-memory
 * stand-in, whose operations a seeded scheduler delays at random so that
 * the coordinators interleave differently in every run). Each master issues
 * overlapping calls; the history of calls and answers must be linearizable
 * against a small model of the contract: some order of the calls,
 * consistent with real time (a call that started after another's answer
 * comes after it), explains every answer and the final state. A call that
 * failed with StorageError (a commit whose outcome the store hid) may have
 * taken effect or not.
 */

const REQUESTS = 6;
const MASTERS = 3;

interface Req {
  by: number | null;
  at: number | null;
  complete: boolean;
  results: number;
}

interface State {
  reqs: Req[];
  active: boolean[];
  source: number | null; // the change source's master
}

type Op =
  | { op: 'claim' | 'reclaim' | 'unclaim'; picks: number[] }
  | { op: 'complete'; picks: number[]; results: number }
  | { op: 'expire'; old: number }
  | { op: 'setActive'; target: number; active: boolean }
  | { op: 'source' }
  | { op: 'findMaster' };

type Outcome = { ok: unknown } | { error: string };

interface Call {
  master: number;
  op: Op;
  /** The clock when the call was made (claims and expiry read it then). */
  now: number;
  start: number;
  end: number;
  outcome: Outcome;
}

/** The contract's rules for one call, as a pure function. */
function step(s: State, c: Call): { next: State; outcome: Outcome } {
  const { op, master } = c;
  const each = (picks: number[], refusal: string | null, move: (r: Req) => Req | null) => {
    const reqs = [...s.reqs];
    for (const pick of picks) {
      const moved = move(reqs[pick]!);
      if (moved !== null) reqs[pick] = moved;
      else if (refusal !== null) return { next: s, outcome: { error: refusal } };
    }
    return { next: { ...s, reqs }, outcome: { ok: undefined } };
  };
  switch (op.op) {
    case 'claim':
      return each(op.picks, 'AlreadyClaimedError', (r) => (r.at === null && !r.complete ? { ...r, by: master, at: c.now } : null));
    case 'reclaim':
      return each(op.picks, 'AlreadyClaimedError', (r) => (r.by === master ? { ...r, at: c.now } : null));
    case 'unclaim':
      return each(op.picks, null, (r) => (r.by === master ? { ...r, by: null, at: null } : null));
    case 'complete':
      return each(op.picks, 'NotClaimedError', (r) => (r.complete ? null : { ...r, complete: true, results: op.results }));
    case 'expire': {
      let count = 0;
      const reqs = s.reqs.map((r) => {
        if (r.complete || r.at === null || r.at >= c.now - op.old * 1000) return r;
        count++;
        return { ...r, by: null, at: null };
      });
      return { next: { ...s, reqs }, outcome: { ok: count } };
    }
    case 'setActive': {
      const active = [...s.active];
      active[op.target] = op.active;
      let { reqs, source } = s;
      if (!op.active) {
        reqs = reqs.map((r) => (r.by === op.target && !r.complete ? { ...r, by: null, at: null } : r));
        if (source === op.target) source = null;
      }
      return { next: { reqs, active, source }, outcome: { ok: s.active[op.target] !== op.active } };
    }
    case 'source':
      if (s.source !== null && s.active[s.source]) return { next: s, outcome: { error: 'ChangeSourceAlreadyClaimedError' } };
      return { next: { ...s, source: master }, outcome: { ok: undefined } };
    case 'findMaster':
      return { next: s, outcome: c.outcome }; // checked apart: every caller gets one id
  }
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * Searches for a linearization (Wing and Gong's search, memoized on the
 * calls done and the state reached). Calls whose outcome is unknown may be
 * placed anywhere after their start, or nowhere.
 */
function linearizable(calls: Call[], initial: State, final: State): boolean {
  const unknown = (c: Call) => 'error' in c.outcome && c.outcome.error === 'StorageError';
  const failed = new Set<string>();
  const search = (state: State, done: bigint): boolean => {
    const key = `${done}|${JSON.stringify(state)}`;
    if (failed.has(key)) return false;
    const pending = calls.map((c, i) => ({ c, i })).filter(({ i }) => (done & (1n << BigInt(i))) === 0n);
    if (pending.every(({ c }) => unknown(c)) && same(state, final)) return true;
    const firstEnd = Math.min(...pending.filter(({ c }) => !unknown(c)).map(({ c }) => c.end));
    for (const { c, i } of pending) {
      if (c.start > firstEnd) continue; // a call that ended before this one started must come first
      const { next, outcome } = step(state, c);
      if (!unknown(c) && !same(outcome, c.outcome)) continue;
      if (search(next, done | (1n << BigInt(i)))) return true;
    }
    failed.add(key);
    return false;
  };
  return search(initial, 0n);
}

const picks = fc.uniqueArray(fc.integer({ min: 0, max: REQUESTS - 1 }), { minLength: 1, maxLength: 3 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('claim' as const), picks }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constantFrom('reclaim' as const, 'unclaim' as const), picks }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('complete' as const), picks, results: fc.integer({ min: 0, max: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('expire' as const), old: fc.integer({ min: 0, max: 6 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('setActive' as const), target: fc.integer({ min: 0, max: MASTERS - 1 }), active: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('source' as const) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('findMaster' as const) }) },
);
const plan = fc.array(fc.array(opArb, { minLength: 2, maxLength: 6 }), { minLength: MASTERS, maxLength: MASTERS });

async function call(db: Connector, op: Op, masterids: number[], cs: number): Promise<Outcome> {
  try {
    switch (op.op) {
      case 'claim':
        return { ok: await db.buildrequests.claimBuildRequests(op.picks.map((p) => p + 1)) };
      case 'reclaim':
        return { ok: await db.buildrequests.reclaimBuildRequests(op.picks.map((p) => p + 1)) };
      case 'unclaim':
        return { ok: await db.buildrequests.unclaimBuildRequests(op.picks.map((p) => p + 1)) };
      case 'complete':
        return {
          ok: await db.buildrequests.completeBuildRequests(
            op.picks.map((p) => p + 1),
            op.results,
          ),
        };
      case 'expire':
        return { ok: await db.buildrequests.unclaimExpiredRequests(op.old) };
      case 'setActive':
        return { ok: await db.masters.setMasterState(masterids[op.target]!, op.active) };
      case 'source':
        return { ok: await db.changesources.setChangeSourceMaster(cs, db.masterid) };
      case 'findMaster':
        return { ok: await db.masters.findMasterId('newcomer') };
    }
  } catch (error) {
    return { error: (error as Error).constructor.name };
  }
}

async function runSchedule(seed: number, ops: Op[][], faults: boolean): Promise<{ calls: Call[]; initial: State; final: State }> {
  const rand = seededRandom(seed);
  const store = new SharedMemoryStore();
  const clock = new TestClock(SUBMITTED_AT);
  const coordinators: Coordinator[] = [];
  let delays = false;
  const pause = async () => {
    if (!delays) return;
    for (let n = Math.floor(rand() * 4); n > 0; n--) await new Promise((resolve) => setImmediate(resolve));
  };
  const fault = (): SharedFault => (delays && faults && rand() < 0.05 ? (rand() < 0.5 ? 'fail-before-commit' : 'fail-after-commit') : 'none');
  try {
    for (let i = 0; i < MASTERS; i++) coordinators.push(await openCoordinator({ backend: store.connect({ pause, fault }), now: clock.now, maxLiveActors: 4 }));
    const dbs = await Promise.all(coordinators.map((c, i) => c.connect(`m${i}`)));
    const masterids = dbs.map((db) => db.masterid);
    const sss = await dbs[0]!.sourcestampsets.addSourceStampSet();
    await dbs[0]!.buildsets.addBuildset({ sourcestampsetid: sss, reason: 'r', properties: {}, builderNames: ['a', 'b', 'c'] });
    await dbs[1]!.buildsets.addBuildset({ sourcestampsetid: sss, reason: 'r', properties: {}, builderNames: ['a', 'b', 'c'] });
    const cs = await dbs[2]!.changesources.findChangeSourceId('poller');
    // Warm every cache, so that stale copies are there to be caught.
    for (const db of dbs) await db.buildrequests.getBuildRequests();

    const initial: State = { reqs: Array.from({ length: REQUESTS }, () => ({ by: null, at: null, complete: false, results: -1 })), active: [true, true, true], source: null };
    const calls: Call[] = [];
    let tick = 0;
    delays = true;
    await Promise.all(
      dbs.map(async (db, master) => {
        const inFlight: Promise<void>[] = [];
        for (const op of ops[master]!) {
          const now = clock.now().getTime();
          const record: Call = { master, op, now, start: tick++, end: Infinity, outcome: { ok: undefined } };
          calls.push(record);
          const running = call(db, op, masterids, cs).then((outcome) => {
            record.outcome = outcome;
            record.end = tick++;
          });
          clock.advance(1);
          inFlight.push(running);
          if (rand() < 0.5) await running; // else the next call overlaps this one
        }
        await Promise.all(inFlight);
      }),
    );
    delays = false;

    const ids = new Set(calls.filter((c) => c.op.op === 'findMaster' && 'ok' in c.outcome).map((c) => (c.outcome as { ok: number }).ok));
    expect(ids.size, 'every find-or-add of one name gets one id').toBeLessThanOrEqual(1);

    const index = (masterid: number | null) => (masterid === null ? null : masterids.indexOf(masterid));
    const requests = await dbs[0]!.buildrequests.getBuildRequests();
    const masters = await dbs[0]!.masters.getMasters();
    const claimedBy = await Promise.all(dbs.map((db) => db.buildrequests.getBuildRequests({ claimed: 'mine' })));
    const final: State = {
      reqs: requests.map((br) => ({
        by: claimedBy.findIndex((mine) => mine.some((m) => m.brid === br.brid)) === -1 ? null : claimedBy.findIndex((mine) => mine.some((m) => m.brid === br.brid)),
        at: br.claimed_at?.getTime() ?? null,
        complete: br.complete,
        results: br.results,
      })),
      active: masterids.map((id) => masters.find((m) => m.id === id)!.active),
      source: index((await dbs[0]!.changesources.getChangeSource(cs))!.masterid),
    };
    return { calls, initial, final };
  } finally {
    for (const c of coordinators) await c.close();
  }
}

describe('linearizable across coordinators [shared store stand-in]', () => {
  for (const faults of [false, true]) {
    it(`three coordinators' overlapping calls have one order that explains every answer${faults ? ', with commits failing at random' : ''}`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.integer(), plan, async (seed, ops) => {
          const { calls, initial, final } = await runSchedule(seed, ops, faults);
          // Without faults, losing races is never an error: a stale decision is made again on fresh reads.
          if (!faults) expect(calls.filter((c) => 'error' in c.outcome && c.outcome.error === 'StorageError')).toEqual([]);
          const ok = linearizable(calls, initial, final);
          if (!ok) {
            const show = calls.map((c) => `m${c.master} [${c.start},${c.end}] ${JSON.stringify(c.op)} -> ${JSON.stringify(c.outcome)}`).join('\n');
            expect.fail(`no linearization:\n${show}\nfinal ${JSON.stringify(final)}`);
          }
        }),
        { numRuns: 1000 },
      );
    }, 120_000);
  }
});
