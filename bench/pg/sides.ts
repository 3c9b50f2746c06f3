/**
 * The two sides of the shared-store scenario, each as one process sees it:
 * buildcoord (a coordinator of its own over the shared store, hosting some of
 * the masters) and Buildbot's claim schema (a pool of its own over the same
 * tables). Each can seed the requests, run cycles as its masters, and say
 * afterwards what the store holds. Masters are numbered over all processes:
 * master g is `master-g` to buildcoord and masters row g + 1 to Buildbot.
 */
import type * as Api from '../../src/api.ts';
import type { Backend } from '../../src/persistence/backend.ts';
import { maskLocation } from '../../src/persistence/postgres/location.ts';
import { PgBuildbotClaims, pgBuildbotTarget } from '../baselines/pgBuildbot.ts';
import { builderName } from '../scenarios.ts';
import type { Holdings } from '../stats.ts';
import { masterName } from '../targets.ts';
import type { BuildcoordApi } from '../targets.ts';
import type { Cycler } from './cycles.ts';

export type PgSide = 'buildcoord' | 'buildbot';

/** Where a side's store is: a PostgreSQL URL naming the sample's schema, or (buildcoord, tests) a backend to open. */
export type Store = { url: string } | { backend: Backend };

export interface Opened extends Cycler {
  close(): Promise<void>;
}

/** An error as one line, with any PostgreSQL password masked. */
export function describeError(error: unknown): string {
  const e = error as { code?: unknown; name?: unknown; message?: unknown };
  const what = typeof e?.code === 'string' ? e.code : typeof e?.name === 'string' ? e.name : 'Error';
  return maskLocation(`${what}: ${typeof e?.message === 'string' ? e.message : String(error)}`).split('\n', 1)[0]!;
}

async function coordinator(api: BuildcoordApi, store: Store) {
  return 'url' in store ? api.openCoordinator({ location: store.url, durability: 'sync' }) : api.openCoordinator({ backend: store.backend, durability: 'sync' });
}

const url = (store: Store, side: PgSide): string => {
  if (!('url' in store)) throw new Error(`the ${side} side needs a PostgreSQL URL`);
  return store.url;
};

/** How many addBuildset calls are in flight at once while seeding. */
const SEED_WAVE = 64;

/**
 * Adds `requests` requests, `builders` to a buildset (request i of a buildset
 * on builder i), and returns their ids in the order added. buildcoord's come
 * from the store's sequences, so they are read back, not assumed.
 */
export async function seed(side: PgSide, api: BuildcoordApi, store: Store, o: { requests: number; builders: number; masters: number }): Promise<number[]> {
  if (side === 'buildbot') {
    const claims = await PgBuildbotClaims.open(url(store, side), { connections: 1, masters: o.masters });
    try {
      await claims.addRequests(o.requests, o.builders);
    } finally {
      await claims.close();
    }
    return Array.from({ length: o.requests }, (_, i) => i + 1);
  }
  const c = await coordinator(api, store);
  try {
    const db = await c.connect(masterName(0));
    const sourcestampsetid = await db.sourcestampsets.addSourceStampSet();
    const all = Array.from({ length: o.builders }, (_, b) => builderName(b));
    const buildsets = Math.ceil(o.requests / o.builders);
    const brids: number[] = [];
    for (let done = 0; done < buildsets; done += SEED_WAVE) {
      const made = await Promise.all(
        Array.from({ length: Math.min(SEED_WAVE, buildsets - done) }, (_, i) => {
          const builderNames = all.slice(0, Math.min(o.builders, o.requests - (done + i) * o.builders));
          return db.buildsets.addBuildset({ sourcestampsetid, reason: 'bench', properties: {}, builderNames });
        }),
      );
      for (const [, ids] of made) brids.push(...Object.values(ids).sort((a, b) => a - b));
    }
    return brids;
  } finally {
    await c.close();
  }
}

/** One process's side: masters first..first + masters - 1, and (Buildbot) `connections` connections. */
export async function open(side: PgSide, api: BuildcoordApi, store: Store, o: { firstMaster: number; masters: number; allMasters: number; connections: number }): Promise<Opened> {
  if (side === 'buildbot') {
    const claims = await PgBuildbotClaims.open(url(store, side), { connections: o.connections, masters: o.allMasters });
    await claims.warmPool();
    const target = pgBuildbotTarget(claims);
    return { claim: target.claim, complete: target.complete, close: target.close };
  }
  const c = await coordinator(api, store);
  const dbs: Api.Connector[] = [];
  try {
    for (let m = 0; m < o.masters; m++) dbs.push(await c.connect(masterName(o.firstMaster + m)));
  } catch (error) {
    await c.close();
    throw error;
  }
  const db = (master: number) => {
    const found = dbs[master - o.firstMaster];
    if (found === undefined) throw new Error(`master ${master} is not hosted here`);
    return found;
  };
  return {
    async claim(master, brid) {
      try {
        await db(master).buildrequests.claimBuildRequests([brid]);
        return true;
      } catch (error) {
        // The code, not instanceof: dist/ and src/ each have their own error classes.
        if ((error as { code?: unknown }).code === 'ALREADY_CLAIMED') return false;
        throw error;
      }
    },
    async complete(master, brid) {
      await db(master).buildrequests.completeBuildRequests([brid], 0);
    },
    close: () => c.close(),
  };
}

export interface StoreView {
  /** For each master, the requests whose claim it holds, complete or not. */
  holdings: Holdings;
  /** Buildbot: requests with more than one claim row; buildcoord: requests shown claimed by two masters. */
  doubleClaims: number;
}

/** What the store holds, read afresh (a new coordinator, or new connections) after every process has closed. */
export async function inspect(side: PgSide, api: BuildcoordApi, store: Store, o: { masters: number }): Promise<StoreView> {
  const holdings: Holdings = [];
  if (side === 'buildbot') {
    const claims = await PgBuildbotClaims.open(url(store, side), { connections: 1, masters: o.masters });
    try {
      for (let m = 0; m < o.masters; m++) holdings.push(await claims.heldByMaster(m + 1));
      return { holdings, doubleClaims: await claims.doubleClaims() };
    } finally {
      await claims.close();
    }
  }
  const c = await coordinator(api, store);
  try {
    for (let m = 0; m < o.masters; m++) {
      const db = await c.connect(masterName(m));
      holdings.push((await db.buildrequests.getBuildRequests({ claimed: 'mine' })).map((br) => ({ brid: br.brid, complete: br.complete })));
    }
  } finally {
    await c.close();
  }
  const seen = new Set<number>();
  let doubleClaims = 0;
  for (const held of holdings) {
    for (const { brid } of held) {
      if (seen.has(brid)) doubleClaims++;
      seen.add(brid);
    }
  }
  return { holdings, doubleClaims };
}
