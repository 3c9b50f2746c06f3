import type { Backend, WriteBatch } from '../../src/persistence/backend.ts';
import { memoryBackend } from '../../src/persistence/memory/backend.ts';
import { BackendWrapper } from '../../src/persistence/wrapper.ts';

/** How an injected write failure looks: its errno, and whether the data reached the store anyway. */
export interface Fault {
  code: 'EIO' | 'ENOSPC';
  /** True for a failed fsync: the batch was written, then the write reported an error. */
  landed: boolean;
}

/**
 * A backend wrapper whose writes the test controls: it counts them, can
 * hold them until released, and can fail the next ones (fault injection).
 */
export class ControlledBackend extends BackendWrapper {
  readonly writes: WriteBatch[] = [];
  private held: { release: () => void }[] = [];
  private holding = false;
  private faults: Fault[] = [];

  constructor(inner: Backend = memoryBackend()) {
    super(inner);
  }

  /** Holds every write from now on until release(). */
  hold(): void {
    this.holding = true;
  }

  /** Lets every held write (and later ones) through. */
  release(): void {
    this.holding = false;
    for (const write of this.held.splice(0)) write.release();
  }

  /** The next `count` writes fail with `fault` (by default EIO, writing nothing). */
  failWrites(count = 1, fault: Fault = { code: 'EIO', landed: false }): void {
    this.faults.push(...Array.from({ length: count }, () => fault));
  }

  get heldWrites(): number {
    return this.held.length;
  }

  override async write(batch: WriteBatch, options: { sync: boolean } = { sync: true }): Promise<void> {
    if (this.holding) await new Promise<void>((release) => this.held.push({ release }));
    const fault = this.faults.shift();
    if (fault?.landed) await this.inner.write(batch, options);
    if (fault) throw Object.assign(new Error(`${fault.code}: injected ${fault.landed ? 'fsync' : 'write'} failure`), { code: fault.code });
    this.writes.push(batch);
    await this.inner.write(batch, options);
  }
}

/** Lets the event loop run `count` turns: enough for scheduled flushes and in-memory writes. */
export async function turns(count = 20): Promise<void> {
  for (let i = 0; i < count; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** Whether a promise has settled yet, without waiting for it. */
export async function isSettled(promise: Promise<unknown>): Promise<boolean> {
  const marker = Symbol('pending');
  const winner = await Promise.race([
    promise.then(
      () => 'done',
      () => 'done',
    ),
    new Promise((r) => setImmediate(() => r(marker))),
  ]);
  return winner !== marker;
}
