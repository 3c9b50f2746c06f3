// The live feed of a shared store, read from the store: every coordinator's steps, on the in-memory stand-in.
import { afterEach, describe, expect, it } from 'vitest';
import { openCoordinator } from '../../src/api.ts';
import type { Coordinator } from '../../src/api.ts';
import { recordKey } from '../../src/persistence/keys.ts';
import { SharedMemoryStore } from '../../src/persistence/shared/memory.ts';
import type { SharedMemoryBackend } from '../../src/persistence/shared/memory.ts';
import { createStoreFeed, openStoreFeed } from '../../src/view/storeFeed.ts';
import { describePg, freshSchema } from '../support/postgres.ts';
import { createLiveFeed, startLiveView } from '../../src/view/index.ts';
import type { Transition } from '../../src/view/index.ts';

const T0 = new Date('2024-05-01T12:00:00Z');
let closing: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closing.reverse()) await close();
  closing = [];
});

/** A shared store, two coordinators on it (as two processes would be), and a feed on a third connection. */
async function shared() {
  let now = T0.getTime();
  const clock = () => new Date(now);
  const store = new SharedMemoryStore();
  const open = async () => {
    const coordinator = await openCoordinator({ backend: store.connect(), now: clock });
    closing.push(() => coordinator.close());
    return coordinator;
  };
  const [one, two] = [await open(), await open()];
  const backend = store.connect();
  await backend.open();
  const feed = createStoreFeed(backend, { now: clock, intervalMs: 0 });
  closing.push(async () => {
    await feed.close();
    await backend.close();
  });
  const seen: Transition[] = [];
  feed.subscribe((t) => seen.push(t));
  return { store, one, two, feed, seen, backend, advance: (seconds: number) => void (now += seconds * 1000) };
}

const steps = (seen: Transition[], actor: string) => seen.filter((t) => t.actor === actor).map((t) => `${t.from ?? '·'} -> ${t.to} (${t.event})`);

async function buildset(coordinator: Coordinator, master: string, builders: string[]) {
  const db = await coordinator.connect(master);
  const sss = await db.sourcestampsets.addSourceStampSet();
  const [, brids] = await db.buildsets.addBuildset({ sourcestampsetid: sss, reason: 'r', properties: {}, builderNames: builders });
  return { db, brids: brids as Record<string, number> };
}

describe('createStoreFeed', () => {
  it('learns the store at the first reading, then reports the steps other coordinators make, marked as from the store', async () => {
    const { one, two, feed, seen } = await shared();
    const { db: a, brids } = await buildset(one, 'a', ['linux', 'macos']);
    const b = await two.connect('b');
    await a.buildrequests.claimBuildRequests([brids.macos!]);
    expect(await feed.poll()).toEqual([]); // what was there before is no step

    await b.buildrequests.claimBuildRequests([brids.linux!]);
    await a.buildrequests.completeBuildRequests([brids.macos!], 0);
    const found = await feed.poll();
    expect(found.map((t) => `${t.actor} ${t.from} -> ${t.to} (${t.event})`)).toEqual([
      `br:${brids.linux} unclaimed -> claimed (request.claim)`,
      `br:${brids.macos} claimed -> complete (request.complete)`,
    ]);
    expect(found[0]).toMatchObject({ kind: 'buildrequest', id: brids.linux, label: 'linux', masterid: b.masterid, source: 'store', at: T0.toISOString() });
    expect(found[1]).toMatchObject({ masterid: a.masterid, label: 'macos' });
    expect(found[1]!.seq).toBeGreaterThan(found[0]!.seq);
    expect(seen).toEqual(found);
    expect(feed.recent()).toEqual(found);
    expect(await feed.poll()).toEqual([]); // nothing new, nothing told
  });

  it('tells new requests, reclaims, expiry and a takeover by another master, in the machine order', async () => {
    const { one, two, feed, seen, advance } = await shared();
    await feed.poll();
    const { db: a, brids } = await buildset(one, 'a', ['linux', 'docs']);
    const b = await two.connect('b');
    await a.buildrequests.claimBuildRequests([brids.linux!]);
    await feed.poll();
    advance(10);
    await a.buildrequests.reclaimBuildRequests([brids.linux!]);
    await feed.poll();
    advance(600);
    await b.buildrequests.unclaimExpiredRequests(300);
    await b.buildrequests.claimBuildRequests([brids.linux!]); // released and claimed again between two readings
    await feed.poll();
    await b.buildrequests.completeBuildRequests([brids.docs!], 2); // complete without a claim
    await feed.poll();

    expect(steps(seen, `br:${brids.linux}`)).toEqual([
      '· -> unclaimed (new)',
      'unclaimed -> claimed (request.claim)',
      'claimed -> claimed (request.reclaim)',
      'claimed -> unclaimed (released)',
      'unclaimed -> claimed (request.claim)',
    ]);
    const linux = seen.filter((t) => t.actor === `br:${brids.linux}`).map((t) => t.masterid);
    expect(linux).toEqual([null, a.masterid, a.masterid, a.masterid, b.masterid]);
    expect(steps(seen, `br:${brids.docs}`)).toEqual(['· -> unclaimed (new)', 'unclaimed -> complete (request.complete)']);
  });

  it('finds a request made and completed between two readings, and a change source changing hands', async () => {
    const { one, two, feed, seen } = await shared();
    const a = await one.connect('a');
    const b = await two.connect('b');
    const cs = await a.changesources.findChangeSourceId('git-poller');
    await feed.poll();
    const { brids } = await buildset(one, 'a', ['arm64']);
    await a.buildrequests.claimBuildRequests([brids.arm64!]);
    await a.buildrequests.completeBuildRequests([brids.arm64!], 0);
    await a.changesources.setChangeSourceMaster(cs, a.masterid);
    await feed.poll();
    await b.masters.setMasterState(a.masterid, false);
    await feed.poll();
    await b.changesources.setChangeSourceMaster(cs, b.masterid);
    await feed.poll();

    expect(steps(seen, `br:${brids.arm64}`)).toEqual(['· -> unclaimed (new)', 'unclaimed -> claimed (request.claim)', 'claimed -> complete (request.complete)']);
    expect(steps(seen, `cs:${cs}`)).toEqual(['unclaimed -> claimed (changesource.setMaster)', 'claimed -> unclaimed (released)', 'unclaimed -> claimed (changesource.setMaster)']);
    expect(seen.filter((t) => t.kind === 'changesource').map((t) => [t.masterid, t.label])).toEqual([
      [a.masterid, 'git-poller'],
      [a.masterid, 'git-poller'],
      [b.masterid, 'git-poller'],
    ]);
  });

  it('waits for an id handed out whose record lands later (commits land out of id order)', async () => {
    const { store, one, feed, seen } = await shared();
    await feed.poll();
    const { brids } = await buildset(one, 'a', ['linux']);
    // Hide the new record as if its commit were still in flight, though its id is handed out.
    const key = recordKey('br', brids.linux!);
    const record = store.tree.get(key)!;
    store.tree.delete(key);
    expect(await feed.poll()).toEqual([]);
    store.tree.set(key, record);
    expect(steps(await feed.poll(), `br:${brids.linux}`)).toEqual(['· -> unclaimed (new)']);
    expect(seen).toHaveLength(1);
  });

  it('reads only what can have changed: the incomplete requests, the ones it watched, the new ids and the change sources', async () => {
    const { one, feed, backend } = await shared();
    const { db: a, brids } = await buildset(one, 'a', ['b1', 'b2', 'b3', 'b4']);
    await feed.poll();
    await a.buildrequests.claimBuildRequests([brids.b1!, brids.b2!, brids.b3!]);
    await a.buildrequests.completeBuildRequests([brids.b1!, brids.b2!, brids.b3!], 0);
    expect(await feed.poll()).toHaveLength(6); // watched while incomplete: their completion is seen
    const read = spyOnReads(backend);
    await feed.poll();
    // Of the four requests, only the incomplete one is read again; the three complete ones are forgotten.
    expect(read.records.filter((key) => key.startsWith('r/br/'))).toEqual([recordKey('br', brids.b4!)]);
  });

  it('polls on its own every intervalMs, and a failed reading is told and tried again', async () => {
    const store = new SharedMemoryStore();
    const coordinator = await openCoordinator({ backend: store.connect() });
    closing.push(() => coordinator.close());
    const backend = store.connect();
    await backend.open();
    let fail = 1;
    const errors: unknown[] = [];
    const readSnapshot = backend.readSnapshot.bind(backend);
    backend.readSnapshot = (work) => (fail-- > 0 ? Promise.reject(new Error('connection lost')) : readSnapshot(work));
    const feed = createStoreFeed(backend, { intervalMs: 20, onError: (error) => errors.push(error) });
    closing.push(async () => {
      await feed.close();
      await backend.close();
    });
    const seen = new Promise<Transition>((resolve) => feed.subscribe(resolve));
    await new Promise((r) => setTimeout(r, 100)); // the failed reading, then the first good one
    const { brids } = await buildset(coordinator, 'a', ['linux']);
    expect(await seen).toMatchObject({ actor: `br:${brids.linux}`, event: 'new', source: 'store' });
    expect(errors).toHaveLength(1);
  });

  it('feeds the live view: a view hosting no actors shows another coordinator claiming', async () => {
    const { one, two, feed } = await shared();
    const viewer = await two.connect('viewer');
    const view = await startLiveView(viewer, { feed, port: 0 });
    closing.push(() => view.close());
    await feed.poll();
    const { db: a, brids } = await buildset(one, 'a', ['linux']);
    await a.buildrequests.claimBuildRequests([brids.linux!]);
    await feed.poll();
    const transitions = (await (await fetch(`${view.url}api/transitions`)).json()) as Transition[];
    expect(transitions.map((t) => [t.actor, t.event, t.source])).toEqual([
      [`br:${brids.linux}`, 'new', 'store'],
      [`br:${brids.linux}`, 'request.claim', 'store'],
    ]);
    const html = await (await fetch(view.url)).text();
    expect(html).toContain("'data-source'");
  });

  it('its inspect observer ignores actors: on a shared store they are seen in the store', () => {
    const feed = createStoreFeed(new SharedMemoryStore().connect(), { intervalMs: 0 });
    const local = createLiveFeed();
    expect(Object.keys(feed.inspect)).toEqual(Object.keys(local.inspect));
    feed.inspect.next?.({ type: '@xstate.snapshot' } as never);
    expect(feed.recent()).toEqual([]);
  });
});

/** Records every key the backend's snapshots read by point reads. */
function spyOnReads(backend: SharedMemoryBackend): { records: string[] } {
  const records: string[] = [];
  const readSnapshot = backend.readSnapshot.bind(backend);
  backend.readSnapshot = (work) =>
    readSnapshot((view) =>
      work({
        ...view,
        get: (key) => {
          records.push(key);
          return view.get(key);
        },
        getMany: (keys) => {
          records.push(...keys);
          return view.getMany(keys);
        },
      }),
    );
  return { records };
}

describePg('openStoreFeed on PostgreSQL', (server) => {
  it('shows what a coordinator on the same URL does, on a connection of its own, and closes it', async () => {
    const schema = await freshSchema(server);
    try {
      const coordinator = await openCoordinator({ location: schema.url });
      closing.push(() => coordinator.close());
      const feed = await openStoreFeed(schema.url, { intervalMs: 50 });
      const seen: Transition[] = [];
      feed.subscribe((t) => seen.push(t));
      await feed.poll();
      const { db, brids } = await buildset(coordinator, 'a', ['linux']);
      await db.buildrequests.claimBuildRequests([brids.linux!]);
      await db.buildrequests.completeBuildRequests([brids.linux!], 0);
      const deadline = Date.now() + 10_000;
      while (!seen.some((t) => t.to === 'complete') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      await feed.close();
      expect(steps(seen, `br:${brids.linux}`).at(-1)).toBe('claimed -> complete (request.complete)');
      expect(steps(seen, `br:${brids.linux}`)[0]).toBe('· -> unclaimed (new)');
      await expect(feed.poll()).rejects.toThrow(); // its store is closed
    } finally {
      for (const close of closing.splice(0).reverse()) await close();
      await schema.drop();
    }
  });
});
