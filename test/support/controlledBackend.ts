import type { Backend, WriteBatch } from '../../src/persistence/backend.ts';
import { memoryBackend } from '../../src/persistence/memory.ts';

/**
 * An in-memory backend whose writes the test controls: it counts them, can
 * hold them until released, and can fail the next ones.
 */
export class ControlledBackend implements Backend {
  private readonly inner = memoryBackend();
  readonly capabilities = this.inner.capabilities;
  readonly writes: WriteBatch[] = [];
  private held: { release: () => void }[] = [];
  private holding = false;
  private failNext = 0;

  /** Holds every write from now on until release(). */
  hold(): void {
    this.holding = true;
  }

  /** Lets every held write (and later ones) through. */
  release(): void {
    this.holding = false;
    for (const write of this.held.splice(0)) write.release();
  }

  /** The next `count` writes fail with an I/O error and write nothing. */
  failWrites(count = 1): void {
    this.failNext = count;
  }

  get heldWrites(): number {
    return this.held.length;
  }

  async write(batch: WriteBatch): Promise<void> {
    if (this.holding) await new Promise<void>((release) => this.held.push({ release }));
    if (this.failNext > 0) {
      this.failNext--;
      throw Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' });
    }
    this.writes.push(batch);
    await this.inner.write(batch);
  }

  open = () => this.inner.open();
  get: Backend['get'] = (key) => this.inner.get(key);
  getMany: Backend['getMany'] = (keys) => this.inner.getMany(keys);
  keys: Backend['keys'] = (range) => this.inner.keys(range);
  entries: Backend['entries'] = (range) => this.inner.entries(range);
  close = () => this.inner.close();
}

/** Lets the event loop run `count` turns: enough for scheduled flushes and in-memory writes. */
export async function turns(count = 20): Promise<void> {
  for (let i = 0; i < count; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** Whether a promise has settled yet, without waiting for it. */
export async function isSettled(promise: Promise<unknown>): Promise<boolean> {
  const marker = Symbol('pending');
  const winner = await Promise.race([promise.then(() => 'done', () => 'done'), new Promise((r) => setImmediate(() => r(marker)))]);
  return winner !== marker;
}
