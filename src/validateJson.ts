/**
 * The JSON checks, split from validate.ts to keep each file short: JSON text
 * of a value (jsonText) and of Buildbot properties (propertiesJson), walked
 * and counted against LIMITS before it is written.
 */

import { InvalidArgumentError, SerializationError } from './errors.ts';
import { clip, isPlainObject, LIMITS, type Options, overLimit, quote, refuse, string } from './validate.ts';

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
