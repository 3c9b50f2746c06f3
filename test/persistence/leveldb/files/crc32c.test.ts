import { describe, expect, it } from 'vitest';
import { crc32c, maskedCrc, unmaskCrc } from '../../../../src/persistence/leveldb/files/crc32c.ts';
import { rng, text } from './stores.ts';

// Bit at a time, straight from the definition: the reference the fast one must match.
function slowCrc32c(bytes: Uint8Array): number {
  let c = ~0;
  for (const byte of bytes) {
    c ^= byte;
    for (let bit = 0; bit < 8; bit++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return ~c >>> 0;
}

describe('crc32c', () => {
  it('matches the known vectors', () => {
    expect(crc32c(text('123456789'))).toBe(0xe3069283);
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i))).toBe(0x46dd794e);
    expect(crc32c(new Uint8Array(0))).toBe(0);
  });

  it('matches a bitwise reference at every length and alignment, and extends', () => {
    const next = rng(7);
    const bytes = Uint8Array.from({ length: 300 }, () => Math.floor(next() * 256));
    for (let start = 0; start < 20; start++) {
      for (let end = start; end <= bytes.length; end += 7) {
        expect(crc32c(bytes, start, end)).toBe(slowCrc32c(bytes.subarray(start, end)));
        // On a view with its own byteOffset, too.
        expect(crc32c(bytes.subarray(start, end))).toBe(slowCrc32c(bytes.subarray(start, end)));
      }
    }
    // crc32c::Extend: the CRC of a whole is the CRC of its tail continued from its head's.
    for (const cut of [0, 1, 15, 16, 17, 150, 300]) expect(crc32c(bytes, cut, 300, crc32c(bytes, 0, cut))).toBe(crc32c(bytes));
  });

  it('masks as LevelDB does, and unmasks back', () => {
    const crc = crc32c(text('foo'));
    expect(maskedCrc(crc)).not.toBe(crc);
    expect(maskedCrc(maskedCrc(crc))).not.toBe(maskedCrc(crc));
    expect(unmaskCrc(maskedCrc(crc))).toBe(crc);
    expect(unmaskCrc(unmaskCrc(maskedCrc(maskedCrc(crc))))).toBe(crc);
    const next = rng(3);
    for (let i = 0; i < 1000; i++) {
      const c = Math.floor(next() * 2 ** 32);
      expect(unmaskCrc(maskedCrc(c))).toBe(c);
      expect(maskedCrc(c)).toBe(((((c >>> 15) | (c << 17)) + 0xa282ead8) % 2 ** 32) >>> 0);
    }
  });

  it('checks 64 MB well within a second', () => {
    const bytes = new Uint8Array(64 << 20).fill(0x5a);
    crc32c(bytes, 0, 1 << 20);
    const started = performance.now();
    crc32c(bytes);
    expect(performance.now() - started).toBeLessThan(1000);
  });
});
