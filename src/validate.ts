import { InvalidArgumentError, SerializationError } from './errors.ts';

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
function overLimit(name: string, amount: string, limit: LimitName): never {
  throw new InvalidArgumentError(`${name} ${amount}; the limit is ${LIMITS[limit]} (LIMITS.${limit})`);
}

/** Refuses a count (of ids, builders, entries) over a limit; call it before reading any item. */
export function atMost(count: number, name: string, limit: LimitName, unit: string): void {
  if (count > LIMITS[limit]) overLimit(name, `has ${count} ${unit}`, limit);
}

type Options = Record<string, unknown>;

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

function refuse(name: string, expected: string, value: unknown): never {
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

/** JSON text that is the string itself between quotes: printable ASCII but `"` and `\`. */
const PLAIN_JSON = /^[\x20\x21\x23-\x5B\x5D-\x7E]*$/;

/**
 * Walks JSON values, refusing what JSON cannot represent faithfully, and
 * counts the UTF-8 bytes of the JSON text JSON.stringify makes of them
 * (exactly) and the values in it against LIMITS.valueBytes and
 * LIMITS.jsonItems. It stops as soon as either is spent: a container's
 * least possible size is checked before its items are read, and a string's
 * least possible size (its length) before it is scanned, so the work done
 * is in proportion to the limits, not to the value. (Bytes alone would not
 * do: JSON.parse of 1 MiB of `[{},{},…]` takes 60 to 200 ms.) It copies
 * nothing: JSON.stringify then writes the text, a third of the time a copy
 * took, and `text` checks that it is the text counted.
 */
class JsonBudget {
  private bytes: number = LIMITS.valueBytes;
  private items: number = LIMITS.jsonItems;
  private readonly path: (string | number)[] = [];
  private readonly ancestors = new Set<object>();

  constructor(private readonly name: string) {}

  /** Counts `bytes` of JSON text now, once `least` (at least `bytes`) is known to fit. */
  spend(bytes: number, least: number = bytes): void {
    if (least > this.bytes) overLimit(this.name, `takes more than ${LIMITS.valueBytes} bytes as JSON`, 'valueBytes');
    this.bytes -= bytes;
  }

  /** Counts `items` JSON values now, once `least` (at least `items`) is known to fit. */
  count(items: number, least: number = items): void {
    if (least > this.items) overLimit(this.name, `has more than ${LIMITS.jsonItems} JSON values`, 'jsonItems');
    this.items -= items;
  }

  /** Counts a string's JSON text: its UTF-8 bytes with escapes, between quotes. */
  string(value: string): void {
    this.spend(0, value.length + 2); // one byte a character at least: refused before it is scanned
    this.spend(PLAIN_JSON.test(value) ? value.length + 2 : Buffer.byteLength(JSON.stringify(value)));
  }

  /** Walks `value`, at `key` below the value being walked (none: the value itself). */
  walk(value: unknown, key?: string | number): void {
    if (key === undefined) {
      this.item(value);
      return;
    }
    this.path.push(key);
    this.item(value);
    this.path.pop();
  }

  /**
   * JSON.stringify's text of `value` (walked already), checked to be the
   * text counted: a value whose getters or proxy answer differently the
   * second time is not one JSON can represent faithfully.
   */
  text(value: unknown): string {
    let text: string | undefined;
    try {
      text = JSON.stringify(value);
    } catch (error) {
      throw new SerializationError(`${this.name} cannot be written as JSON: ${(error as Error).message}`);
    }
    if (text === undefined || Buffer.byteLength(text) !== LIMITS.valueBytes - this.bytes) {
      throw new SerializationError(`${this.name} changed while it was read, so JSON cannot represent it faithfully`);
    }
    return text;
  }

  private item(value: unknown): void {
    this.count(1);
    switch (typeof value) {
      case 'string':
        this.string(value);
        return;
      case 'boolean':
        this.spend(value ? 4 : 5);
        return;
      case 'number':
        if (!Number.isFinite(value)) throw new SerializationError(`${this.where()} is ${value}, which JSON cannot represent`);
        this.spend(String(value).length);
        return;
      case 'object':
        if (value === null) this.spend(4);
        else if (this.ancestors.size >= LIMITS.jsonDepth) overLimit(this.name, `nests arrays and objects more than ${LIMITS.jsonDepth} deep`, 'jsonDepth');
        else if (Array.isArray(value)) this.array(value);
        else this.object(value);
        return;
      default:
        throw new SerializationError(`${this.where()} is ${value === undefined ? 'undefined' : `a ${typeof value}`}, which JSON cannot represent`);
    }
  }

  private array(value: unknown[]): void {
    const length = value.length;
    if (length === 0) {
      this.spend(2);
      return;
    }
    // Brackets and commas; each item is one byte and one value at least.
    this.spend(length + 1, 2 * length + 1);
    this.count(0, length);
    this.enter(value);
    for (let i = 0; i < length; i++) this.walk(i in value ? value[i] : null, i); // a hole is null, as JSON.stringify has it
    this.ancestors.delete(value);
  }

  private object(value: object): void {
    if (!isPlainObject(value)) throw new SerializationError(`${this.where()} is a ${value.constructor?.name ?? 'non-plain object'}, which JSON cannot represent faithfully`);
    const keys = Object.keys(value);
    if (keys.length === 0) {
      this.spend(2);
      return;
    }
    // Braces and commas; each entry is `"":0` (four bytes, one value) at least.
    this.spend(keys.length + 1, 5 * keys.length + 1);
    this.count(0, keys.length);
    this.enter(value);
    for (const key of keys) {
      this.string(key);
      this.spend(1); // the colon
      this.walk(value[key], key);
    }
    this.ancestors.delete(value);
  }

  /** Goes into a container that has items (an empty one cannot close a cycle, nor hold a deeper one). */
  private enter(value: object): void {
    if (this.ancestors.has(value)) throw new SerializationError(`${this.where()} is circular`);
    this.ancestors.add(value);
  }

  /** The name of the part being walked, for a refusal. */
  private where(): string {
    return this.name + this.path.map((key) => (typeof key === 'number' ? `[${key}]` : `.${clip(key)}`)).join('');
  }
}

/**
 * The JSON text of a value, refusing what JSON cannot represent faithfully
 * (cycles, BigInt, functions, symbols, undefined, NaN, Infinity, objects
 * that are not plain: a Date would come back as a string) with
 * SerializationError; and a value whose JSON text is over LIMITS.valueBytes
 * bytes or LIMITS.jsonItems values, or nested over LIMITS.jsonDepth deep,
 * with InvalidArgumentError.
 */
export function jsonText(value: unknown, name: string): string {
  const budget = new JsonBudget(name);
  budget.walk(value);
  return budget.text(value);
}

/**
 * Buildbot properties, `{ name: [value, source] }`, as JSON text: each value
 * JSON-able, each source a string (or exactly `requiredSource`, when given).
 * Their text, all of them together, is within LIMITS.valueBytes and
 * LIMITS.jsonItems.
 */
export function propertiesJson(value: unknown, name: string, requiredSource?: string): string {
  if (!isPlainObject(value)) refuse(name, 'an object of [value, source] pairs', value);
  const keys = Object.keys(value);
  const budget = new JsonBudget(name);
  // Braces and commas; each entry is `"":[0,""]` (nine bytes; three values: pair, value, source) at least.
  budget.spend(keys.length === 0 ? 2 : keys.length + 1, 10 * keys.length + 1);
  budget.count(1, 1 + 3 * keys.length);
  const pairs: Options = {}; // each pair read once, as checked
  for (const key of keys) {
    const pair = value[key];
    if (!Array.isArray(pair) || pair.length !== 2) refuse(`${name}.${clip(key)}`, 'a [value, source] pair', pair);
    const [property, given] = [pair[0], pair[1]];
    const source = string(given, `${name}.${clip(key)} source`);
    if (requiredSource !== undefined && source !== requiredSource) {
      throw new InvalidArgumentError(`${name}.${clip(key)} source must be ${JSON.stringify(requiredSource)}, not ${quote(source)}`);
    }
    budget.string(key);
    budget.string(source);
    budget.spend(4); // `:[`, `,` and `]`
    budget.count(2); // the pair and its source
    budget.walk(property, key);
    // An own `__proto__` key stays a key, as JSON.parse would make it.
    Object.defineProperty(pairs, key, { value: [property, source], enumerable: true, writable: true, configurable: true });
  }
  return budget.text(pairs);
}
