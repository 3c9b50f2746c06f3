import type { SharedBackend, Version } from './contract.ts';
import { stillHolding } from './readSet.ts';
import type { Decision } from './readSet.ts';

/**
 * Commits a group of decisions in one serializable transaction: each is
 * kept if its reads still hold (counting the writes of those kept before
 * it), and the writes of the kept ones are made. Answers which were kept,
 * in order. The transaction may run more than once (see `transact`); each
 * run decides afresh from what it reads.
 */
export function commitDecisions(backend: SharedBackend, decisions: readonly Decision[]): Promise<boolean[]> {
  return backend.transact(async (store) => {
    const verdicts = await stillHolding(decisions, store);
    const puts = new Map<string, [string, Uint8Array, Version]>();
    const deletes = new Set<string>();
    verdicts.forEach((holds, i) => {
      if (!holds) return;
      const { writes, version } = decisions[i]!;
      for (const [key, bytes] of writes) {
        if (bytes === null) {
          puts.delete(key);
          deletes.add(key);
        } else {
          deletes.delete(key);
          puts.set(key, [key, bytes, version]);
        }
      }
    });
    if (puts.size > 0 || deletes.size > 0) await store.write([...puts.values()], [...deletes]);
    return verdicts;
  });
}
