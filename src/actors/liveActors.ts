import { idOfKey, RECORDS } from '../persistence/keys.ts';
import type { Hosted } from './hosted.ts';

/**
 * The live actors: found by kind and id (numbers, so a lookup on the claim
 * path builds no key string), and kept in an order for passivation that
 * approximates least-recently-used the way CLOCK does. A lookup only marks
 * an actor used; passivation walks from the oldest, and gives a used actor
 * a second chance (moved to the back, unmarked) instead of stopping it.
 */
const SLASH = '/'.charCodeAt(0);

export class LiveActors {
  private readonly byKind = new Map<string, Map<number, Hosted>>();
  private readonly order = new Set<Hosted>();

  get size(): number {
    return this.order.size;
  }

  get(kind: string, id: number): Hosted | undefined {
    return this.byKind.get(kind)?.get(id);
  }

  /** The live actor whose record is at `key` (a record key, `r/<kind>/<id>`), if any. */
  atKey(key: string): Hosted | undefined {
    if (!key.startsWith(RECORDS)) return undefined;
    // A few kinds: match the kind in place rather than cut it out of every key read.
    for (const [kind, ids] of this.byKind) {
      if (key.startsWith(kind, RECORDS.length) && key.charCodeAt(RECORDS.length + kind.length) === SLASH) return ids.get(idOfKey(key));
    }
    return undefined;
  }

  /** Looks an actor up for use: marked used, so the next passivation passes it over once. */
  use(kind: string, id: number): Hosted | undefined {
    const hosted = this.get(kind, id);
    if (hosted !== undefined) hosted.used = true;
    return hosted;
  }

  add(hosted: Hosted): void {
    let ids = this.byKind.get(hosted.kind.name);
    if (ids === undefined) this.byKind.set(hosted.kind.name, (ids = new Map()));
    ids.set(hosted.id, hosted);
    this.order.add(hosted);
  }

  /** Removes an actor, if it is the one live under its kind and id. */
  remove(hosted: Hosted): void {
    const ids = this.byKind.get(hosted.kind.name);
    if (ids?.get(hosted.id) !== hosted) return;
    ids.delete(hosted.id);
    this.order.delete(hosted);
  }

  /**
   * Live actors from the oldest on, for passivation to stop while `stop`
   * says so: a used one is moved to the back and unmarked instead of being
   * offered, so it is offered only if the walk comes round to it again.
   */
  *oldestFirst(): Generator<Hosted> {
    for (const hosted of this.order) {
      if (!hosted.used) {
        yield hosted;
        continue;
      }
      hosted.used = false;
      this.order.delete(hosted);
      this.order.add(hosted); // a Set's iteration reaches entries added during it
    }
  }

  values(): IterableIterator<Hosted> {
    return this.order.values();
  }

  clear(): void {
    this.byKind.clear();
    this.order.clear();
  }
}
