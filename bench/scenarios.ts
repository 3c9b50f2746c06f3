/**
 * The scenarios of issue 4, over any Target: `concurrency` claimers spread
 * over the masters (claimer w belongs to master w % masters) claim requests,
 * then as many completers complete what was won. Every call is timed with
 * performance.now() around its await.
 */
import { latency } from './stats.ts';
import type { Latency, Win } from './stats.ts';
import type { Target } from './targets.ts';

export type Scenario = 'claim' | 'contended' | 'poll';
export const SCENARIOS: readonly Scenario[] = ['claim', 'contended', 'poll'];

export interface Work {
  /** The requests to work on, ascending; request `brid` is on builder (brid - 1) % builders. */
  brids: readonly number[];
  masters: number;
  builders: number;
}

export const builderName = (builder: number) => `builder-${builder}`;
export const builderOf = (brid: number, builders: number) => builderName((brid - 1) % builders);

export interface ScenarioResult {
  claimSeconds: number;
  /** Claim calls made, won or lost. */
  claimCalls: number;
  claimLatency: Latency;
  /** getBuildRequests calls made (poll only). */
  pollCalls: number;
  pollLatency: Latency | null;
  wins: Win[];
  losses: number;
  completeSeconds: number;
  completeCalls: number;
  completeLatency: Latency;
}

export interface Hooks {
  /** Called as the claim phase and then the complete phase start. */
  phase?(name: 'claim' | 'complete'): void;
}

/** Runs `workers` loops at once until each returns false; resolves to the seconds taken. */
async function together(workers: number, loop: (worker: number) => Promise<boolean>): Promise<number> {
  const started = performance.now();
  await Promise.all(
    Array.from({ length: workers }, async (_, worker) => {
      while (await loop(worker));
    }),
  );
  return (performance.now() - started) / 1000;
}

function stopwatch() {
  const times: number[] = [];
  return {
    times,
    async time<T>(call: () => Promise<T>): Promise<T> {
      const started = performance.now();
      try {
        return await call();
      } finally {
        times.push(performance.now() - started);
      }
    },
  };
}

export async function runScenario(target: Target, scenario: Scenario, concurrency: number, work: Work, hooks: Hooks = {}): Promise<ScenarioResult> {
  const { brids, masters, builders } = work;
  const masterOf = (worker: number) => worker % masters;
  const claims = stopwatch();
  const polls = stopwatch();
  const wins: Win[] = [];
  let losses = 0;
  const attempt = async (master: number, brid: number) => {
    if (await claims.time(() => target.claim(master, brid))) wins.push({ brid, master });
    else losses++;
  };

  hooks.phase?.('claim');
  let claimSeconds: number;
  if (scenario === 'claim') {
    // Disjoint: each request is handed to one claimer.
    let next = 0;
    claimSeconds = await together(concurrency, async (worker) => {
      const brid = brids[next++];
      if (brid === undefined) return false;
      await attempt(masterOf(worker), brid);
      return true;
    });
  } else if (scenario === 'contended') {
    // Every master walks the same list, as masters polling getBuildRequests({ claimed: false }) see it;
    // its claimers share its cursor, so each request is tried once by each master that has claimers.
    const cursors = new Array<number>(masters).fill(0);
    claimSeconds = await together(concurrency, async (worker) => {
      const master = masterOf(worker);
      const brid = brids[cursors[master]!++];
      if (brid === undefined) return false;
      await attempt(master, brid);
      return true;
    });
  } else {
    // As a master's distributor: poll a builder's unclaimed requests, try one, poll again. Each builder
    // is polled by a claimer of every master, so masters race for the oldest request; a master's own
    // claimers on one builder take different slots. When its builder runs dry a claimer moves on.
    const current = Array.from({ length: concurrency }, (_, worker) => Math.floor(worker / masters) % builders);
    claimSeconds = await together(concurrency, async (worker) => {
      const master = masterOf(worker);
      const slot = Math.floor(worker / (masters * builders));
      for (let dry = 0; dry < builders; dry++) {
        const builder = current[worker]!;
        const found = await polls.time(() => target.unclaimed(master, builderName(builder)));
        if (found.length > 0) {
          await attempt(master, found[slot % found.length]!);
          return true;
        }
        current[worker] = (builder + 1) % builders;
      }
      return false;
    });
  }

  hooks.phase?.('complete');
  const completes = stopwatch();
  let done = 0;
  const completeSeconds = await together(concurrency, async () => {
    const win = wins[done++];
    if (win === undefined) return false;
    await completes.time(() => target.complete(win.master, win.brid));
    return true;
  });

  return {
    claimSeconds,
    claimCalls: claims.times.length,
    claimLatency: latency(claims.times),
    pollCalls: polls.times.length,
    pollLatency: polls.times.length > 0 ? latency(polls.times) : null,
    wins,
    losses,
    completeSeconds,
    completeCalls: completes.times.length,
    completeLatency: latency(completes.times),
  };
}
