/**
 * Optimistic concurrency for a shared store. A command decides on what it
 * read (the store, other commands' undurable writes, live actors); each
 * read is recorded with the version it saw. At commit, inside one
 * serializable transaction, a command is kept only if every read still
 * holds, counting the writes of the commands kept before it. Serializable
 * means the check and the writes act as if no other writer ran meanwhile,
 * so a kept command's decision is the one it would make on current data.
 * (The commit itself is commitDecisions, in commit.ts.)
 */
import type { CommitTransaction, Version } from './contract.ts';

interface RangeRead {
  gte: string;
  lt: string;
  /** The keys seen in [gte, lt), ascending. */
  keys: string[];
}

/** What one command read. */
export class ReadSet {
  /** Each key read and the version seen (null: absent). */
  readonly points = new Map<string, Version | null>();
  readonly ranges: RangeRead[] = [];
  /** Set when one key was read twice with two versions: the command saw two states. */
  torn = false;

  point(key: string, version: Version | null): void {
    const seen = this.points.get(key);
    if (seen === undefined) this.points.set(key, version);
    else if (seen !== version) this.torn = true;
  }

  /**
   * A range read: `keys` is what it returned, in the order asked. A read cut
   * short by its limit relied only on the part up to its last key.
   */
  range(gte: string, lt: string, keys: readonly string[], limit: number | undefined, reverse: boolean): void {
    if (limit === 0) return;
    const cut = limit !== undefined && limit > 0 && keys.length >= limit;
    if (cut) {
      const last = keys[keys.length - 1]!;
      if (reverse) gte = last;
      else lt = `${last}\x00`; // the smallest key after `last`
    }
    this.ranges.push({ gte, lt, keys: reverse ? [...keys].reverse() : [...keys] });
  }
}

/** A command as the commit sees it: what it read, what it writes (null: a delete), its version. */
export interface Decision {
  reads: ReadSet;
  writes: ReadonlyMap<string, Uint8Array | null>;
  version: Version;
}

/**
 * Which decisions still hold, in order, reading the store through `tx`.
 * Each kept decision's writes count for the ones after it, as they will in
 * the store once the transaction commits.
 */
export async function stillHolding(decisions: readonly Decision[], tx: CommitTransaction): Promise<boolean[]> {
  const pointKeys = new Set<string>();
  const ranges: { gte: string; lt: string }[] = [];
  for (const { reads } of decisions) {
    for (const key of reads.points.keys()) pointKeys.add(key);
    for (const { gte, lt } of reads.ranges) ranges.push({ gte, lt });
  }
  // Both reads at once: a pipelining store sends them in one round trip.
  const [stored, rangeKeys] = await Promise.all([pointKeys.size === 0 ? new Map<string, Version>() : tx.versions([...pointKeys]), ranges.length === 0 ? [] : tx.rangeKeys(ranges)]);

  const written = new Map<string, Version | null>(); // by the decisions kept so far; null: deleted
  const versionNow = (key: string) => (written.has(key) ? written.get(key)! : (stored.get(key) ?? null));
  let nextRange = 0;
  return decisions.map(({ reads, writes, version }) => {
    const found = rangeKeys.slice(nextRange, (nextRange += reads.ranges.length));
    let holds = !reads.torn;
    for (const [key, seen] of reads.points) if (holds && versionNow(key) !== seen) holds = false;
    reads.ranges.forEach((range, i) => {
      if (holds && !sameKeys(range.keys, keysNow(range, found[i]!, written))) holds = false;
    });
    if (holds) for (const [key, bytes] of writes) written.set(key, bytes === null ? null : version);
    return holds;
  });
}

/** The keys in a range once the writes so far are made (in no particular order). */
function keysNow(range: { gte: string; lt: string }, stored: readonly string[], written: ReadonlyMap<string, Version | null>): string[] {
  let changed: Set<string> | null = null;
  for (const [key, version] of written) {
    if (key < range.gte || key >= range.lt) continue;
    changed ??= new Set(stored);
    if (version === null) changed.delete(key);
    else changed.add(key);
  }
  return changed === null ? (stored as string[]) : [...changed];
}

/** Whether two lists hold the same keys (orders may differ where UTF-16 and UTF-8 order differ). */
function sameKeys(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const set = new Set(a);
  return b.every((key) => set.has(key));
}
