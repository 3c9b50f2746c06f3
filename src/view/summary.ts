import type { Connector } from '../connector/connector.ts';
import type { BrDict } from '../types.ts';

export type RequestState = 'unclaimed' | 'claimed' | 'complete';

export interface StateCounts {
  unclaimed: number;
  claimed: number;
  complete: number;
}

/** What the live view shows, read through the public connector API. */
export interface Summary {
  /** The reading's time, by the view's clock (ISO 8601). */
  at: string;
  masters: { id: number; name: string; active: boolean; last_active: string }[];
  requests: StateCounts & { total: number; byBuilder: ({ buildername: string } & StateCounts)[] };
  changeSources: { id: number; name: string; masterid: number | null; master: string | null }[];
}

/** A request's state as the machine names it, from its brdict. */
export function requestState(br: Pick<BrDict, 'claimed' | 'complete'>): RequestState {
  return br.complete ? 'complete' : br.claimed ? 'claimed' : 'unclaimed';
}

export function countStates(requests: readonly Pick<BrDict, 'claimed' | 'complete'>[]): StateCounts {
  const counts: StateCounts = { unclaimed: 0, claimed: 0, complete: 0 };
  for (const br of requests) counts[requestState(br)]++;
  return counts;
}

/**
 * Reads masters, build requests and change sources. Reads only: any
 * master's connector gives the same answer, since nothing here is `mine`.
 */
export async function readSummary(db: Connector, now: () => Date = () => new Date()): Promise<Summary> {
  const [masters, requests, sources] = await Promise.all([db.masters.getMasters(), db.buildrequests.getBuildRequests(), db.changesources.getChangeSources()]);
  const names = new Map(masters.map((m) => [m.id, m.name]));
  const builders = new Map<string, BrDict[]>();
  for (const br of requests) {
    const list = builders.get(br.buildername);
    if (list) list.push(br);
    else builders.set(br.buildername, [br]);
  }
  return {
    at: now().toISOString(),
    masters: masters.sort((a, b) => a.id - b.id).map((m) => ({ id: m.id, name: m.name, active: m.active, last_active: m.last_active.toISOString() })),
    requests: {
      total: requests.length,
      ...countStates(requests),
      byBuilder: [...builders.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([buildername, list]) => ({ buildername, ...countStates(list) })),
    },
    changeSources: sources.map((cs) => ({ id: cs.id, name: cs.name, masterid: cs.masterid, master: cs.masterid === null ? null : (names.get(cs.masterid) ?? null) })),
  };
}
