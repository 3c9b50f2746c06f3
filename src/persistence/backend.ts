/**
 * The storage contract every backend implements: an ordered map from string
 * keys to byte values, with point reads, ordered range scans and atomic
 * batches. Everything above it (codec, keys, indexes, commits) is shared, so
 * a new store (a shared server store, say) implements only this.
 */

/** A key range: every key k with gte <= k < lt. */
export interface KeyRange {
  gte: string;
  lt: string;
  reverse?: boolean;
  limit?: number;
}

/** One atomic write: value `null` deletes the key. */
export type WriteBatch = Map<string, Uint8Array | null>;

export interface BackendCapabilities {
  /** Data survives close() and a reopen of the same location. */
  permanence: boolean;
  /** `write(batch, { sync: true })` survives a power cut once it resolves. */
  durableSync: boolean;
}

export interface Backend {
  readonly capabilities: BackendCapabilities;
  open(): Promise<void>;
  get(key: string): Promise<Uint8Array | undefined>;
  getMany(keys: readonly string[]): Promise<(Uint8Array | undefined)[]>;
  /** Keys in the range, in key order (reverse order if asked). */
  keys(range: KeyRange): Promise<string[]>;
  /** Entries in the range, in key order (reverse order if asked). */
  entries(range: KeyRange): Promise<[string, Uint8Array][]>;
  /** Applies every put and delete of the batch, all or none. */
  write(batch: WriteBatch, options: { sync: boolean }): Promise<void>;
  close(): Promise<void>;
}

/**
 * The range of every key that starts with `prefix`. Prefixes end in an ASCII
 * separator, so bumping that last character bounds the range bytewise.
 */
export function prefixRange(prefix: string, options: { reverse?: boolean; limit?: number } = {}): KeyRange {
  const last = prefix.charCodeAt(prefix.length - 1);
  return { gte: prefix, lt: prefix.slice(0, -1) + String.fromCharCode(last + 1), ...options };
}
