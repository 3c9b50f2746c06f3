/** Latency samples, repeated runs, and the checks that every request was won once. */

/** Nearest-rank percentile of ascending samples (NaN for none). */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}

export interface Latency {
  p50: number;
  p99: number;
  max: number;
}

/** p50, p99 and max of per-call times in milliseconds. */
export function latency(samples: readonly number[]): Latency {
  const sorted = Float64Array.from(samples).sort();
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.length > 0 ? sorted[sorted.length - 1]! : NaN };
}

/** The median of repeated measurements and their spread (max - min) as a fraction of it. */
export function median(values: readonly number[]): { median: number; spread: number } {
  if (values.length === 0) return { median: NaN, spread: NaN };
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted[Math.floor((sorted.length - 1) / 2)]!;
  return { median: mid, spread: sorted.length > 1 ? (sorted[sorted.length - 1]! - sorted[0]!) / mid : 0 };
}

/** One successful claim as the claimer saw it. */
export interface Win {
  brid: number;
  master: number;
}

/** Requests that claimers saw won more than once: must always be empty. */
export function doubleWins(wins: readonly Win[]): number[] {
  const seen = new Set<number>();
  const doubled = new Set<number>();
  for (const { brid } of wins) {
    if (seen.has(brid)) doubled.add(brid);
    else seen.add(brid);
  }
  return [...doubled].sort((a, b) => a - b);
}

/** What the store says after a run: for each master, the requests whose claim it holds. */
export type Holdings = { brid: number; complete: boolean }[][];

/**
 * Checks a finished run against the store: every request of `range` was won
 * exactly once, the store has it claimed by the master that won it, and it
 * is complete; no request outside the wins is claimed within the range.
 * Returns the problems found (at most `limit`), empty if none.
 */
export function audit(range: readonly number[], wins: readonly Win[], holdings: Holdings, limit = 20): string[] {
  const problems: string[] = [];
  const report = (problem: string) => {
    if (problems.length < limit) problems.push(problem);
  };
  const inRange = new Set(range);
  const winner = new Map<number, number>();
  for (const brid of doubleWins(wins)) report(`request ${brid} was won twice`);
  for (const { brid, master } of wins) {
    if (!inRange.has(brid)) report(`request ${brid} was won but is not in the run's range`);
    if (!winner.has(brid)) winner.set(brid, master);
  }
  const holder = new Map<number, number>();
  holdings.forEach((held, master) => {
    for (const { brid, complete } of held) {
      if (!inRange.has(brid)) continue;
      if (holder.has(brid)) report(`request ${brid} is claimed by masters ${holder.get(brid)} and ${master} in the store`);
      holder.set(brid, master);
      if (!complete) report(`request ${brid} is not complete`);
    }
  });
  for (const brid of range) {
    const won = winner.get(brid);
    const held = holder.get(brid);
    if (won === undefined) report(`request ${brid} was never won`);
    else if (held === undefined) report(`request ${brid} was won by master ${won} but the store has no claim on it`);
    else if (held !== won) report(`request ${brid} was won by master ${won} but the store says master ${held}`);
  }
  return problems;
}
