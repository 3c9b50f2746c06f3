/**
 * Key layout. Every key is text, compared bytewise:
 *   c/<kind>                  last id handed out for a kind
 *   r/<kind>/<id>             a record (an actor snapshot or a plain row)
 *   i/<index>/<part>...<id>   an index entry pointing at a record id
 *   m/commit                  the sequence number of the newest write (see CommitMark)
 * Ids and instants are fixed-width decimal so key order is numeric order;
 * strings end in NUL (escaped inside) so one value's entries never run
 * into another's.
 */

const ID_WIDTH = 16; // Number.MAX_SAFE_INTEGER has 16 digits
const TIME_OFFSET = 8.64e15; // the earliest valid Date, so instants are non-negative

export function idPart(id: number): string {
  return id.toString().padStart(ID_WIDTH, '0');
}

/** Milliseconds since the epoch, any valid Date, as sortable text. */
export function timePart(ms: number): string {
  return (ms + TIME_OFFSET).toString().padStart(ID_WIDTH + 1, '0');
}

export function stringPart(value: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: NUL and SOH are exactly what this escapes
  return `${value.replace(/\x01/g, '\x01\x02').replace(/\x00/g, '\x01\x01')}\x00`;
}

/** The id that ends an index or record key. */
export function idOfKey(key: string): number {
  return Number(key.slice(-ID_WIDTH));
}

/** Where the keys of each part of the layout start. */
export const COUNTERS = 'c/';
export const RECORDS = 'r/';
export const INDEXES = 'i/';

export const counterKey = (kind: string): string => `${COUNTERS}${kind}`;
/** The kind a counter key counts. */
export const counterKind = (key: string): string => key.slice(COUNTERS.length);
/** The index an index key belongs to (`bs.complete` for `i/bs.complete/…`). */
export const indexOfKey = (key: string): string => key.slice(INDEXES.length, key.indexOf('/', INDEXES.length));
export const recordPrefix = (kind: string): string => `${RECORDS}${kind}/`;
export const recordKey = (kind: string, id: number): string => `${RECORDS}${kind}/${idPart(id)}`;
/** An index key, or with fewer parts the prefix of a group of them. */
export const indexKey = (index: string, ...parts: string[]): string => `${INDEXES}${index}/${parts.join('')}`;
/** Where each write's sequence number is kept (LevelDB store; see CommitMark). */
export const COMMIT_KEY = 'm/commit';

/** Whether a key belongs to the layout above. */
export function inLayout(key: string): boolean {
  return key.startsWith(COUNTERS) || key.startsWith(RECORDS) || key.startsWith(INDEXES) || key === COMMIT_KEY;
}
