/**
 * Undurable writes as a command sees them: its own, then those of earlier
 * commands whose group is not yet durable (newest first), then the store.
 */
import type { KeyRange } from '../persistence/backend.ts';
import type { Version } from '../persistence/shared/contract.ts';

/** A deleted key in a layer of undurable writes. */
export const DELETED: unique symbol = Symbol('deleted');
export type Layer = Map<string, unknown>;

/** Writes of earlier commands, not yet durable; on a shared store, with the version each key was written at. */
export interface Layered {
  readonly writes: Layer;
  readonly versions?: ReadonlyMap<string, Version>;
}

export function present<T>(value: unknown): T | undefined {
  return value === DELETED ? undefined : (value as T);
}

/** Keys the layers write inside a range: key -> present (the newest layer wins). */
export function overlayIn(layers: readonly Layered[], range: KeyRange): Map<string, boolean> {
  const overlay = new Map<string, boolean>();
  for (let i = layers.length - 1; i >= 0; i--) {
    for (const [key, value] of layers[i]!.writes) {
      if (key >= range.gte && key < range.lt) overlay.set(key, value !== DELETED);
    }
  }
  return overlay;
}

/** Stored keys with an overlay's additions and deletions, in range order. */
export function mergeOverlay(stored: readonly string[], overlay: ReadonlyMap<string, boolean>, reverse: boolean): string[] {
  const merged = new Set(stored);
  for (const [key, present] of overlay) {
    if (present) merged.add(key);
    else merged.delete(key);
  }
  const sorted = [...merged].sort();
  return reverse ? sorted.reverse() : sorted;
}
