import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCoordinator } from '../src/api.ts';
import type { Connector, Coordinator, Durability } from '../src/api.ts';
import { levelDBBackend } from '../src/persistence/leveldb.ts';
import { memoryBackend } from '../src/persistence/memory.ts';
import { RecordingBackend } from './baselines/rawLevel.ts';

export type Store = 'leveldb' | 'memory';

/** A coordinator with `masters` connected masters and `requests` unclaimed requests over `builders` builders. */
export interface Farm {
  coordinator: Coordinator;
  masters: Connector[];
  /** Request ids to work on, ascending; request i is on builder i % builders. */
  brids: number[];
  builders: number;
  recorder: RecordingBackend;
  location: string | null;
  close(): Promise<void>;
}

export function tempDir(name: string): string {
  return mkdtempSync(join(tmpdir(), `buildcoord-bench-${name}-`));
}

export function bytesOnDisk(dir: string | null): number {
  if (dir === null) return 0;
  return readdirSync(dir).reduce((sum, file) => sum + statSync(join(dir, file)).size, 0);
}

export async function farm(options: { store: Store; durability: Durability; masters: number; requests: number; builders: number; maxLiveActors?: number }): Promise<Farm> {
  const root = options.store === 'leveldb' ? tempDir('store') : null;
  const location = root === null ? null : join(root, 'db');
  const recorder = new RecordingBackend(location === null ? memoryBackend() : levelDBBackend(location));
  const coordinator = await openCoordinator({ backend: recorder, durability: options.durability, maxLiveActors: options.maxLiveActors });
  const masters: Connector[] = [];
  for (let i = 0; i < options.masters; i++) masters.push(await coordinator.connect(`master-${i}`));
  const db = masters[0]!;
  const sss = await db.sourcestampsets.addSourceStampSet();
  const builderNames = Array.from({ length: options.builders }, (_, i) => `builder-${i}`);
  const brids: number[] = [];
  // Buildsets of one request per builder, many in flight: the untimed setup.
  const buildsets = Math.ceil(options.requests / options.builders);
  for (let done = 0; done < buildsets; ) {
    const wave = Math.min(256, buildsets - done);
    const made = await Promise.all(Array.from({ length: wave }, () => db.buildsets.addBuildset({ sourcestampsetid: sss, reason: 'bench', properties: {}, builderNames })));
    for (const [, byBuilder] of made) brids.push(...builderNames.map((name) => byBuilder[name]!));
    done += wave;
  }
  brids.length = options.requests;
  return {
    coordinator, masters, brids, builders: options.builders, recorder, location,
    async close() {
      await coordinator.close();
      if (root !== null) rmSync(root, { recursive: true, force: true });
    },
  };
}
