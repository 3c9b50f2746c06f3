import { createRequire } from 'node:module';
import { StorageError } from '../../errors.ts';
import type { Backend, KeyRange, WriteBatch } from '../backend.ts';

/**
 * The in-memory backend: the same ordered-map contract as LevelDB in a
 * B+ tree, gone when the process ends. For tests, and for measuring the
 * actor layer without a disk.
 */
// A CommonJS module whose class is `exports.default`; require() reads it the same way under every loader.
const { default: BTree } = createRequire(import.meta.url)('sorted-btree') as typeof import('sorted-btree');

export class MemoryBackend implements Backend {
  readonly capabilities = { permanence: false, durableSync: false };
  private readonly tree = new BTree<string, Uint8Array>(undefined, (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0));
  private opened = false;

  async open(): Promise<void> {
    this.opened = true;
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    this.assertOpen();
    return this.tree.get(key);
  }

  async getMany(keys: readonly string[]): Promise<(Uint8Array | undefined)[]> {
    this.assertOpen();
    return keys.map((key) => this.tree.get(key));
  }

  async keys(range: KeyRange): Promise<string[]> {
    return this.scan(range, (key) => key);
  }

  async entries(range: KeyRange): Promise<[string, Uint8Array][]> {
    return this.scan(range, (key, value) => [key, value]);
  }

  async write(batch: WriteBatch): Promise<void> {
    this.assertOpen();
    for (const [key, value] of batch) {
      if (value === null) this.tree.delete(key);
      else this.tree.set(key, value);
    }
  }

  async close(): Promise<void> {
    this.opened = false;
  }

  private scan<T>(range: KeyRange, pick: (key: string, value: Uint8Array) => T): T[] {
    this.assertOpen();
    const limit = range.limit === undefined || range.limit < 0 ? Infinity : range.limit;
    const out: T[] = [];
    if (limit === 0) return out;
    if (range.reverse) {
      for (const [key, value] of this.tree.entriesReversed(range.lt, undefined, true)) {
        if (key < range.gte || out.length >= limit) break;
        out.push(pick(key, value));
      }
    } else {
      this.tree.editRange(range.gte, range.lt, false, (key: string, value: Uint8Array) => {
        out.push(pick(key, value));
        return out.length >= limit ? { break: true } : undefined;
      });
    }
    return out;
  }

  private assertOpen(): void {
    if (!this.opened) throw new StorageError('the in-memory store is not open');
  }
}

export function memoryBackend(): MemoryBackend {
  return new MemoryBackend();
}
