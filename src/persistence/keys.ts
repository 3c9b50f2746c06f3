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
  return value.replace(/\x01/g, '\x01\x02').replace(/\x00/g, '\x01\x01') + '\x00';
}

/** The id that ends an index or record key. */
export function idOfKey(key: string): number {
  return Number(key.slice(-ID_WIDTH));
}

export const counterKey = (kind: string): string => `c/${kind}`;
export const recordPrefix = (kind: string): string => `r/${kind}/`;
export const recordKey = (kind: string, id: number): string => `r/${kind}/${idPart(id)}`;
/** An index key, or with fewer parts the prefix of a group of them. */
export const indexKey = (index: string, ...parts: string[]): string => `i/${index}/${parts.join('')}`;
/** Where each write's sequence number is kept (LevelDB store; see CommitMark). */
export const COMMIT_KEY = 'm/commit';
