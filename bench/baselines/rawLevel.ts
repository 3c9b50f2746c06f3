import { ClassicLevel } from 'classic-level';
import type { WriteBatch } from '../../src/persistence/backend.ts';
import { BackendWrapper } from '../../src/persistence/wrapper.ts';

/**
 * A Backend wrapper that keeps every batch the coordinator writes while
 * recording, so the storage ceiling can replay exactly the same bytes in
 * exactly the same grouping.
 */
export class RecordingBackend extends BackendWrapper {
  readonly batches: WriteBatch[] = [];
  recording = false;

  override write(batch: WriteBatch, options: { sync: boolean }): Promise<void> {
    if (this.recording) this.batches.push(batch);
    return this.inner.write(batch, options);
  }
}

/** Replays recorded batches with raw chained batches, one after another; resolves to the seconds taken. */
export async function replay(location: string, batches: readonly WriteBatch[], sync: boolean): Promise<number> {
  const db = new ClassicLevel<string, Uint8Array>(location, { keyEncoding: 'utf8', valueEncoding: 'view' });
  await db.open();
  const started = performance.now();
  for (const batch of batches) {
    const chained = db.batch();
    for (const [key, value] of batch) {
      if (value === null) chained.del(key);
      else chained.put(key, value);
    }
    await chained.write({ sync } as object);
  }
  const seconds = (performance.now() - started) / 1000;
  await db.close();
  return seconds;
}
