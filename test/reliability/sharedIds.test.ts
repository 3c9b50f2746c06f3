import { describe, expect, it } from 'vitest';
import { openCoordinator } from '../../src/api.ts';
import { SharedMemoryStore } from '../../src/persistence/shared/memory.ts';

/** Delays store operations at random, so that coordinators interleave. */
function jitter(seed: number) {
  let state = seed;
  return async () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    for (let n = state % 4; n > 0; n--) await new Promise((resolve) => setImmediate(resolve));
  };
}

describe('ids across coordinators [shared store stand-in]', () => {
  it('changes land in the store in id order, so the latest change id never goes back', async () => {
    for (let seed = 1; seed <= 20; seed++) {
      const store = new SharedMemoryStore();
      const landed: number[] = [];
      const set = store.tree.set.bind(store.tree);
      store.tree.set = (key, value, overwrite) => {
        if (key.startsWith('r/change/') && !store.tree.has(key)) landed.push(Number(key.slice(-16)));
        return set(key, value, overwrite);
      };
      const coordinators = await Promise.all([1, 2, 3].map((i) => openCoordinator({ backend: store.connect({ pause: jitter(seed * 10 + i) }) })));
      const dbs = await Promise.all(coordinators.map((c, i) => c.connect(`m${i}`)));
      const given = (
        await Promise.all(
          dbs.flatMap((db) =>
            Array.from({ length: 8 }, (_, n) =>
              db.changes.addChange({
                author: 'a',
                files: [],
                comments: `${n}`,
                revision: null,
                when_timestamp: new Date(0),
                branch: null,
                category: null,
                revlink: null,
                properties: {},
                repository: 'r',
                codebase: '',
                project: '',
              }),
            ),
          ),
        )
      ).sort((a, b) => a - b);
      expect(landed).toEqual([...landed].sort((a, b) => a - b));
      expect(landed.sort((a, b) => a - b)).toEqual(given);
      expect(new Set(given).size).toBe(24);
      await Promise.all(coordinators.map((c) => c.close()));
    }
  });
});
