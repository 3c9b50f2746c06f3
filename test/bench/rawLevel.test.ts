// The raw ceiling is only honest if it writes what the coordinator writes: same keys, same bytes, same batches.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { batchStats, openRaw, RecordingBackend, replay } from '../../bench/baselines/rawLevel.ts';
import { runScenario } from '../../bench/scenarios.ts';
import { openBuildcoord } from '../../bench/targets.ts';
import { seedThrough } from '../../bench/workload.ts';
import * as api from '../../src/api.ts';

const root = mkdtempSync(join(tmpdir(), 'buildcoord-bench-test-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('raw classic-level replay', () => {
  it('rebuilds the store the coordinator wrote, entry for entry, from the recorded batches', async () => {
    const recorder = new RecordingBackend(api.levelDBBackend(join(root, 'ours')));
    recorder.phase = 'setup';
    const { target, dbs } = await openBuildcoord(api, recorder, { durability: 'sync', masters: 4 });
    await seedThrough(dbs[0]!, 64, 8);
    await runScenario(
      target,
      'contended',
      16,
      { brids: Array.from({ length: 64 }, (_, i) => i + 1), masters: 4, builders: 8 },
      {
        phase: (name) => (recorder.phase = name),
      },
    );
    recorder.phase = null;
    await target.close();

    const claimWrites = batchStats(recorder.batches('claim'));
    expect(claimWrites.batches).toBeGreaterThan(0);
    expect(claimWrites.batches).toBeLessThanOrEqual(64); // group commit: never more writes than wins
    expect(claimWrites.bytes).toBeGreaterThan(0);
    expect(recorder.writeSeconds.get('claim')).toBeGreaterThan(0);
    expect([...recorder.writeSeconds.keys()].sort()).toEqual(['claim', 'complete', 'setup']);

    const theirs = await openRaw(join(root, 'theirs'));
    for (const phase of ['setup', 'claim', 'complete']) await replay(theirs, recorder.batches(phase), false);
    const replayed = await theirs.iterator().all();
    await theirs.close();
    const ours = await openRaw(join(root, 'ours'));
    const written = await ours.iterator().all();
    await ours.close();
    expect(replayed.length).toBe(written.length);
    expect(replayed.map(([k, v]) => [k, Buffer.from(v).toString('hex')])).toEqual(written.map(([k, v]) => [k, Buffer.from(v).toString('hex')]));
  });

  it('keeps nothing outside a phase, and no empty batch', async () => {
    const recorder = new RecordingBackend(api.memoryBackend());
    await recorder.open();
    await recorder.write(new Map([['a', new Uint8Array([1])]]), { sync: false });
    recorder.phase = 'claim';
    await recorder.write(new Map(), { sync: false });
    await recorder.write(new Map([['b', null]]), { sync: false });
    expect(recorder.phases()).toEqual(['claim']);
    expect(batchStats(recorder.batches('claim'))).toEqual({ batches: 1, operations: 1, bytes: 1 });
  });
});
