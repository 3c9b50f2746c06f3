/**
 * The server goes away under load: `pg_ctl -m immediate stop` (a crash) and
 * a restart, and sessions killed with pg_terminate_backend. On a private
 * cluster (test/shared/privateCluster.ts): the shared test server is never
 * stopped, and buildcoord sessions all carry application_name 'buildcoord'
 * (url.ts sets it whatever the URL says), so on a shared server other test
 * files' sessions could not be told apart from ours.
 *
 * Two coordinators (two masters) run lanes of: add a buildset of two
 * requests, both masters claim the first at once, the lane's master claims
 * and completes the second, and sets a state value. Every answer must be
 * right or a StorageError; nothing acknowledged at 'sync' may be missing
 * afterwards; calls made once the server is back succeed; verify is sound.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openCoordinator, StorageError } from '../../src/api.ts';
import type { Connector, Coordinator } from '../../src/api.ts';
import { postgresBackend } from '../../src/persistence/postgres/backend.ts';
import { inspect } from '../../reliability/inspect.ts';
import { describePg, freshSchema } from '../support/postgres.ts';
import type { FreshSchema } from '../support/postgres.ts';
import { PrivateCluster } from './privateCluster.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Tally {
  ok: number;
  storageErrors: number;
  /** Answers that are neither right nor a StorageError. */
  wrong: string[];
  buildsets: [number, Record<string, number>][];
  /** Acknowledged claims: brid -> masterid. */
  claims: Map<number, number>;
  /** Contested requests: brid -> masterids whose claim was acknowledged. */
  contested: Map<number, number[]>;
  completed: number[];
  /** Per state name: the last acknowledged value, and the highest value issued. */
  states: Map<string, { acked: number; issued: number }>;
}

class Load {
  readonly tally: Tally = { ok: 0, storageErrors: 0, wrong: [], buildsets: [], claims: new Map(), contested: new Map(), completed: [], states: new Map() };
  private stopped = false;
  private readonly lanes: Promise<void>[] = [];

  constructor(
    private readonly masters: readonly Connector[],
    private readonly sss: number,
    private readonly objectid: number,
    lanes: number,
  ) {
    for (let i = 0; i < lanes; i++) this.lanes.push(this.lane(i));
  }

  /** Runs a call: true if answered, false on StorageError (anything else is wrong unless `refusals` lists its code). */
  private async call<T>(what: string, run: () => Promise<T>, refusals: string[] = []): Promise<{ ok: true; value: T } | { ok: false; refused: boolean }> {
    try {
      const value = await run();
      this.tally.ok++;
      return { ok: true, value };
    } catch (error) {
      const e = error as Error & { code?: string };
      if (e instanceof StorageError && e.code === 'STORAGE_ERROR') {
        this.tally.storageErrors++;
        return { ok: false, refused: false };
      }
      if (refusals.includes(e.code ?? '')) return { ok: false, refused: true };
      this.tally.wrong.push(`${what}: ${e?.constructor?.name} ${e?.code}: ${e?.message}`);
      return { ok: false, refused: false };
    }
  }

  private async lane(i: number): Promise<void> {
    const own = this.masters[i % this.masters.length]!;
    const name = `lane-${i}`;
    let counter = 0;
    while (!this.stopped) {
      const added = await this.call('addBuildset', () => own.buildsets.addBuildset({ sourcestampsetid: this.sss, reason: 'restart', properties: {}, builderNames: ['x', 'y'] }));
      if (!added.ok) {
        await sleep(20);
        continue;
      }
      this.tally.buildsets.push(added.value);
      const { x, y } = added.value[1] as { x: number; y: number };
      // Both masters claim x at once: at most one may win.
      const raced = await Promise.all(this.masters.map((m) => this.call(`contested claim ${x}`, () => m.buildrequests.claimBuildRequests([x]), ['ALREADY_CLAIMED'])));
      this.tally.contested.set(
        x,
        raced.flatMap((r, k) => (r.ok ? [this.masters[k]!.masterid] : [])),
      );
      // y is this lane's alone: its claim and completion have exactly one right answer, success.
      const claimed = await this.call(`claim ${y}`, () => own.buildrequests.claimBuildRequests([y]));
      if (claimed.ok) {
        this.tally.claims.set(y, own.masterid);
        const completed = await this.call(`complete ${y}`, () => own.buildrequests.completeBuildRequests([y], 0));
        if (completed.ok) this.tally.completed.push(y);
      }
      const value = ++counter;
      const state = this.tally.states.get(name) ?? { acked: 0, issued: 0 };
      state.issued = value;
      this.tally.states.set(name, state);
      if ((await this.call(`setState ${name}`, () => own.state.setState(this.objectid, name, value))).ok) state.acked = value;
    }
  }

  async stop(): Promise<Tally> {
    this.stopped = true;
    await Promise.all(this.lanes);
    return this.tally;
  }
}

/** Checks the store against what the load was told. */
async function checkStore(url: string, tally: Tally, objectid: number): Promise<void> {
  const { requests, buildsets, states, report } = await inspect(url, async (store) => ({
    requests: await store.requests(),
    buildsets: await store.buildsetIds(),
    states: await store.states(),
    report: await store.verify(),
  }));
  expect(tally.wrong).toEqual([]);
  const lost: string[] = [];
  for (const [bsid, brids] of tally.buildsets) {
    if (!buildsets.has(bsid)) lost.push(`buildset ${bsid}`);
    for (const brid of Object.values(brids)) if (requests.get(brid)?.buildsetid !== bsid) lost.push(`request ${brid}`);
  }
  for (const [brid, masterid] of tally.claims) if (requests.get(brid)?.claimedBy !== masterid) lost.push(`claim of ${brid} by ${masterid}`);
  for (const brid of tally.completed) if (!requests.get(brid)?.complete) lost.push(`completion of ${brid}`);
  for (const [brid, winners] of tally.contested) {
    if (winners.length > 1) lost.push(`request ${brid} claimed by both masters: ${winners}`);
    if (winners.length === 1 && requests.get(brid)?.claimedBy !== winners[0]) lost.push(`contested claim of ${brid} by ${winners[0]}`);
  }
  for (const [name, { acked, issued }] of tally.states) {
    const found = states.get(`${objectid}/${name}`);
    const value = found === undefined ? 0 : (JSON.parse(found) as number);
    if (value < acked || value > issued) lost.push(`state ${name} is ${value}; acknowledged up to ${acked}, issued up to ${issued}`);
  }
  expect(lost).toEqual([]);
  expect(report.problems).toEqual([]);
}

describePg('the server crashes, restarts and kills sessions under load', () => {
  let cluster: PrivateCluster;
  const schemas: FreshSchema[] = [];
  const open: Coordinator[] = [];

  beforeAll(async () => {
    cluster = await PrivateCluster.start();
  }, 120_000);

  afterAll(async () => {
    await Promise.all(open.map((c) => c.close().catch(() => {})));
    await cluster?.destroy();
  }, 60_000);

  /** Two coordinators on a fresh schema of the private cluster, each hosting one master. */
  async function setup(retryWindowMs?: number) {
    const schema = await freshSchema(cluster.url);
    schemas.push(schema);
    const openOne = () =>
      retryWindowMs === undefined
        ? openCoordinator({ location: schema.url, durability: 'sync' })
        : openCoordinator({ backend: postgresBackend(schema.url, { sync: true, retryWindowMs }), durability: 'sync' });
    const [a, b] = [await openOne(), await openOne()];
    open.push(a, b);
    const masters = [await a.connect('restart-a'), await b.connect('restart-b')];
    const sss = await masters[0]!.sourcestampsets.addSourceStampSet();
    const objectid = await masters[0]!.state.getObjectId('restart', 'Restart');
    return { url: schema.url, masters, sss, objectid };
  }

  /** After the outage: each master adds, claims and completes; all must succeed now. */
  async function afterwards(masters: readonly Connector[], sss: number): Promise<void> {
    for (const m of masters) {
      const [, brids] = await m.buildsets.addBuildset({ sourcestampsetid: sss, reason: 'after', properties: {}, builderNames: ['z'] });
      await m.buildrequests.claimBuildRequests([brids.z!]);
      await m.buildrequests.completeBuildRequests([brids.z!], 0);
      expect((await m.buildrequests.getBuildRequest(brids.z!))?.complete).toBe(true);
    }
  }

  it('pg_ctl -m immediate stop and a restart within the retry window: right answers or StorageError, nothing acknowledged lost', async () => {
    const { url, masters, sss, objectid } = await setup();
    const load = new Load(masters, sss, objectid, 6);
    for (let outage = 0; outage < 2; outage++) {
      await sleep(700 + Math.random() * 500);
      const before = load.tally.ok;
      await cluster.stopImmediate();
      await sleep(1_000);
      await cluster.restart();
      await sleep(1_500);
      expect(before).toBeGreaterThan(0);
    }
    const afterRestart = load.tally.ok;
    await sleep(1_000);
    const tally = await load.stop();
    expect(tally.ok).toBeGreaterThan(afterRestart); // the load went on once the server was back
    console.log(`immediate stop, restart in 1 s (twice): ${tally.ok} calls answered, ${tally.storageErrors} StorageErrors, ${tally.buildsets.length} buildsets`);
    await afterwards(masters, sss);
    await checkStore(url, tally, objectid);
  }, 90_000);

  it('a server down longer than the retry window: calls fail with StorageError, later calls succeed, nothing acknowledged lost', async () => {
    const { url, masters, sss, objectid } = await setup(1_500);
    const load = new Load(masters, sss, objectid, 6);
    await sleep(800);
    await cluster.stopImmediate();
    const failedBefore = load.tally.storageErrors;
    await sleep(4_000);
    const failedDuring = load.tally.storageErrors - failedBefore;
    await cluster.restart();
    await sleep(2_000);
    const tally = await load.stop();
    console.log(`immediate stop, down 4 s, retry window 1.5 s: ${tally.ok} calls answered, ${tally.storageErrors} StorageErrors (${failedDuring} while down)`);
    expect(failedDuring).toBeGreaterThan(0);
    await afterwards(masters, sss);
    await checkStore(url, tally, objectid);
  }, 90_000);

  it('sessions killed with pg_terminate_backend again and again: right answers or StorageError, nothing acknowledged lost', async () => {
    const { url, masters, sss, objectid } = await setup();
    const load = new Load(masters, sss, objectid, 6);
    await sleep(500);
    let terminated = 0;
    const until = Date.now() + 4_000;
    while (Date.now() < until) {
      terminated += await cluster.terminateBackends();
      await sleep(20 + Math.random() * 120);
    }
    await sleep(1_000);
    const tally = await load.stop();
    console.log(`pg_terminate_backend for 4 s: ${terminated} sessions ended, ${tally.ok} calls answered, ${tally.storageErrors} StorageErrors`);
    expect(terminated).toBeGreaterThan(10);
    await afterwards(masters, sss);
    await checkStore(url, tally, objectid);
  }, 90_000);
});
