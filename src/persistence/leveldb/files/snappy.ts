/**
 * Raw snappy block decompression (the format LevelDB stores a table block in
 * when its compression type is 1). The input may be garbage: every length and
 * offset is checked before use, the output is allocated once at its stated
 * size and only after that size was shown possible for the input, and every
 * step consumes input, so bad bytes throw a SnappyError rather than loop,
 * overrun or allocate gigabytes.
 */

export class SnappyError extends Error {
  override name = 'SnappyError';
}

// One copy element of 3 bytes can produce 64 bytes, the best any element does,
// so no valid input expands by more than this.
const MAX_EXPANSION = 64 / 3;

/** The uncompressed length a snappy block states, and where its elements begin. */
export function snappyLength(input: Uint8Array): { length: number; start: number } {
  let length = 0;
  for (let i = 0; i < 5; i++) {
    if (i >= input.length) throw new SnappyError('input ends inside the length prefix');
    const byte = input[i]!;
    // Multiplication, not shifts: the fifth byte's bits reach past 2^31.
    length += (byte & 0x7f) * 2 ** (7 * i);
    if (byte < 0x80) {
      if (length > 0xffffffff) throw new SnappyError('length prefix exceeds 32 bits');
      return { length, start: i + 1 };
    }
  }
  throw new SnappyError('length prefix longer than 5 bytes');
}

/** Decompresses a raw snappy block; throws SnappyError on any inconsistency. */
export function snappyDecompress(input: Uint8Array, maxLength = 1 << 30): Uint8Array {
  const { length, start } = snappyLength(input);
  if (length > maxLength) throw new SnappyError(`stated length ${length} exceeds the limit ${maxLength}`);
  if (length > Math.ceil((input.length - start) * MAX_EXPANSION)) {
    throw new SnappyError(`stated length ${length} is more than ${input.length} bytes can hold`);
  }
  const out = new Uint8Array(length);
  let ip = start;
  let op = 0;
  const n = input.length;
  while (ip < n) {
    const tag = input[ip++]!;
    let len: number;
    let offset: number;
    switch (tag & 3) {
      case 0: {
        // Literal: length-1 in the tag, or in the 1..4 bytes after it.
        len = tag >>> 2;
        if (len >= 60) {
          const bytes = len - 59;
          if (ip + bytes > n) throw new SnappyError(`literal length cut off at byte ${ip}`);
          len = 0;
          for (let k = 0; k < bytes; k++) len += input[ip + k]! * 2 ** (8 * k);
          ip += bytes;
        }
        len += 1;
        if (len > n - ip) throw new SnappyError(`literal of ${len} bytes at byte ${ip} runs past the input`);
        if (len > length - op) throw new SnappyError(`literal at byte ${ip} runs past the stated length`);
        out.set(input.subarray(ip, ip + len), op);
        ip += len;
        op += len;
        continue;
      }
      case 1:
        if (ip + 1 > n) throw new SnappyError(`copy cut off at byte ${ip}`);
        len = 4 + ((tag >>> 2) & 7);
        offset = ((tag >>> 5) << 8) | input[ip]!;
        ip += 1;
        break;
      case 2:
        if (ip + 2 > n) throw new SnappyError(`copy cut off at byte ${ip}`);
        len = (tag >>> 2) + 1;
        offset = input[ip]! | (input[ip + 1]! << 8);
        ip += 2;
        break;
      default:
        if (ip + 4 > n) throw new SnappyError(`copy cut off at byte ${ip}`);
        len = (tag >>> 2) + 1;
        offset = (input[ip]! | (input[ip + 1]! << 8) | (input[ip + 2]! << 16) | (input[ip + 3]! << 24)) >>> 0;
        ip += 4;
    }
    if (offset === 0 || offset > op) throw new SnappyError(`copy at byte ${ip} reaches before the output's start`);
    if (len > length - op) throw new SnappyError(`copy at byte ${ip} runs past the stated length`);
    if (offset >= len) {
      out.copyWithin(op, op - offset, op - offset + len);
      op += len;
    } else {
      // Overlapping copy repeats the last `offset` bytes: byte by byte.
      for (const stop = op + len; op < stop; op++) out[op] = out[op - offset]!;
    }
  }
  if (op !== length) throw new SnappyError(`produced ${op} bytes, the block states ${length}`);
  return out;
}
