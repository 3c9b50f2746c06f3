import type { Backend, BackendCapabilities, KeyRange, WriteBatch } from './backend.ts';

/** A Backend that hands every call to another: the base of wrappers that watch, record or fail writes. */
export class BackendWrapper implements Backend {
  constructor(protected readonly inner: Backend) {}

  get capabilities(): BackendCapabilities {
    return this.inner.capabilities;
  }

  open(): Promise<void> {
    return this.inner.open();
  }

  get(key: string): Promise<Uint8Array | undefined> {
    return this.inner.get(key);
  }

  getMany(keys: readonly string[]): Promise<(Uint8Array | undefined)[]> {
    return this.inner.getMany(keys);
  }

  keys(range: KeyRange): Promise<string[]> {
    return this.inner.keys(range);
  }

  entries(range: KeyRange): Promise<[string, Uint8Array][]> {
    return this.inner.entries(range);
  }

  write(batch: WriteBatch, options: { sync: boolean }): Promise<void> {
    return this.inner.write(batch, options);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
