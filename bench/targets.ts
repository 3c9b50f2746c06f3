/**
 * What a scenario drives: masters that claim and complete build requests,
 * and what the store says afterwards. buildcoord is one target; the sqlite
 * baseline is another, so both run under the same driver and bookkeeping.
 */
import type * as Api from '../src/api.ts';
import type { Backend } from '../src/persistence/backend.ts';

/**
 * The buildcoord module. The benchmark passes the built package (dist/) so
 * it measures what users run; tests pass src/ so they check the source.
 */
export type BuildcoordApi = typeof Api;

export interface Target {
  /** Master `master` claims one request: true if won, false if refused as taken (AlreadyClaimed). */
  claim(master: number, brid: number): Promise<boolean>;
  /** Master `master` completes one request (results 0). */
  complete(master: number, brid: number): Promise<void>;
  /** getBuildRequests({ buildername, claimed: false }): unclaimed incomplete requests, ascending. */
  unclaimed(master: number, buildername: string): Promise<number[]>;
  /** The requests whose claim master `master` holds, complete or not. */
  claimedBy(master: number): Promise<{ brid: number; complete: boolean }[]>;
  /** Actors in memory now (0 where there are none). */
  liveActors(): number;
  close(): Promise<void>;
}

export const masterName = (master: number) => `master-${master}`;

export interface Buildcoord {
  coordinator: Api.Coordinator;
  /** master-0, master-1, ...: each master's connector. */
  dbs: Api.Connector[];
  target: Target;
}

/** buildcoord over a backend, with `masters` masters connected as master-0, master-1, ... */
export async function openBuildcoord(api: BuildcoordApi, backend: Backend, options: { durability: 'sync' | 'buffered'; masters: number }): Promise<Buildcoord> {
  const coordinator = await api.openCoordinator({ backend, durability: options.durability });
  const dbs: Api.Connector[] = [];
  for (let m = 0; m < options.masters; m++) dbs.push(await coordinator.connect(masterName(m)));
  const db = (master: number) => dbs[master]!;
  const target: Target = {
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
    async unclaimed(master, buildername) {
      return (await db(master).buildrequests.getBuildRequests({ buildername, claimed: false })).map((br) => br.brid);
    },
    async claimedBy(master) {
      return (await db(master).buildrequests.getBuildRequests({ claimed: 'mine' })).map((br) => ({ brid: br.brid, complete: br.complete }));
    },
    liveActors: () => coordinator.liveActors,
    close: () => coordinator.close(),
  };
  return { coordinator, dbs, target };
}
