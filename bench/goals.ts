/** The benchmark goals the issues set, against one run's figures: each met, missed, or not run. */
import type { Options } from './plan.ts';
import { baselineOf, ratios } from './report.ts';
import type { Row } from './report.ts';

export interface Goal {
  goal: string;
  value: string;
  /** null: the run did not include what the goal needs. */
  met: boolean | null;
}

/** The goals one issue set. */
export interface GoalSet {
  of: string;
  goals: Goal[];
}

const fmt = (n: number, digits = 0) => n.toLocaleString('en', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const notRun = (goal: string): Goal => ({ goal, value: 'not run', met: null });

function sweep(rows: readonly Row[], scenario: Row['scenario'], target: Row['target'], concurrency: number): Row | undefined {
  return rows.find((r) => r.group === 'sweep' && r.scenario === scenario && r.target === target && r.durability === 'sync' && r.concurrency === concurrency);
}

/** Claim then complete, as cycles: each request claimed in the claim phase and completed in the complete phase. */
const cycles = (r: Row) => 1 / (1 / r.claimedPerSecond + 1 / r.completesPerSecond);

export function goals(rows: readonly Row[], o: Pick<Options, 'masters'>): GoalSet[] {
  return [
    { of: 'issue 4', goals: issue4(rows, o) },
    { of: 'issue 12, the claim path', goals: issue12(rows, o) },
  ];
}

function issue4(rows: readonly Row[], o: Pick<Options, 'masters'>): Goal[] {
  const reference = sweep(rows, 'claim', 'buildcoord', 64);
  const where = `claim, sync, 64 in flight over ${o.masters} masters`;
  const out: Goal[] = [];
  if (!reference) {
    out.push(
      notRun(`>= 20,000 claims/s (${where})`),
      notRun('>= 3x better-sqlite3 at synchronous=FULL'),
      notRun('within 3x of raw classic-level, same bytes'),
      notRun('p99 claim latency < 10 ms'),
    );
  } else {
    const r = ratios(rows, reference);
    out.push({ goal: `>= 20,000 claims/s (${where})`, value: `${fmt(reference.claimedPerSecond)} claims/s`, met: reference.claimedPerSecond >= 20_000 });
    out.push(
      r.sqlite
        ? {
            goal: '>= 3x better-sqlite3 at synchronous=FULL',
            value: `${fmt(r.sqlite.claimed, 2)}x (sqlite ${fmt(baselineOf(rows, reference, 'sqlite')!.claimedPerSecond)} claims/s)`,
            met: r.sqlite.claimed >= 3,
          }
        : notRun('>= 3x better-sqlite3 at synchronous=FULL'),
    );
    out.push(
      r.raw && reference.raw
        ? {
            goal: 'within 3x of raw classic-level, same bytes',
            value: `${fmt(1 / r.raw.claimed, 2)}x below it (raw ${fmt(reference.raw.claimedPerSecond)} claims/s)`,
            met: r.raw.claimed >= 1 / 3,
          }
        : notRun('within 3x of raw classic-level, same bytes'),
    );
    // The store's own stalls bound the tail: say what raw classic-level's writes of the same batches took.
    const store = reference.raw ? ` (raw classic-level, same batches: write p99 ${fmt(reference.raw.claimWrite.p99, 2)} ms, max ${fmt(reference.raw.claimWrite.max, 1)} ms)` : '';
    out.push({ goal: 'p99 claim latency < 10 ms', value: `${fmt(reference.claimLatency.p99, 2)} ms${store}`, met: reference.claimLatency.p99 < 10 });
  }
  const million = rows.find((r) => r.group === 'scale' && r.target === 'buildcoord' && r.storeSize === 1_000_000);
  out.push(
    million
      ? { goal: 'peak RSS < 300 MB with 1M requests in the store', value: `${fmt(million.peakRssMB)} MB`, met: million.peakRssMB < 300 }
      : notRun('peak RSS < 300 MB with 1M requests in the store'),
  );
  return out;
}

function issue12(rows: readonly Row[], o: Pick<Options, 'masters'>): Goal[] {
  const out: Goal[] = [];
  const memory = sweep(rows, 'claim', 'memory', 64);
  const inMemory = '>= 60,000 claims/s in memory, 64 in flight';
  out.push(memory ? { goal: inMemory, value: `${fmt(memory.claimedPerSecond)} claims/s`, met: memory.claimedPerSecond >= 60_000 } : notRun(inMemory));

  const level = sweep(rows, 'claim', 'buildcoord', 64);
  const levelGoal = '>= 30,000 claims/s on LevelDB at sync, 64 in flight';
  const rawGoal = 'within 1.5x of raw classic-level, same bytes, 64 in flight';
  const p99Goal = 'p99 claim latency < 5 ms, LevelDB sync, 64 in flight';
  if (level) {
    out.push({ goal: levelGoal, value: `${fmt(level.claimedPerSecond)} claims/s`, met: level.claimedPerSecond >= 30_000 });
    out.push(
      level.raw
        ? {
            goal: rawGoal,
            value: `${fmt(level.raw.claimedPerSecond / level.claimedPerSecond, 2)}x below it (raw ${fmt(level.raw.claimedPerSecond)} claims/s)`,
            met: level.claimedPerSecond * 1.5 >= level.raw.claimedPerSecond,
          }
        : notRun(rawGoal),
    );
    const store = level.raw ? ` (raw classic-level, same batches: write p99 ${fmt(level.raw.claimWrite.p99, 2)} ms)` : '';
    out.push({ goal: p99Goal, value: `${fmt(level.claimLatency.p99, 2)} ms${store}`, met: level.claimLatency.p99 < 5 });
  } else out.push(notRun(levelGoal), notRun(rawGoal), notRun(p99Goal));

  const sqlite64 = sweep(rows, 'claim', 'sqlite', 64);
  const cycleGoal = `claim then complete, ${o.masters} masters x ${64 / o.masters} claimers: >= 6x better-sqlite3 FULL`;
  out.push(
    level && sqlite64
      ? {
          goal: cycleGoal,
          value: `${fmt(cycles(level) / cycles(sqlite64), 2)}x (${fmt(cycles(level))} vs ${fmt(cycles(sqlite64))} cycles/s)`,
          met: cycles(level) >= 6 * cycles(sqlite64),
        }
      : notRun(cycleGoal),
  );

  // One call at a time: against SQLite's commit, unless LevelDB's own sync write is the slower of the two here.
  const one = sweep(rows, 'claim', 'buildcoord', 1);
  const sqlite1 = sweep(rows, 'claim', 'sqlite', 1);
  const oneGoal = '1 in flight: >= 1.0x sqlite FULL, or >= 0.95x raw classic-level where its sync write is slower than SQLite';
  if (one && sqlite1 && one.raw) {
    const levelSlower = one.raw.claimedPerSecond < sqlite1.claimedPerSecond;
    const against = levelSlower
      ? `${fmt(one.claimedPerSecond / one.raw.claimedPerSecond, 2)}x raw classic-level (raw ${fmt(one.raw.claimedPerSecond)}, slower than sqlite's ${fmt(sqlite1.claimedPerSecond)} claims/s)`
      : `${fmt(one.claimedPerSecond / sqlite1.claimedPerSecond, 2)}x sqlite FULL (${fmt(sqlite1.claimedPerSecond)} claims/s; raw classic-level ${fmt(one.raw.claimedPerSecond)})`;
    out.push({
      goal: oneGoal,
      value: `${fmt(one.claimedPerSecond)} claims/s, ${against}`,
      met: levelSlower ? one.claimedPerSecond >= 0.95 * one.raw.claimedPerSecond : one.claimedPerSecond >= sqlite1.claimedPerSecond,
    });
  } else out.push(notRun(oneGoal));

  const poll = sweep(rows, 'poll', 'buildcoord', 64);
  const pollSqlite = sweep(rows, 'poll', 'sqlite', 64);
  const pollGoal = 'poll at 64 in flight: >= 3x sqlite FULL, peak RSS < 300 MB';
  out.push(
    poll && pollSqlite
      ? {
          goal: pollGoal,
          value: `${fmt(poll.claimedPerSecond / pollSqlite.claimedPerSecond, 2)}x (${fmt(poll.claimedPerSecond)} vs ${fmt(pollSqlite.claimedPerSecond)} claims/s), ${fmt(poll.peakRssMB)} MB`,
          met: poll.claimedPerSecond >= 3 * pollSqlite.claimedPerSecond && poll.peakRssMB < 300,
        }
      : notRun(pollGoal),
  );
  return out;
}
