import { Packr } from 'msgpackr';

/**
 * Values are msgpack. Records hold only numbers, strings, booleans, null,
 * arrays and plain objects of ours; user JSON (properties, state values) is
 * stored as JSON text so that it round-trips exactly as JSON would.
 */
const packr = new Packr({ useRecords: false, mapsAsObjects: true });

export function encode(value: unknown): Uint8Array {
  return packr.pack(value);
}

export function decode<T>(bytes: Uint8Array): T {
  return packr.unpack(bytes) as T;
}
