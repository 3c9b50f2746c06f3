/** How many items a command handles between two turns of the event loop (see breathe). */
export const CHUNK = 256;

/** Whether a command walking a list is at item `index` such that it should breathe first: every CHUNK items. */
export function due(index: number): boolean {
  return index > 0 && index % CHUNK === 0;
}

/**
 * Lets the event loop turn in the middle of a long command, so timers, I/O
 * and other callers' reads run. It stays one command: the commit queue
 * starts no other until it returns, and nothing it decided is written or
 * seen before then (its writes live in its transaction), so it is still all
 * or nothing. Commands on LevelDB already wait for reads like this; on the
 * in-memory store they would otherwise hold the thread from start to end.
 * A long commit breathes the same way while it encodes and replays.
 */
export function breathe(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
