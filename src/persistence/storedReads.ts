import type { Backend } from './backend.ts';
import { isShared } from './shared/contract.ts';
import type { Version } from './shared/contract.ts';

/** A stored value as it was read: with its version on a shared store, null on a store of our own. */
export interface Stored {
  bytes: Uint8Array;
  version: Version | null;
}

/** Reads of stored values for rehydrating actors: each promise settles with its own value. */
export interface StoredReads {
  /** One value: a claim's own load, one read and nothing around it. */
  one(key: string): Promise<Stored | undefined>;
  /** Several values (one query for all, on a shared store), a promise each. */
  many(keys: readonly string[]): Promise<Stored | undefined>[];
}

export function storedReads(backend: Backend): StoredReads {
  if (isShared(backend)) {
    const many = (keys: readonly string[]) => {
      const all = backend.getVersioned(keys);
      return keys.map((_, i) => all.then((found) => found[i]));
    };
    return { one: (key) => many([key])[0]!, many };
  }
  const one = (key: string) => backend.get(key).then((bytes) => (bytes === undefined ? undefined : { bytes, version: null }));
  return { one, many: (keys) => keys.map(one) };
}
