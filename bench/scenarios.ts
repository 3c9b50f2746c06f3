import { AlreadyClaimedError } from '../src/api.ts';
import type { Connector } from '../src/api.ts';
import { doubleWins, latency } from './stats.ts';
import type { Latency } from './stats.ts';
import type { Farm } from './workload.ts';

export type Scenario = 'claim' | 'contended' | 'poll';

export interface PhaseResult {
  calls: number;
  seconds: number;
  perSecond: number;
  latency: Latency;
}

export interface ScenarioResult {
  claims: PhaseResult;
  completes: PhaseResult;
  wins: number;
  losses: number;
  doubleWins: number[];
  peakRss: number;
  peakHeap: number;
  liveActors: number;
}

/** Runs `workers` loops at once, each calling `next` until it returns false; times every call. */
async function timed(workers: number, body: (worker: number, time: <T>(call: () => Promise<T>) => Promise<T>) => Promise<boolean>): Promise<PhaseResult> {
  const samples: number[] = [];
  const time = async <T>(call: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    try {
      return await call();
    } finally {
      samples.push(performance.now() - started);
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: workers }, async (_, worker) => {
    while (await body(worker, time));
  }));
  const seconds = (performance.now() - started) / 1000;
  return { calls: samples.length, seconds, perSecond: samples.length / seconds, latency: latency(samples) };
}

/** Samples memory while a phase runs. */
function memoryWatch() {
  let rss = 0;
  let heap = 0;
  const sample = () => {
    const m = process.memoryUsage();
    rss = Math.max(rss, m.rss);
    heap = Math.max(heap, m.heapUsed);
  };
  const timer = setInterval(sample, 20);
  sample();
  return () => {
    clearInterval(timer);
    sample();
    return { rss, heap };
  };
}

/**
 * claim: every claimer takes the next request from one shared list (so
 * claims are disjoint), claims it alone, then completes its wins.
 * contended: each master walks the whole list; its claimers race every
 * other master's, and losers move on. poll: claimers find work as a master
 * does, by getBuildRequests({ buildername, claimed: false }).
 */
export async function runScenario(farm: Farm, scenario: Scenario, concurrency: number): Promise<ScenarioResult> {
  const { masters, brids } = farm;
  const ownerOf = (worker: number) => masters[worker % masters.length]!;
  const wins: { brid: number; claimer: string; db: Connector }[] = [];
  let losses = 0;
  const attempt = async (db: Connector, brid: number, time: <T>(call: () => Promise<T>) => Promise<T>) => {
    try {
      await time(() => db.buildrequests.claimBuildRequests([brid]));
      wins.push({ brid, claimer: String(db.masterid), db });
    } catch (error) {
      if (!(error instanceof AlreadyClaimedError)) throw error;
      losses++;
    }
  };
  const stop = memoryWatch();

  let claims: PhaseResult;
  if (scenario === 'claim') {
    let next = 0;
    claims = await timed(concurrency, async (worker, time) => {
      const brid = brids[next++];
      if (brid === undefined) return false;
      await attempt(ownerOf(worker), brid, time);
      return true;
    });
  } else if (scenario === 'contended') {
    const cursors = masters.map(() => 0);
    claims = await timed(concurrency, async (worker, time) => {
      const m = worker % masters.length;
      const brid = brids[cursors[m]!++];
      if (brid === undefined) return false;
      await attempt(masters[m]!, brid, time);
      return true;
    });
  } else {
    claims = await timed(concurrency, async (worker, time) => {
      const db = ownerOf(worker);
      const buildername = `builder-${worker % farm.builders}`;
      const found = await time(() => db.buildrequests.getBuildRequests({ buildername, claimed: false }));
      if (found.length === 0) return false;
      await attempt(db, found[Math.floor(Math.random() * Math.min(found.length, 8))]!.brid, time);
      return true;
    });
    // Poll figures count claims, not reads: the reads are the cost being measured.
    claims = { ...claims, calls: wins.length + losses, perSecond: wins.length / claims.seconds };
  }

  let done = 0;
  const completes = await timed(concurrency, async (_, time) => {
    const win = wins[done++];
    if (win === undefined) return false;
    await time(() => win.db.buildrequests.completeBuildRequests([win.brid], 0));
    return true;
  });
  const memory = stop();
  return {
    claims, completes, wins: wins.length, losses,
    doubleWins: doubleWins(wins), peakRss: memory.rss, peakHeap: memory.heap, liveActors: farm.coordinator.liveActors,
  };
}
