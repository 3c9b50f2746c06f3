/**
 * Reading LevelDB's encodings (util/coding.h: little-endian fixed32, base-128
 * varints, length-prefixed slices) from bytes that may be damaged: each read
 * is bounds-checked and a bad one throws a FormatError saying where.
 */

export class FormatError extends Error {
  override name = 'FormatError';
  constructor(
    message: string,
    /** Position in the bytes being read where the fault was found. */
    readonly at: number,
  ) {
    super(message);
  }
}

export function fixed32(bytes: Uint8Array, at: number): number {
  return (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)) >>> 0;
}

export class ByteReader {
  constructor(
    readonly bytes: Uint8Array,
    public pos = 0,
    readonly limit = bytes.length,
  ) {}

  get done(): boolean {
    return this.pos >= this.limit;
  }

  /** Like GetVarint32: at most 5 bytes, bits beyond 32 dropped. */
  varint32(what: string): number {
    let result = 0;
    for (let shift = 0; shift <= 28 && this.pos < this.limit; shift += 7) {
      const byte = this.bytes[this.pos++]!;
      result |= (byte & 0x7f) << shift;
      if (byte < 0x80) return result >>> 0;
    }
    throw new FormatError(`${what}: bad varint32`, this.pos);
  }

  /**
   * Like GetVarint64, but as a JS number: values past 2^53 (no file number,
   * size or sequence gets near it) are refused rather than rounded.
   */
  varint64(what: string): number {
    const start = this.pos;
    let result = 0;
    for (let shift = 0; shift <= 63 && this.pos < this.limit; shift += 7) {
      const byte = this.bytes[this.pos++]!;
      result += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) {
        if (!Number.isSafeInteger(result)) throw new FormatError(`${what}: ${result} is implausibly large`, start);
        return result;
      }
    }
    throw new FormatError(`${what}: bad varint64`, start);
  }

  /** Like GetLengthPrefixedSlice: a varint32 length, then that many bytes (a view, not a copy). */
  lengthPrefixed(what: string): Uint8Array {
    const length = this.varint32(what);
    if (length > this.limit - this.pos) throw new FormatError(`${what}: length ${length} runs past the end`, this.pos);
    const slice = this.bytes.subarray(this.pos, this.pos + length);
    this.pos += length;
    return slice;
  }
}
