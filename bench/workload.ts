/**
 * The data every run starts from: `requests` unclaimed build requests with
 * ids 1..requests, request i on builder (i - 1) % builders, added through
 * the coordinator as a scheduler adds them (buildsets of one request per
 * builder); the sqlite baseline adds the same rows. Store files live under
 * the system's temporary directory and are removed after each run.
 */
import { cpSync, mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as Api from '../src/api.ts';
import { builderName } from './scenarios.ts';

/** A fresh directory under the system's temporary directory. */
export function tempRoot(): string {
  return mkdtempSync(join(tmpdir(), 'buildcoord-bench-'));
}

/** Bytes of every file under `path` (0 if it does not exist). */
export function bytesOnDisk(path: string): number {
  let stat;
  try {
    stat = statSync(path);
  } catch {
    return 0;
  }
  if (!stat.isDirectory()) return stat.size;
  return readdirSync(path).reduce((sum, name) => sum + bytesOnDisk(join(path, name)), 0);
}

export function copyStore(from: string, to: string): void {
  cpSync(from, to, { recursive: true });
}

/** How many addBuildset calls are in flight at once while seeding. */
const SEED_WAVE = 64;

/**
 * Adds requests 1..requests through `db` (untimed setup); `progress` is
 * called with the count added so far. Fails if the ids do not come out as
 * 1..requests in order, since every run and baseline relies on that layout.
 */
export async function seedThrough(db: Api.Connector, requests: number, builders: number, progress?: (added: number) => void): Promise<void> {
  const sourcestampsetid = await db.sourcestampsets.addSourceStampSet();
  const all = Array.from({ length: builders }, (_, b) => builderName(b));
  const buildsets = Math.ceil(requests / builders);
  for (let done = 0; done < buildsets; ) {
    const wave = Math.min(SEED_WAVE, buildsets - done);
    const made = await Promise.all(
      Array.from({ length: wave }, (_, i) => {
        const first = (done + i) * builders; // the requests before this buildset's
        const builderNames = all.slice(0, Math.min(builders, requests - first));
        return db.buildsets.addBuildset({ sourcestampsetid, reason: 'bench', properties: {}, builderNames }).then(([, brids]) => ({ first, brids }));
      }),
    );
    for (const { first, brids } of made) {
      for (const [name, brid] of Object.entries(brids)) {
        const expected = first + Number(name.slice('builder-'.length)) + 1;
        if (brid !== expected) throw new Error(`seeding: ${name} of buildset ${first / builders + 1} got request ${brid}, not ${expected}`);
      }
    }
    done += wave;
    progress?.(Math.min(done * builders, requests));
  }
}
