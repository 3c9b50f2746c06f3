import { InvalidArgumentError, SerializationError } from './errors.ts';

/**
 * Argument checks, run before a command touches anything. Each returns the
 * value in its canonical form or throws InvalidArgumentError naming the
 * argument; nothing is coerced (`complete: 1` is not a boolean).
 */

type Options = Record<string, unknown>;

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Date) return 'a Date';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value)}`;
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
  if (!/^[1-9][0-9]*$/.test(key)) throw new InvalidArgumentError(`${name} must name a positive integer id, not ${JSON.stringify(key)}`);
  return id(Number(key), name);
}

/** A list of ids, in the order given. */
export function ids(value: unknown, name: string): number[] {
  if (!Array.isArray(value)) refuse(name, 'an array of ids', value);
  return Array.from(value, (item, index) => id(item, `${name}[${index}]`)); // Array.from visits holes, map skips them
}

export function integer(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) refuse(name, 'an integer', value);
  return value;
}

export function nonNegativeNumber(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) refuse(name, 'a finite number >= 0', value);
  return value;
}

// A lone surrogate cannot be stored as UTF-8: it would come back (and key
// indexes) as U+FFFD, so two different strings could become one.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** A string of well-formed Unicode. */
export function string(value: unknown, name: string): string {
  if (typeof value !== 'string') refuse(name, 'a string', value);
  if (LONE_SURROGATE.test(value)) throw new InvalidArgumentError(`${name} must be well-formed Unicode; it has a lone surrogate`);
  return value;
}

export function nullableString(value: unknown, name: string): string | null {
  return value === null ? null : string(value, name);
}

export function boolean(value: unknown, name: string): boolean {
  if (typeof value !== 'boolean') refuse(name, 'a boolean', value);
  return value;
}

/** An optional value: absent or null is null, else it must pass `check`. */
export function optional<T>(value: unknown, name: string, check: (value: unknown, name: string) => T): T | null {
  return value === undefined || value === null ? null : check(value, name);
}

/** A list of strings. */
export function strings(value: unknown, name: string): string[] {
  if (!Array.isArray(value)) refuse(name, 'an array of strings', value);
  return Array.from(value, (item, index) => string(item, `${name}[${index}]`));
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
    if (!known.includes(key)) throw new InvalidArgumentError(`${name} has unknown option ${JSON.stringify(key)}; known: ${known.join(', ')}`);
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

/**
 * A deep copy of a JSON value, refusing what JSON cannot represent
 * faithfully: cycles, BigInt, functions, symbols, undefined, NaN, Infinity,
 * and objects that are not plain (a Date would come back as a string).
 */
export function jsonValue(value: unknown, name: string, seen: Set<object> = new Set()): unknown {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      if (!Number.isFinite(value)) throw new SerializationError(`${name} is ${value}, which JSON cannot represent`);
      return value;
    case 'object': {
      if (value === null) return null;
      if (seen.has(value)) throw new SerializationError(`${name} is circular`);
      seen.add(value);
      let copy: unknown;
      if (Array.isArray(value)) {
        copy = value.map((item, index) => jsonValue(item, `${name}[${index}]`, seen));
      } else if (isPlainObject(value)) {
        const out: Options = {};
        for (const key of Object.keys(value)) {
          Object.defineProperty(out, key, { value: jsonValue(value[key], `${name}.${key}`, seen), enumerable: true, writable: true, configurable: true });
        }
        copy = out;
      } else {
        throw new SerializationError(`${name} is a ${value.constructor?.name ?? 'non-plain object'}, which JSON cannot represent faithfully`);
      }
      seen.delete(value);
      return copy;
    }
    default:
      throw new SerializationError(`${name} is ${typeof value === 'undefined' ? 'undefined' : `a ${typeof value}`}, which JSON cannot represent`);
  }
}

/**
 * Buildbot properties: `{ name: [value, source] }`, value JSON-able and
 * source a string (or exactly `requiredSource`, when given).
 */
export function properties(value: unknown, name: string, requiredSource?: string): Record<string, [unknown, string]> {
  if (!isPlainObject(value)) refuse(name, 'an object of [value, source] pairs', value);
  const out: Record<string, [unknown, string]> = {};
  for (const key of Object.keys(value)) {
    const pair = value[key];
    if (!Array.isArray(pair) || pair.length !== 2) refuse(`${name}.${key}`, 'a [value, source] pair', pair);
    const source = string(pair[1], `${name}.${key} source`);
    if (requiredSource !== undefined && source !== requiredSource) {
      throw new InvalidArgumentError(`${name}.${key} source must be ${JSON.stringify(requiredSource)}, not ${JSON.stringify(source)}`);
    }
    Object.defineProperty(out, key, { value: [jsonValue(pair[0], `${name}.${key}`), source], enumerable: true, writable: true, configurable: true });
  }
  return out;
}
