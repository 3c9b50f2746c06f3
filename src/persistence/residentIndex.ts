import { createRequire } from 'node:module';
import type { Backend, KeyRange, WriteBatch } from './backend.ts';
import { prefixRange } from './backend.ts';
import { idOfKey, idPart } from './keys.ts';

// A CommonJS module whose class is `exports.default`; require() reads it the same way under every loader.
const { default: BTree } = createRequire(import.meta.url)('sorted-btree') as typeof import('sorted-btree');
type Ids = InstanceType<typeof BTree<number, undefined>>;

/** Keys read per call while an index loads: a large index never arrives as one huge read. */
const LOAD_BATCH = 1024;

/** The length of the id every index key ends in. */
const ID_LENGTH = idPart(0).length;

/**
 * One index held in memory in full, mirroring what the store holds durably:
 * loaded on first use, then kept in step with every durable write of this
 * process (the only writer of a store of its own). Masters poll the
 * unclaimed requests many times a second; answered from here, a poll costs
 * no read of the store at all.
 *
 * Every index key ends in the id of its record, so each group of entries
 * (the key without its id, e.g. one builder's) keeps a sorted set of ids:
 * eight bytes or so an entry rather than a string.
 */
export class ResidentIndex {
  readonly range: KeyRange;
  private groups: Groups | null = null;
  private loading: Promise<void> | null = null;
  /** Durable writes that landed while it was loading, to replay over what was read. */
  private landed: WriteBatch[] | null = null;
  /** Bumped by forget(): a load begun before it is void. */
  private generation = 0;

  constructor(
    prefix: string,
    private readonly backend: Backend,
  ) {
    this.range = prefixRange(prefix);
  }

  /** Whether every key of `range` lies in this index. */
  covers(range: KeyRange): boolean {
    return range.gte >= this.range.gte && range.lt <= this.range.lt;
  }

  /** Keys in a range it covers, as the store would give them. */
  async keys(range: KeyRange): Promise<string[]> {
    while (this.groups === null) await (this.loading ??= this.load());
    const limit = range.limit === undefined || range.limit < 0 ? Infinity : range.limit;
    // A group's keys are the group and a fixed-width id: below `gte` only when the group is, and `gte` does not extend it.
    const names = this.groups.names.filter((group) => group < range.lt && (group >= range.gte || range.gte.startsWith(group)));
    if (range.reverse) names.reverse();
    const out: string[] = [];
    for (const group of names) {
      const ids = this.groups.get(group)!;
      for (const id of range.reverse ? reversed(ids) : ids.keys()) {
        if (out.length >= limit) return out;
        const key = group + idPart(id);
        if (key >= range.gte && key < range.lt) out.push(key);
      }
    }
    return out;
  }

  /** A write is durable: its entries in this index now hold. */
  written(batch: WriteBatch): void {
    if (this.groups !== null) apply(this.groups, batch, this.range);
    else this.landed?.push(batch);
  }

  /**
   * A write failed, and may or may not have reached the store: drop
   * everything, so the next use reads the index again from the store.
   */
  forget(): void {
    this.generation++;
    this.groups = null;
    this.loading = null;
    this.landed = null;
  }

  /**
   * Reads the index from the store a batch at a time. Writes that land
   * meanwhile may or may not be in what was read; replaying them in order
   * afterwards gives the same result either way, as each only sets keys.
   */
  private async load(): Promise<void> {
    const generation = this.generation;
    const groups = new Groups();
    this.landed = [];
    try {
      for (let from = this.range.gte; ; ) {
        const keys = await this.backend.keys({ gte: from, lt: this.range.lt, limit: LOAD_BATCH });
        for (const key of keys) groups.add(key);
        if (keys.length < LOAD_BATCH) break;
        from = `${keys[keys.length - 1]}\0`; // the least key above the last one read
      }
    } catch (error) {
      if (generation === this.generation) this.forget();
      throw error;
    }
    if (generation !== this.generation) return; // forgotten meanwhile: the caller loads again
    for (const batch of this.landed) apply(groups, batch, this.range);
    this.landed = null;
    this.groups = groups;
  }
}

/** The groups of an index (each group's ids), and their names in key order. */
class Groups {
  private readonly byName = new Map<string, Ids>();
  /** Sorted: the order a range read walks them in. */
  readonly names: string[] = [];

  get(group: string): Ids | undefined {
    return this.byName.get(group);
  }

  add(key: string): void {
    const group = key.slice(0, -ID_LENGTH);
    let ids = this.byName.get(group);
    if (ids === undefined) {
      this.byName.set(group, (ids = new BTree<number, undefined>()));
      this.names.splice(sortedIndex(this.names, group), 0, group);
    }
    ids.set(idOfKey(key), undefined);
  }

  delete(key: string): void {
    const group = key.slice(0, -ID_LENGTH);
    const ids = this.byName.get(group);
    if (ids === undefined) return;
    ids.delete(idOfKey(key));
    if (ids.size > 0) return;
    this.byName.delete(group);
    this.names.splice(sortedIndex(this.names, group), 1);
  }
}

/** Where `name` is, or would go, in a sorted array. */
function sortedIndex(names: readonly string[], name: string): number {
  let low = 0;
  let high = names.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (names[mid]! < name) low = mid + 1;
    else high = mid;
  }
  return low;
}

function apply(groups: Groups, batch: WriteBatch, range: KeyRange): void {
  for (const [key, value] of batch) {
    if (key < range.gte || key >= range.lt) continue;
    if (value === null) groups.delete(key);
    else groups.add(key);
  }
}

function* reversed(ids: Ids): Generator<number> {
  for (const [id] of ids.entriesReversed()) yield id;
}
