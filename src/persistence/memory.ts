import { MemoryLevel } from 'memory-level';
import { LevelBackend } from './level.ts';

/**
 * The in-memory backend: the same ordered-map contract as LevelDB, gone when
 * the process ends. For tests and for measuring the actor layer alone.
 */
export function memoryBackend(): LevelBackend {
  const db = new MemoryLevel<string, Uint8Array>({ keyEncoding: 'utf8', valueEncoding: 'view' });
  return new LevelBackend(db, { permanence: false, durableSync: false });
}
