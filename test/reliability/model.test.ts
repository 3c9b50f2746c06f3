import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { openCoordinator } from '../../src/api.ts';
import type { Connector, CoordinatorOptions } from '../../src/api.ts';
import { SUBMITTED_AT, TestClock } from '../conformance/harness.ts';

/**
 * Model-based testing: random command sequences from three masters run
 * against the coordinator and against a small, obviously correct model of
 * the contract's claim rules; every answer and the final state must agree.
 */

interface ModelRequest {
  claimedBy: number | null; // master index
  claimedAt: number | null;
  complete: boolean;
  results: number;
}

type Command =
  | { op: 'add'; master: number; builders: number }
  | { op: 'claim' | 'reclaim' | 'unclaim'; master: number; picks: number[] }
  | { op: 'complete'; master: number; picks: number[]; results: number }
  | { op: 'expire'; master: number; old: number }
  | { op: 'setActive'; master: number; target: number; active: boolean }
  | { op: 'advance'; seconds: number };

const master = fc.integer({ min: 0, max: 2 });
const picks = fc.array(fc.integer({ min: 0, max: 8 }), { minLength: 0, maxLength: 3 }); // may not exist yet
const command: fc.Arbitrary<Command> = fc.oneof(
  fc.record({ op: fc.constant('add' as const), master, builders: fc.integer({ min: 0, max: 3 }) }),
  fc.record({ op: fc.constantFrom('claim' as const, 'reclaim' as const, 'unclaim' as const), master, picks }),
  fc.record({ op: fc.constant('complete' as const), master, picks, results: fc.integer({ min: 0, max: 5 }) }),
  fc.record({ op: fc.constant('expire' as const), master, old: fc.integer({ min: 0, max: 120 }) }),
  fc.record({ op: fc.constant('setActive' as const), master, target: master, active: fc.boolean() }),
  fc.record({ op: fc.constant('advance' as const), seconds: fc.integer({ min: 1, max: 100 }) }),
);

/** The model's answer: a value, or the name of the error class. */
type Outcome = { ok: unknown } | { error: string };

class Model {
  requests: ModelRequest[] = []; // index = brid - firstBrid
  active = [true, true, true];
  now = SUBMITTED_AT.getTime();

  run(c: Command): Outcome {
    switch (c.op) {
      case 'add':
        for (let i = 0; i < c.builders; i++) this.requests.push({ claimedBy: null, claimedAt: null, complete: false, results: -1 });
        return { ok: c.builders };
      case 'claim':
        return this.each(c.picks, 'AlreadyClaimedError', (r) => (r.claimedAt === null && !r.complete ? { ...r, claimedBy: c.master, claimedAt: this.now } : null));
      case 'reclaim':
        return this.each(c.picks, 'AlreadyClaimedError', (r) => (r.claimedBy === c.master ? { ...r, claimedAt: this.now } : null));
      case 'unclaim':
        return this.each(c.picks, null, (r) => (r.claimedBy === c.master ? { ...r, claimedBy: null, claimedAt: null } : null));
      case 'complete':
        return this.each(c.picks, 'NotClaimedError', (r) => (r.complete ? null : { ...r, complete: true, results: c.results }));
      case 'expire': {
        let count = 0;
        this.requests = this.requests.map((r) => {
          if (r.complete || r.claimedAt === null || r.claimedAt >= this.now - c.old * 1000) return r;
          count++;
          return { ...r, claimedBy: null, claimedAt: null };
        });
        return { ok: count };
      }
      case 'setActive': {
        const changed = this.active[c.target] !== c.active;
        this.active[c.target] = c.active;
        if (!c.active) {
          this.requests = this.requests.map((r) => (r.claimedBy === c.target && !r.complete ? { ...r, claimedBy: null, claimedAt: null } : r));
        }
        return { ok: changed };
      }
      case 'advance':
        this.now += c.seconds * 1000;
        return { ok: undefined };
    }
  }

  /** Applies `step` to each pick in order on a copy; a refusal (or a missing request) refuses all. */
  private each(picks: number[], refusal: string | null, step: (r: ModelRequest) => ModelRequest | null): Outcome {
    const next = [...this.requests];
    for (const pick of picks) {
      const r = next[pick];
      const moved = r === undefined ? null : step(r);
      if (moved !== null) next[pick] = moved;
      else if (refusal !== null) return { error: refusal };
    }
    this.requests = next;
    return { ok: undefined };
  }
}

async function runReal(c: Command, dbs: Connector[], clock: TestClock, sss: number, firstBrid: number): Promise<Outcome> {
  const db = c.op === 'advance' ? dbs[0]! : dbs[c.master]!;
  const brids = 'picks' in c ? c.picks.map((p) => firstBrid + p) : [];
  try {
    switch (c.op) {
      case 'add': {
        const builderNames = Array.from({ length: c.builders }, (_, i) => `b${i}`);
        const [, made] = await db.buildsets.addBuildset({ sourcestampsetid: sss, reason: 'r', properties: {}, builderNames });
        return { ok: Object.keys(made).length };
      }
      case 'claim':
        return { ok: await db.buildrequests.claimBuildRequests(brids) };
      case 'reclaim':
        return { ok: await db.buildrequests.reclaimBuildRequests(brids) };
      case 'unclaim':
        return { ok: await db.buildrequests.unclaimBuildRequests(brids) };
      case 'complete':
        return { ok: await db.buildrequests.completeBuildRequests(brids, c.results) };
      case 'expire':
        return { ok: await db.buildrequests.unclaimExpiredRequests(c.old) };
      case 'setActive':
        return { ok: await db.masters.setMasterState(dbs[c.target]!.masterid, c.active) };
      case 'advance':
        clock.advance(c.seconds);
        return { ok: undefined };
    }
  } catch (error) {
    return { error: (error as Error).constructor.name };
  }
}

const root = mkdtempSync(join(tmpdir(), 'buildcoord-model-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let stores = 0;

const backends: [string, () => Partial<CoordinatorOptions>, number][] = [
  ['memory', () => ({}), 150],
  ['leveldb', () => ({ location: join(root, `store-${++stores}`) }), 40],
];

for (const [name, where, runs] of backends) {
  describe(`model-based [${name}]`, () => {
    it('every answer and the final state agree with the model', async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(command, { minLength: 20, maxLength: 80, size: 'max' }), fc.integer({ min: 1, max: 64 }), async (commands, maxLiveActors) => {
          const clock = new TestClock(SUBMITTED_AT);
          const coordinator = await openCoordinator({ ...where(), now: clock.now, maxLiveActors });
          try {
            const dbs = [await coordinator.connect('m0'), await coordinator.connect('m1'), await coordinator.connect('m2')];
            const sss = await dbs[0]!.sourcestampsets.addSourceStampSet();
            const model = new Model();
            for (const c of commands) {
              expect(await runReal(c, dbs, clock, sss, 1), JSON.stringify(c)).toEqual(model.run(c));
            }
            const real = await dbs[0]!.buildrequests.getBuildRequests();
            const view = (r: { claimed: boolean; claimedAt: number | null; complete: boolean; results: number }) => r;
            expect(real.map((br) => view({ claimed: br.claimed, claimedAt: br.claimed_at?.getTime() ?? null, complete: br.complete, results: br.results }))).toEqual(
              model.requests.map((r) => view({ claimed: r.claimedBy !== null, claimedAt: r.claimedAt, complete: r.complete, results: r.results })),
            );
            // Who holds each claim: every master's `mine` is exactly the model's.
            for (const [i, db] of dbs.entries()) {
              const mine = (await db.buildrequests.getBuildRequests({ claimed: 'mine' })).map((br) => br.brid - 1);
              expect(mine).toEqual(model.requests.flatMap((r, index) => (r.claimedBy === i ? [index] : [])));
            }
          } finally {
            await coordinator.close();
          }
        }),
        { numRuns: runs },
      );
    });
  });
}
