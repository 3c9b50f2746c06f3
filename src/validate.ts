import { InvalidArgumentError } from './errors.ts';

/**
 * Argument checks, run before a command touches anything. Each returns the
 * value in its canonical form or throws InvalidArgumentError naming the
 * argument; nothing is coerced (`complete: 1` is not a boolean).
 */

const KiB = 1024;
const MiB = 1024 * KiB;

const limits = {
  /** Ids in one list argument (brids, bids, changeids), and entries in classifyChanges' object. */
  idsPerCall: 1000,
  /** builderNames of one buildset: one build request each. */
  buildersPerBuildset: 1000,
  /** Strings in another list argument: a change's files, its links. */
  listLength: 10_000,
  /** Characters (UTF-16 code units, JavaScript's `length`) of one list's strings together: builderNames, files, links. */
  listChars: MiB,
  /** Characters of every string argument not named below: names, identifiers, branch, revision, reason, paths. */
  stringLength: 64 * KiB,
  /** Characters of long text: a change's comments, a patch's body (bytes, for a Uint8Array) and comment. */
  textLength: MiB,
  /** UTF-8 bytes of one stored value: the JSON text of a call's properties (all of them) or of a state value; a user attribute's data. */
  valueBytes: MiB,
  /** Values (arrays, objects, strings, numbers, booleans, nulls; keys not counted) in one such JSON text. */
  jsonItems: 100_000,
  /** How deep arrays and objects nest in one JSON value. */
  jsonDepth: 1000,
};

export type LimitName = keyof typeof limits;

/**
 * Bounds on input, so that no call holds the event loop (and, since commands
 * run one at a time, every other caller) for long. A call past one is
 * refused with InvalidArgumentError naming the argument and the limit,
 * before any work in proportion to the excess: sizes are checked before
 * items are read. docs/limits.md gives the reason for each number and what
 * the largest legal call costs.
 */
export const LIMITS: Readonly<Record<LimitName, number>> = Object.freeze(limits);

/** Refuses an argument that is over a limit; `amount` says by how much, as far as it was measured. */
export function overLimit(name: string, amount: string, limit: LimitName): never {
  throw new InvalidArgumentError(`${name} ${amount}; the limit is ${LIMITS[limit]} (LIMITS.${limit})`);
}

/** Refuses a count (of ids, builders, entries) over a limit; call it before reading any item. */
export function atMost(count: number, name: string, limit: LimitName, unit: string): void {
  if (count > LIMITS[limit]) overLimit(name, `has ${count} ${unit}`, limit);
}

export type Options = Record<string, unknown>;

/** A string cut to its first 40 characters, for a message: arguments may be long. */
export function clip(value: string): string {
  return value.length > 40 ? `${value.slice(0, 40)}…` : value;
}

/** A string quoted for a message, cut to its first 40 characters. */
export function quote(value: string): string {
  return JSON.stringify(clip(value));
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Date) return 'a Date';
  if (typeof value === 'string') return `the string ${quote(value)}`;
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value} ${String(value)}`;
  return typeof value;
}

/** Refuses an argument that is not what `expected` says, describing the value it is. */
export function refuse(name: string, expected: string, value: unknown): never {
  throw new InvalidArgumentError(`${name} must be ${expected}, not ${describe(value)}`);
}

export function isPlainObject(value: unknown): value is Options {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** A positive safe integer: the shape of every id. */
export function id(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) refuse(name, 'a positive integer id', value);
  return value;
}

export function nullableId(value: unknown, name: string): number | null {
  return value === null ? null : id(value, name);
}

/** An object key naming an id: canonical decimal ("7", not "07" or "7.0"). */
export function idKey(key: string, name: string): number {
  if (key.length > 16 || !/^[1-9][0-9]*$/.test(key)) throw new InvalidArgumentError(`${name} must name a positive integer id, not ${quote(key)}`);
  return id(Number(key), name);
}

/** A list of at most LIMITS.idsPerCall ids, in the order given; the count is checked before any id is read. */
export function ids(value: unknown, name: string): number[] {
  if (!Array.isArray(value)) refuse(name, 'an array of ids', value);
  atMost(value.length, name, 'idsPerCall', 'ids');
  return Array.from(value, (item, index) => id(item, `${name}[${index}]`)); // Array.from visits holes, map skips them
}

export function integer(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) refuse(name, 'an integer', value);
  return value;
}

/** A count of things asked for: an integer >= 0. */
export function count(value: unknown, name: string): number {
  if (integer(value, name) < 0) throw new InvalidArgumentError(`${name} must be >= 0, not ${value}`);
  return value as number;
}

export function nonNegativeNumber(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) refuse(name, 'a finite number >= 0', value);
  return value;
}

/**
 * Whether a string has no lone surrogate. One cannot be stored as UTF-8: it
 * would come back (and key indexes) as U+FFFD, so two different strings
 * could become one. String.prototype.isWellFormed (ES2024, in every Node
 * this package supports) is native: seven times faster than a regex.
 */
const isWellFormed = (value: string): boolean => (value as string & { isWellFormed(): boolean }).isWellFormed();

/**
 * A string of well-formed Unicode, at most LIMITS[limit] characters long
 * (LIMITS.stringLength unless given); its length is checked before it is scanned.
 */
export function string(value: unknown, name: string, limit: 'stringLength' | 'textLength' = 'stringLength'): string {
  if (typeof value !== 'string') refuse(name, 'a string', value);
  if (value.length > LIMITS[limit]) overLimit(name, `is ${value.length} characters long`, limit);
  return wellFormed(value, name);
}

function wellFormed(value: string, name: string): string {
  if (!isWellFormed(value)) throw new InvalidArgumentError(`${name} must be well-formed Unicode; it has a lone surrogate`);
  return value;
}

export function nullableString(value: unknown, name: string, limit?: 'stringLength' | 'textLength'): string | null {
  return value === null ? null : string(value, name, limit);
}

/** Long text: a string of at most LIMITS.textLength characters, or null. */
export function nullableText(value: unknown, name: string): string | null {
  return nullableString(value, name, 'textLength');
}

/**
 * A string of at most LIMITS.valueBytes bytes as UTF-8. Each character
 * takes one to three bytes, so the bytes are counted only when the length
 * alone leaves it in doubt.
 */
export function dataString(value: unknown, name: string): string {
  if (typeof value !== 'string') refuse(name, 'a string', value);
  const limit = LIMITS.valueBytes;
  if (value.length > limit) overLimit(name, `is ${value.length} characters long, so more than ${limit} bytes as UTF-8`, 'valueBytes');
  if (3 * value.length > limit) {
    const bytes = Buffer.byteLength(value);
    if (bytes > limit) overLimit(name, `is ${bytes} bytes as UTF-8`, 'valueBytes');
  }
  return wellFormed(value, name);
}

export function boolean(value: unknown, name: string): boolean {
  if (typeof value !== 'boolean') refuse(name, 'a boolean', value);
  return value;
}

/** An optional value: absent or null is null, else it must pass `check`. */
/** The argument `args[key]`, checked; `fallback` when it is not given. */
export function given<T, F>(args: Record<string, unknown>, key: string, fallback: F, check: (value: unknown, name: string) => T): T | F {
  return args[key] === undefined ? fallback : check(args[key], key);
}

export function optional<T>(value: unknown, name: string, check: (value: unknown, name: string) => T): T | null {
  return value === undefined || value === null ? null : check(value, name);
}

/**
 * A list of at most LIMITS[limit] strings (LIMITS.listLength unless given)
 * of at most LIMITS.listChars characters together. The count is checked
 * before any item is read, and each item's length before it is scanned.
 */
export function strings(value: unknown, name: string, limit: 'listLength' | 'buildersPerBuildset' = 'listLength'): string[] {
  if (!Array.isArray(value)) refuse(name, 'an array of strings', value);
  atMost(value.length, name, limit, 'strings');
  const out = new Array<string>(value.length);
  let chars = 0;
  for (let i = 0; i < out.length; i++) {
    const item: unknown = value[i]; // a hole is undefined, and refused
    if (typeof item === 'string' && (chars += item.length) > LIMITS.listChars)
      overLimit(name, `has more than ${LIMITS.listChars} characters in its first ${i + 1} strings`, 'listChars');
    // The item's name is made only to refuse it: lists may be long.
    out[i] = typeof item === 'string' && item.length <= LIMITS.stringLength && isWellFormed(item) ? item : string(item, `${name}[${i}]`);
  }
  return out;
}

/** A valid Date, as epoch milliseconds. */
export function date(value: unknown, name: string): number {
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) refuse(name, 'a valid Date', value);
  return value.getTime();
}

/** An optional Date: absent or null means "now". */
export function dateOrNow(value: unknown, name: string, now: () => Date): number {
  return value === undefined || value === null ? date(now(), 'now()') : date(value, name);
}

/**
 * The options object of a call: absent, or a plain object whose keys are
 * all known. Returns it (or an empty one).
 */
export function options(value: unknown, name: string, known: readonly string[]): Options {
  if (value === undefined) return {};
  if (!isPlainObject(value)) refuse(name, 'an options object', value);
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) throw new InvalidArgumentError(`${name} has unknown option ${quote(key)}; known: ${known.join(', ')}`);
  }
  return value;
}

/** The keyword-argument object of a call that takes one; `required` keys must be present. */
export function keywords(value: unknown, name: string, known: readonly string[], required: readonly string[] = []): Options {
  if (!isPlainObject(value)) refuse(name, 'an object of named arguments', value);
  const args = options(value, name, known);
  for (const key of required) {
    if (!(key in args) || args[key] === undefined) throw new InvalidArgumentError(`${name} needs ${key}`);
  }
  return args;
}
