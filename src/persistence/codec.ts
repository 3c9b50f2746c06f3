import { Packr } from 'msgpackr';
import { StorageError } from '../errors.ts';

/**
 * Values are msgpack. Records hold only numbers, strings, booleans, null,
 * arrays and plain objects of ours; user JSON (properties, state values) is
 * stored as JSON text so that it round-trips exactly as JSON would.
 */
const packr = new Packr({ useRecords: false, mapsAsObjects: true });

/** Every index entry's value: encoded once. */
const TRUE = packr.pack(true);

export function encode(value: unknown): Uint8Array {
  return value === true ? TRUE : packr.pack(value);
}

export function decode<T>(bytes: Uint8Array): T {
  return packr.unpack(bytes) as T;
}

/** The value stored at `key`; a value that does not decode is a StorageError naming the key, not msgpackr's own error. */
export function decodeStored<T>(key: string, bytes: Uint8Array): T {
  try {
    return packr.unpack(bytes) as T;
  } catch (error) {
    throw new StorageError(`the value stored at ${JSON.stringify(key)} does not decode (${(error as Error).message}): the store is damaged`, { cause: error });
  }
}
