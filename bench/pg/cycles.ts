/**
 * Claim+complete cycles: `inFlight` slots, each taking the next request,
 * claiming it as its master, and completing it as soon as it is won, as a
 * master's build loop does. Every call is timed with performance.now()
 * around its await; a cycle runs from the start of a won claim to the end of
 * its complete.
 */
import type { Win } from '../stats.ts';

/** What cycles drive: a claim that answers won or lost (a lost race), and a complete. */
export interface Cycler {
  claim(master: number, brid: number): Promise<boolean>;
  complete(master: number, brid: number): Promise<void>;
}

export interface CycleResult {
  /** When the first slot started and the last one finished, in ms since the epoch (performance.timeOrigin-based, comparable across processes). */
  startedAt: number;
  endedAt: number;
  seconds: number;
  wins: Win[];
  losses: number;
  claimTimes: number[];
  completeTimes: number[];
  cycleTimes: number[];
  /** Calls that failed with anything but a lost race: "claim 17: ..." (at most 20 kept; `failed` counts them all). */
  failures: string[];
  failed: number;
}

export interface CycleOptions {
  inFlight: number;
  /** The master of each slot (default: slot % 1, i.e. master 0). */
  masterOf?: (slot: number) => number;
  /**
   * false (default): each request is handed to one slot, so every claim should win.
   * true: the slots of one master share a cursor, and every master walks the whole
   * list, so each request is tried by every master and all but one lose the race.
   */
  contended?: boolean;
  /** Masters (only for contended: one cursor each). */
  masters?: number;
}

const now = () => performance.timeOrigin + performance.now();

/** Runs the cycles over `brids`; a call that throws is recorded as a failure (with `describe`'s text) and its slot moves on. */
export async function runCycles(cycler: Cycler, brids: readonly number[], options: CycleOptions, describe: (error: unknown) => string = String): Promise<CycleResult> {
  const masterOf = options.masterOf ?? (() => 0);
  const contended = options.contended ?? false;
  const result: CycleResult = { startedAt: 0, endedAt: 0, seconds: 0, wins: [], losses: 0, claimTimes: [], completeTimes: [], cycleTimes: [], failures: [], failed: 0 };
  const fail = (what: string, brid: number, error: unknown) => {
    if (result.failed++ < 20) result.failures.push(`${what} ${brid}: ${describe(error)}`);
  };
  let shared = 0;
  const cursors = new Array<number>(options.masters ?? 1).fill(0);
  result.startedAt = now();
  await Promise.all(
    Array.from({ length: options.inFlight }, async (_, slot) => {
      const master = masterOf(slot);
      for (;;) {
        const brid = contended ? brids[cursors[master]!++] : brids[shared++];
        if (brid === undefined) return;
        const t0 = performance.now();
        let won: boolean;
        try {
          won = await cycler.claim(master, brid);
        } catch (error) {
          fail('claim', brid, error);
          continue;
        }
        const t1 = performance.now();
        result.claimTimes.push(t1 - t0);
        if (!won) {
          result.losses++;
          continue;
        }
        result.wins.push({ brid, master });
        try {
          await cycler.complete(master, brid);
        } catch (error) {
          fail('complete', brid, error);
          continue;
        }
        const t2 = performance.now();
        result.completeTimes.push(t2 - t1);
        result.cycleTimes.push(t2 - t0);
      }
    }),
  );
  result.endedAt = now();
  result.seconds = (result.endedAt - result.startedAt) / 1000;
  return result;
}
