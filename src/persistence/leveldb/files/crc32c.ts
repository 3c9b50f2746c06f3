/**
 * CRC-32C (Castagnoli), the checksum LevelDB puts in every log record and
 * table block trailer. Slicing-by-16: sixteen 256-entry tables fold sixteen
 * bytes per step, read as four little-endian words through a DataView (which
 * V8 compiles to plain loads). About 1.5 GB/s, so a pure-JS check of a few
 * hundred MB of tables at open takes a fraction of a second.
 */

// Reflected Castagnoli polynomial.
const POLY = 0x82f63b78;
const SLICES = 16;
// TABLES[k * 256 + b]: the CRC contribution of byte b followed by k zero bytes.
const TABLES = buildTables();

function buildTables(): Int32Array {
  const t = new Int32Array(SLICES * 256);
  for (let b = 0; b < 256; b++) {
    let c = b;
    for (let bit = 0; bit < 8; bit++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t[b] = c;
  }
  for (let k = 1; k < SLICES; k++) {
    for (let b = 0; b < 256; b++) {
      const prev = t[(k - 1) * 256 + b]!;
      t[k * 256 + b] = (prev >>> 8) ^ t[prev & 0xff]!;
    }
  }
  return t;
}

/**
 * The CRC-32C of `bytes[start, end)`, continuing from `crc` (the CRC of the
 * bytes before them, 0 to start afresh) as LevelDB's crc32c::Extend does.
 */
export function crc32c(bytes: Uint8Array, start = 0, end = bytes.length, crc = 0): number {
  const t = TABLES;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let c = ~crc;
  let i = start;
  // Byte at a time up to a multiple of 16 from the end, then 16 at a time.
  for (const head = start + ((end - start) & 15); i < head; i++) c = (c >>> 8) ^ t[(c ^ bytes[i]!) & 0xff]!;
  for (; i < end; i += 16) {
    const a = c ^ view.getInt32(i, true);
    const b = view.getInt32(i + 4, true);
    const d = view.getInt32(i + 8, true);
    const e = view.getInt32(i + 12, true);
    c =
      t[3840 + (a & 0xff)]! ^
      t[3584 + ((a >>> 8) & 0xff)]! ^
      t[3328 + ((a >>> 16) & 0xff)]! ^
      t[3072 + (a >>> 24)]! ^
      t[2816 + (b & 0xff)]! ^
      t[2560 + ((b >>> 8) & 0xff)]! ^
      t[2304 + ((b >>> 16) & 0xff)]! ^
      t[2048 + (b >>> 24)]! ^
      t[1792 + (d & 0xff)]! ^
      t[1536 + ((d >>> 8) & 0xff)]! ^
      t[1280 + ((d >>> 16) & 0xff)]! ^
      t[1024 + (d >>> 24)]! ^
      t[768 + (e & 0xff)]! ^
      t[512 + ((e >>> 8) & 0xff)]! ^
      t[256 + ((e >>> 16) & 0xff)]! ^
      t[e >>> 24]!;
  }
  return ~c >>> 0;
}

// LevelDB stores checksums masked: a CRC of data that itself holds CRCs would
// otherwise be prone to coincidences (util/crc32c.h).
const MASK_DELTA = 0xa282ead8;

export function maskedCrc(crc: number): number {
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + MASK_DELTA) >>> 0;
}

export function unmaskCrc(masked: number): number {
  const rot = (masked - MASK_DELTA) >>> 0;
  return ((rot >>> 17) | (rot << 15)) >>> 0;
}
