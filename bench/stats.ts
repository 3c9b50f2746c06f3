/** Latency samples and the figures made from them. */

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}

export interface Latency {
  p50: number;
  p99: number;
  max: number;
}

export function latency(samples: readonly number[]): Latency {
  const sorted = [...samples].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted[sorted.length - 1] ?? NaN };
}

/** The median of repeated measurements and their spread (max - min), as a fraction of the median. */
export function median(values: readonly number[]): { median: number; spread: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted[Math.floor((sorted.length - 1) / 2)]!;
  return { median: mid, spread: sorted.length > 1 ? (sorted[sorted.length - 1]! - sorted[0]!) / mid : 0 };
}

/** Requests won by more than one claimer: must always be empty. */
export function doubleWins(wins: ReadonlyArray<{ brid: number; claimer: string }>): number[] {
  const seen = new Map<number, string>();
  const doubled = new Set<number>();
  for (const { brid, claimer } of wins) {
    if (seen.has(brid)) doubled.add(brid);
    else seen.set(brid, claimer);
  }
  return [...doubled].sort((a, b) => a - b);
}
