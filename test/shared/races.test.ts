/**
 * Four real processes on one PostgreSQL store (test/shared/child.ts), each
 * with a coordinator of its own, racing for the same things. Every race is
 * released at once (each child holds its batch before any is told to go),
 * every child reports what it issued and what it was answered, and the
 * parent checks the answers against the store's final contents, read over
 * a connection of its own (reliability/inspect.ts). One test SIGKILLs a
 * child between sending a COMMIT and reading its answer (a test-only hook
 * in the child, reliability/commitKill.ts) in the middle of a race. The last
 * test SIGKILLs every child and checks what the others left, and verify.
 *
 * Each test uses masters of its own (t<k>-p<i>), so one test's deactivations
 * and expiries leave the others' claims alone.
 */
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openCoordinator } from '../../src/api.ts';
import type { Connector, Coordinator } from '../../src/api.ts';
import { describePg, freshSchema, pgConfig } from '../support/postgres.ts';
import type { FreshSchema } from '../support/postgres.ts';
import { Child, op, round, shuffled } from './children.ts';
import type { Op, Outcome } from './children.ts';
import { inspect } from '../../reliability/inspect.ts';

const CHILDREN = 4;

describePg('four processes on one PostgreSQL store', (server) => {
  let schema: FreshSchema;
  let setup: Coordinator;
  let db: Connector;
  let sss: number;
  let children: Child[] = [];
  /** What each request must be at the very end (after every child is SIGKILLed), as each test left it. */
  const final = new Map<number, { claimedBy: number | null; complete: boolean }>();

  beforeAll(async () => {
    schema = await freshSchema(server);
    setup = await openCoordinator({ location: schema.url, durability: 'sync' });
    db = await setup.connect('setup');
    sss = await db.sourcestampsets.addSourceStampSet();
    children = await Promise.all(Array.from({ length: CHILDREN }, (_, i) => Child.start(schema.url, i)));
  }, 120_000);

  afterAll(async () => {
    await Promise.all(children.map((child) => child.kill()));
    await setup?.close();
    await schema?.drop();
  });

  /** `count` new build requests, made by the parent's own coordinator. */
  async function newRequests(count: number): Promise<number[]> {
    const builderNames = Array.from({ length: count }, (_, i) => `b${i}`);
    const [, brids] = await db.buildsets.addBuildset({ sourcestampsetid: sss, reason: 'race', properties: {}, builderNames });
    return Object.values(brids).sort((a, b) => a - b);
  }

  /** Connects master `t<test>-p<i>` in child i; resolves to the masterids, by child. */
  async function connectMasters(test: string): Promise<{ names: string[]; ids: number[] }> {
    const names = children.map((_, i) => `${test}-p${i}`);
    const outcomes = await round(
      children,
      names.map((name) => [op('connect', [name])]),
    );
    expectAllAcked(outcomes);
    return { names, ids: children.map((_, i) => outcomes.find((o) => o.child === i)!.value as number) };
  }

  function expectAllAcked(outcomes: readonly Outcome[]): void {
    const failed = outcomes.filter((o) => o.ok !== true);
    expect(failed.map((o) => `${o.op.call} ${JSON.stringify(o.op.args)}: ${o.error} ${o.message}`)).toEqual([]);
  }

  const claim = (master: string, brids: number[], options?: object, lane?: number): Op =>
    op('buildrequests.claimBuildRequests', options === undefined ? [brids] : [brids, options], { master, lane });

  async function remember(brids: readonly number[]): Promise<void> {
    const state = await inspect(schema.url, (store) => store.requests());
    for (const brid of brids) {
      const r = state.get(brid)!;
      final.set(brid, { claimedBy: r.claimedBy, complete: r.complete });
    }
  }

  it('races for the same single requests: exactly one winner each, the store agrees', async () => {
    const { names, ids } = await connectMasters('t1');
    for (let r = 0; r < 3; r++) {
      const brids = await newRequests(24);
      const outcomes = await round(
        children,
        names.map((name) => shuffled(brids).map((brid) => claim(name, [brid]))),
      );
      expect(outcomes).toHaveLength(CHILDREN * brids.length);
      const state = await inspect(schema.url, (store) => store.requests());
      for (const brid of brids) {
        const mine = outcomes.filter((o) => (o.op.args![0] as number[])[0] === brid);
        const won = mine.filter((o) => o.ok);
        expect(won, `request ${brid}: winners`).toHaveLength(1);
        for (const lost of mine.filter((o) => !o.ok)) expect(lost.code, `request ${brid}: ${lost.message}`).toBe('ALREADY_CLAIMED');
        expect(state.get(brid)?.claimedBy, `request ${brid}: owner`).toBe(ids[won[0]!.child]);
      }
      await remember(brids);
    }
  });

  it('overlapping multi-request claims: each all or nothing, no request claimed twice', async () => {
    const { names, ids } = await connectMasters('t2');
    for (let r = 0; r < 3; r++) {
      const brids = await newRequests(16);
      const batches = names.map((name) => Array.from({ length: 8 }, () => claim(name, shuffled(brids).slice(0, 2 + Math.floor(Math.random() * 3)))));
      const outcomes = await round(children, batches);
      const state = await inspect(schema.url, (store) => store.requests());
      const acked = outcomes.filter((o) => o.ok);
      const claimsOf = (brid: number) => acked.filter((o) => (o.op.args![0] as number[]).includes(brid));
      expect(acked.length).toBeGreaterThan(0);
      for (const brid of brids) {
        const claims = claimsOf(brid);
        expect(claims.length, `request ${brid}: acknowledged claims`).toBeLessThanOrEqual(1);
        // Claimed in the store if and only if an acknowledged claim holds it, by that claim's master.
        expect(state.get(brid)?.claimedBy ?? null, `request ${brid}: owner`).toBe(claims[0] === undefined ? null : ids[claims[0].child]);
      }
      for (const refused of outcomes.filter((o) => !o.ok)) {
        const wanted = refused.op.args![0] as number[];
        expect(refused.code, refused.message).toBe('ALREADY_CLAIMED');
        // Refused only for a request another acknowledged claim took, issued before the refusal was answered.
        const blockers = wanted.flatMap(claimsOf).filter((o) => o.issued < refused.answered);
        expect(blockers.length, `claim ${JSON.stringify(wanted)} by ${names[refused.child]} refused with no claim in its way`).toBeGreaterThan(0);
      }
      await remember(brids);
    }
  });

  it('racing find-or-add of one master, change source and user name: one id each', async () => {
    const names = Array.from({ length: 6 }, (_, k) => `race-name-${k}`);
    const outcomes = await round(
      children,
      children.map(() =>
        shuffled(
          names.flatMap((name) => [
            op('masters.findMasterId', [name], { master: 'setup-t3' }),
            op('changesources.findChangeSourceId', [name], { master: 'setup-t3' }),
            op('users.findUserByAttr', [{ identifier: name, attr_type: 'email', attr_data: `${name}@example.org` }], { master: 'setup-t3' }),
          ]),
        ),
      ),
    );
    expectAllAcked(outcomes);
    const { masters, sources, users } = await inspect(schema.url, async (store) => ({
      masters: await store.masters(),
      sources: await store.changeSources(),
      users: await store.users(),
    }));
    const seen = { master: new Set<number>(), cs: new Set<number>(), user: new Set<number>() };
    for (const name of names) {
      const answers = (call: string) => new Set(outcomes.filter((o) => o.op.call === call && JSON.stringify(o.op.args).includes(`"${name}`)).map((o) => o.value as number));
      const m = [...answers('masters.findMasterId')];
      const cs = [...answers('changesources.findChangeSourceId')];
      const u = [...answers('users.findUserByAttr')];
      expect([m.length, cs.length, u.length], `${name}: distinct ids answered (master, change source, user)`).toEqual([1, 1, 1]);
      expect(masters.filter((x) => x.name === name).map((x) => x.id)).toEqual(m);
      expect(sources.filter((x) => x.name === name).map((x) => x.id)).toEqual(cs);
      expect(users.filter((x) => x.identifier === name).map((x) => x.uid)).toEqual(u);
      seen.master.add(m[0]!);
      seen.cs.add(cs[0]!);
      seen.user.add(u[0]!);
    }
    expect([seen.master.size, seen.cs.size, seen.user.size]).toEqual([names.length, names.length, names.length]);
  });

  it('change source claims: never two active owners, refusals and wins agree with the store', async () => {
    const { names, ids } = await connectMasters('t4');
    const cs = await db.changesources.findChangeSourceId('race-cs-owned');
    let owner: number | null = null; // child index
    let wins = 0;
    let takeovers = 0;
    for (let r = 0; r < 8; r++) {
      // Everyone but the owner claims; the owner's process deactivates its master at the same moment.
      const deactivate = owner === null ? null : op('masters.setMasterState', [ids[owner], false], { master: names[owner] });
      const batches = names.map((name, i) => (i === owner ? [deactivate!] : [op('changesources.setChangeSourceMaster', [cs, ids[i]], { master: name })]));
      const outcomes = await round(children, batches);
      const tries = outcomes.filter((o) => o.op.call === 'changesources.setChangeSourceMaster');
      const won = tries.filter((o) => o.ok);
      for (const lost of tries.filter((o) => !o.ok)) expect(lost.code, lost.message).toBe('CHANGESOURCE_ALREADY_CLAIMED');
      expect(won.length, `round ${r}: winners`).toBeLessThanOrEqual(1);
      if (owner === null) expect(won.length, `round ${r}: an unlinked source is taken by one`).toBe(1);
      const deactivated = outcomes.find((o) => o.op === deactivate);
      if (deactivated !== undefined) {
        expect(deactivated.ok).toBe(true);
        expect(deactivated.value).toBe(true);
        // A win over an active owner is only possible once its deactivation has started.
        if (won[0] !== undefined) expect(won[0].answered).toBeGreaterThan(deactivated.issued);
      }
      const { sources, masters } = await inspect(schema.url, async (store) => ({ sources: await store.changeSources(), masters: await store.masters() }));
      const now = sources.find((s) => s.id === cs)!.masterid;
      expect(now, `round ${r}: owner in the store`).toBe(won[0] === undefined ? (deactivated === undefined ? ids[owner!] : null) : ids[won[0].child]);
      if (now !== null) expect(masters.find((m) => m.id === now)?.active).toBe(true);
      wins += won.length;
      if (won.length > 0 && deactivated !== undefined) takeovers++;
      // The old owner comes back (inactive masters own nothing); the winner, if any, owns the source now.
      if (deactivated !== undefined)
        expectAllAcked(
          await round(
            children,
            names.map((name, i) => (i === owner ? [op('masters.setMasterState', [ids[i], true], { master: name })] : [])),
          ),
        );
      owner = won[0] === undefined ? null : won[0].child;
    }
    console.log(`change source race: ${wins} wins in 8 rounds, ${takeovers} of them over an owner deactivated in the same race`);
    expect(wins).toBeGreaterThanOrEqual(1);
  });

  it("setMasterState(m, false) in one process while another claims and completes for m: none of m's earlier claims survives", async () => {
    const { names, ids } = await connectMasters('t5');
    const m = ids[0]!;
    const takeover = (name: string, brids: number[]): Op[] => [
      ...shuffled(brids).flatMap((brid) => [claim(name, [brid], undefined, 0), op('sleep', [2], { lane: 0 })]),
      op('sleep', [100], { lane: 0 }),
      ...shuffled(brids).map((brid) => claim(name, [brid], undefined, 0)),
    ];
    let taken = 0;
    const all: number[] = [];
    for (let r = 0; r < 4; r++) {
      const brids = await newRequests(16);
      all.push(...brids);
      const victim: Op[] = brids.flatMap((brid, i) => {
        const lane = i % 2;
        const ops = [claim(names[0]!, [brid], undefined, lane)];
        if (i % 4 === 0) ops.push(op('buildrequests.completeBuildRequests', [[brid], 0], { master: names[0], lane }));
        return ops;
      });
      const deactivate = op('masters.setMasterState', [m, false], { master: names[1], lane: 0 });
      const batches: Op[][] = [
        victim,
        [op('sleep', [Math.floor(Math.random() * 40)], { lane: 0 }), deactivate],
        // Two passes over the requests: the first races m for them, the second comes after the deactivation.
        takeover(names[2]!, brids),
        takeover(names[3]!, brids),
      ];
      const outcomes = await round(children, batches);
      const d = outcomes.find((o) => o.op === deactivate)!;
      expect(d.ok, d.message).toBe(true);
      expect(d.value).toBe(true);
      const state = await inspect(schema.url, (store) => store.requests());
      const claims = outcomes.filter((o) => o.op.call === 'buildrequests.claimBuildRequests' && o.ok);
      for (const o of outcomes.filter((x) => x.op.call === 'buildrequests.completeBuildRequests' && x.ok)) {
        expect(state.get((o.op.args![0] as number[])[0]!)?.complete).toBe(true);
      }
      for (const brid of brids) {
        const s = state.get(brid)!;
        const on = claims.filter((o) => (o.op.args![0] as number[])[0] === brid);
        const byM = on.filter((o) => o.child === 0);
        const byOthers = on.filter((o) => o.child !== 0);
        expect(byOthers.length, `request ${brid}: claims by other masters`).toBeLessThanOrEqual(1);
        if (!s.complete && s.claimedBy === m) {
          // Only a claim of m that may have landed after the deactivation can still hold.
          expect(
            byM.some((o) => o.answered > d.issued),
            `request ${brid}: a claim of m made before its deactivation survived it`,
          ).toBe(true);
        }
        if (byM.length > 0 && byOthers.length > 0) {
          // Both won: m's claim first, released by the deactivation, then the other's.
          expect(byM[0]!.issued, `request ${brid}: double claim`).toBeLessThan(d.answered);
          expect(byOthers[0]!.answered, `request ${brid}: double claim`).toBeGreaterThan(d.issued);
          taken++;
        }
        if (byOthers.length === 1 && !s.complete) expect(s.claimedBy).toBe(ids[byOthers[0]!.child]);
      }
      expectAllAcked(await round(children, [[op('masters.setMasterState', [m, true], { master: names[0] })]]));
    }
    await remember(all); // the next round's deactivation releases what m still held, so only now
    console.log(`deactivation race: ${taken} requests claimed by m, released by its deactivation and taken over in the same race`);
    expect(taken).toBeGreaterThan(0);
  });

  it('unclaimExpiredRequests from two processes at once releases each old claim once', async () => {
    const { names, ids } = await connectMasters('t6');
    const old = () => new Date(Date.now() - 1_000_000);
    for (let r = 0; r < 3; r++) {
      const held = await newRequests(16);
      const extra = await newRequests(8);
      // Before the race: each master holds two old claims and two recent ones.
      const prepared = await round(
        children,
        names.map((name, i) => [claim(name, held.slice(4 * i, 4 * i + 2), { claimed_at: old() }), claim(name, held.slice(4 * i + 2, 4 * i + 4))]),
      );
      expectAllAcked(prepared);
      const before = await inspect(schema.url, (store) => store.requests());
      const cutoff = Date.now() - 600_000;
      const oldBefore = [...before.values()].filter((s) => !s.complete && s.claimedAt !== null && s.claimedAt < cutoff).map((s) => s.brid);
      expect(oldBefore.length).toBeGreaterThanOrEqual(8);
      // The race: two processes expire; two others make more old claims meanwhile.
      const expire = [op('buildrequests.unclaimExpiredRequests', [600], { master: names[0] }), op('buildrequests.unclaimExpiredRequests', [600], { master: names[1] })];
      const outcomes = await round(children, [
        [expire[0]!],
        [expire[1]!],
        extra.slice(0, 4).map((brid) => claim(names[2]!, [brid], { claimed_at: old() })),
        extra.slice(4).map((brid) => claim(names[3]!, [brid], { claimed_at: old() })),
      ]);
      expectAllAcked(outcomes);
      const after = await inspect(schema.url, (store) => store.requests());
      for (const brid of oldBefore) expect(after.get(brid)?.claimedBy, `old claim on ${brid} survived expiry`).toBe(null);
      for (let i = 0; i < CHILDREN; i++) {
        for (const brid of held.slice(4 * i + 2, 4 * i + 4)) expect(after.get(brid)?.claimedBy, `recent claim on ${brid}`).toBe(ids[i]);
      }
      const releasedExtra = extra.filter((brid) => after.get(brid)?.claimedBy === null).length;
      for (const brid of extra) expect([null, ids[brid <= extra[3]! ? 2 : 3]]).toContain(after.get(brid)?.claimedBy);
      const released = outcomes.filter((o) => expire.includes(o.op)).reduce((sum, o) => sum + (o.value as number), 0);
      expect(released, `released ${released}: ${oldBefore.length} old before the race, ${releasedExtra} old claims made during it and then released`).toBe(
        oldBefore.length + releasedExtra,
      );
      await remember([...held, ...extra].filter((brid) => after.get(brid)!.claimedAt === null || after.get(brid)!.claimedAt! >= cutoff));
    }
  });

  it('a process SIGKILLed between sending COMMIT and reading its answer mid-race: survivors deactivate its master and take over its claims, none twice', async () => {
    const { names, ids } = await connectMasters('t7');
    const brids = await newRequests(24);
    const [dying, ...survivors] = children as [Child, ...Child[]];
    dying.send({ t: 'arm', commits: 1 + Math.floor(Math.random() * 3) });
    await dying.waitFor((l) => l.t === 'armed-kill', 10_000, 'armed-kill');
    // The race; child 0 dies on its first to third writing COMMIT, its answer unread. It may lose every
    // claim (a refusal writes nothing), so it also sets state values of its own: its commits do write.
    const objectid = await db.state.getObjectId('t7', 'Race');
    const batch = names.map((name, i) =>
      shuffled(brids).flatMap((brid, k) =>
        i === 0 && k % 4 === 0 ? [claim(name, [brid]), op('state.setState', [objectid, `t7-${k}`, k], { master: name })] : [claim(name, [brid])],
      ),
    );
    const id = 1_000_000;
    for (const [i, child] of children.entries()) child.send({ t: 'batch', id, ops: batch[i] });
    await Promise.all(children.map((child) => child.waitFor((l) => l.t === 'armed' && l.id === id, 30_000, 'armed')));
    for (const child of children) child.send({ t: 'go', id });
    const died = await Promise.race([dying.exited.then(() => true), dying.waitFor((l) => l.t === 'done' && l.id === id, 60_000, 'done').then(() => false)]);
    expect(died, 'child 0 answered everything without reaching its armed COMMIT').toBe(true);
    await Promise.all(survivors.map((child) => child.waitFor((l) => l.t === 'done' && l.id === id, 60_000, 'done')));
    const kill = dying.lines.find((l) => l.t === 'commit-kill');
    expect(kill, 'child 0 died in the COMMIT window').toBeDefined();
    const raced = children.flatMap((child, i) => child.outcomes(batch[i]!)).filter((o) => o.op.call === 'buildrequests.claimBuildRequests');
    // Survivors: one deactivates the dead master, then all three claim everything again.
    const off = op('masters.setMasterState', [ids[0], false], { master: names[1] });
    expectAllAcked(await round(survivors, [[off]]));
    const again = await round(
      survivors,
      survivors.map((child) => shuffled(brids).map((brid) => claim(names[child.index]!, [brid]))),
    );
    const state = await inspect(schema.url, (store) => store.requests());
    const landed = await (async () => {
      if (typeof kill?.writer !== 'string') return 'unknown';
      const client = new pg.Client(pgConfig(schema.url));
      await client.connect();
      try {
        const { rows } = await client.query<{ last: string }>(`SELECT last_commit::text AS last FROM ${schema.schema}.bc_writers WHERE writer = $1`, [kill.writer]);
        return rows[0] !== undefined && BigInt(rows[0].last) >= BigInt(kill.attempt as string) ? 'landed' : 'did not land';
      } finally {
        await client.end();
      }
    })();
    const claimsOf0 = raced.filter((o) => o.child === 0 && o.op.call === 'buildrequests.claimBuildRequests');
    const deadClaims = claimsOf0.filter((o) => o.ok).length;
    const unanswered = claimsOf0.filter((o) => o.ok === null).length;
    let takenOver = 0;
    for (const brid of brids) {
      const on = (list: Outcome[]) => list.filter((o) => o.ok && (o.op.args![0] as number[])[0] === brid);
      const live = [...on(raced.filter((o) => o.child !== 0)), ...on(again)];
      // Among the survivors nothing is released, so one claim at most; and everything ends up claimed by one of them.
      expect(live.length, `request ${brid}: survivors' acknowledged claims`).toBe(1);
      expect(state.get(brid)?.claimedBy, `request ${brid}: owner`).toBe(ids[live[0]!.child]);
      if (on(raced.filter((o) => o.child === 0)).length > 0) {
        expect(on(again).length, `request ${brid}: the dead master's claim and a survivor's before the takeover`).toBe(1);
        takenOver++;
      }
    }
    console.log(
      `commit-window kill mid-race: the dead process had ${deadClaims} claims acknowledged and ${unanswered} unanswered; its interrupted COMMIT ${landed}; ${takenOver} requests taken over`,
    );
    await remember(brids);
  });

  it('after SIGKILL of every process, every acknowledged claim and completion is in the store and verify is sound', async () => {
    await Promise.all(children.map((child) => child.kill()));
    await setup.close();
    const { state, report } = await inspect(schema.url, async (store) => ({ state: await store.requests(), report: await store.verify() }));
    for (const [brid, expected] of final)
      expect({ brid, claimedBy: state.get(brid)?.claimedBy ?? null, complete: state.get(brid)?.complete ?? false }).toEqual({ brid, ...expected });
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
    expect(final.size).toBeGreaterThan(100);
  });
});
