import { join } from 'node:path';
import { rmSync } from 'node:fs';
import { latency } from '../stats.ts';
import type { PhaseResult } from '../scenarios.ts';
import { tempDir } from '../workload.ts';
import { replay } from './rawLevel.ts';
import type { WriteBatch } from '../../src/persistence/backend.ts';
import { SqliteClaims } from './sqlite.ts';

function phase(samples: number[], seconds: number): PhaseResult {
  return { calls: samples.length, seconds, perSecond: samples.length / seconds, latency: latency(samples) };
}

/** better-sqlite3, one transaction per call: claim every request once (masters in turn), then complete them. */
export function sqliteBaseline(requests: number, builders: number, masters: number, synchronous: 'FULL' | 'NORMAL'): { claims: PhaseResult; completes: PhaseResult } {
  const dir = tempDir('sqlite');
  const db = new SqliteClaims(join(dir, 'state.sqlite'), synchronous);
  try {
    db.addRequests(requests, builders);
    const run = (call: (brid: number) => boolean) => {
      const samples: number[] = [];
      const started = performance.now();
      for (let brid = 1; brid <= requests; brid++) {
        const t = performance.now();
        if (!call(brid)) throw new Error(`sqlite baseline refused request ${brid}`);
        samples.push(performance.now() - t);
      }
      return phase(samples, (performance.now() - started) / 1000);
    };
    const claims = run((brid) => db.tryClaim([brid], 1 + (brid % masters)));
    const completes = run((brid) => db.tryComplete([brid], 0));
    return { claims, completes };
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The storage ceiling: the coordinator's own batches written back to back with raw chained batches. */
export async function rawLevelCeiling(batches: readonly WriteBatch[], calls: number, sync: boolean): Promise<{ perSecond: number; seconds: number; batches: number }> {
  const dir = tempDir('raw');
  try {
    const seconds = await replay(join(dir, 'db'), batches, sync);
    return { perSecond: calls / seconds, seconds, batches: batches.length };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
