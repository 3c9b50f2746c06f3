/**
 * Scanning a file in LevelDB's log format (the write-ahead *.log files and
 * MANIFEST-* files; doc/log_format.md): 32 KiB blocks of physical records,
 * each a 7-byte header (masked crc32c, uint16 length, type) and payload.
 *
 * LevelDB's own reader (db/log_reader.cc) drops what it cannot read and,
 * without paranoid checks, carries on silently. This scanner finds the same
 * trouble and tells apart two kinds of it:
 *
 * - damage: trouble followed later by the start of a valid record (FULL or
 *   FIRST). Its writer finished the broken record and went on, so the bytes
 *   were whole once and something broke them since: LevelDB would silently
 *   lose a record from the middle of the history.
 * - a torn tail: trouble after which no record starts. A writer that died
 *   mid-append leaves exactly this, and losing the unfinished end is what a
 *   crash means; the commit mark guards writes that were acknowledged.
 *
 * Continuation fragments (MIDDLE, LAST) after the trouble do not make it
 * damage: they may be the rest of the very record that broke, and losing the
 * last record whole is still only a lost tail.
 *
 * Trouble includes bytes LevelDB skips without a word but its writer never
 * leaves behind a record: non-zero block padding, a zero header. Zeros that
 * run to the end of the file are a torn tail (a crash on some filesystems
 * leaves them); zeros with a record after them are damage.
 */
import { crc32c, unmaskCrc } from './crc32c.ts';
import { fixed32 } from './varint.ts';

export const LOG_BLOCK_SIZE = 32 * 1024;
export const LOG_HEADER_SIZE = 7;

const FULL = 1;
const FIRST = 2;
const MIDDLE = 3;
const LAST = 4;
const TYPE_NAMES = ['zero', 'FULL', 'FIRST', 'MIDDLE', 'LAST'];

export interface LogRecord {
  /** File offset of the header of the record's first physical record. */
  offset: number;
  data: Uint8Array;
}

export interface LogTrouble {
  offset: number;
  reason: string;
}

export interface LogTornTail extends LogTrouble {
  /**
   * True when LevelDB's reader reports this tail as corruption (a checksum
   * mismatch in the last record, say), which makes VersionSet::Recover refuse
   * a MANIFEST; false when it reads it as a plain end of file (a record cut
   * off, a header cut off, a fragmented record with no LAST, zero bytes).
   */
  reportedByLevelDb: boolean;
}

export interface LogScan {
  /** The logical records LevelDB would deliver, in order (empty when not asked for). */
  records: LogRecord[];
  /** The first damage (see above), if any. */
  damage?: LogTrouble;
  /** Where the torn tail begins: the start of the first record lost to it. */
  tornTail?: LogTornTail;
}

interface Pending {
  offset: number;
  reason: string;
  reported: boolean;
  /** Start of the first logical record the trouble loses. */
  lostFrom: number;
}

/** Scans a log-format file; `records: false` skips collecting the logical records (a plain check). */
export function scanLog(bytes: Uint8Array, options: { records?: boolean } = {}): LogScan {
  const keep = options.records ?? true;
  const n = bytes.length;
  const records: LogRecord[] = [];
  let damage: LogTrouble | undefined;
  let pending: Pending | undefined;
  // The fragmented record being assembled, if any.
  let fragStart = -1;
  let fragBytes = 0;
  let parts: Uint8Array[] = [];
  // After trouble, until the next record starts: its leftover fragments are skipped.
  let lost = false;

  const trouble = (offset: number, reason: string, reported: boolean): void => {
    if (pending) pending.reported ||= reported;
    else pending = { offset, reason, reported, lostFrom: fragStart >= 0 ? fragStart : offset };
    fragStart = -1;
    parts = [];
    lost = true;
  };
  // A valid record starts here: any pending trouble was in the middle of the log.
  const recordStarts = (at: number): void => {
    if (pending && !damage) {
      damage = { offset: pending.offset, reason: `${pending.reason}; LevelDB would silently drop it and read on from byte ${at}` };
    }
    pending = undefined;
    lost = false;
  };

  // Memo for runs of zero bytes, so long zero regions are walked once.
  let memoFrom = -1;
  let memoNonZero = -1;
  const firstNonZero = (from: number): number => {
    if (memoFrom >= 0 && from >= memoFrom && from <= memoNonZero) return memoNonZero;
    let i = from;
    while (i < n && bytes[i] === 0) i++;
    memoFrom = from;
    memoNonZero = i;
    return i;
  };

  const validAt = (q: number, end: number, blockLimit: number): boolean => {
    const type = bytes[q + 6]!;
    if (type < FULL || type > LAST) return false;
    const stop = q + LOG_HEADER_SIZE + (bytes[q + 4]! | (bytes[q + 5]! << 8));
    if (stop > end) return false;
    // The writer ends a FIRST or MIDDLE fragment exactly at its block's end.
    if ((type === FIRST || type === MIDDLE) && stop !== blockLimit) return false;
    return crc32c(bytes, q + 6, stop) === unmaskCrc(fixed32(bytes, q));
  };
  // After a bad record, where in its block the next valid one starts (LevelDB
  // itself gives up on the block: "length" may be what broke). A chance match
  // needs the right type, a fitting length and a 32-bit checksum.
  const resync = (from: number, end: number, blockLimit: number): number => {
    for (let q = from + LOG_HEADER_SIZE; q + LOG_HEADER_SIZE <= end; q++) if (validAt(q, end, blockLimit)) return q;
    return blockLimit;
  };

  let pos = 0;
  while (pos < n) {
    const blockLimit = (Math.floor(pos / LOG_BLOCK_SIZE) + 1) * LOG_BLOCK_SIZE;
    const end = Math.min(blockLimit, n);
    const inFragment = fragStart >= 0;
    if (blockLimit - pos < LOG_HEADER_SIZE) {
      // A block's last few bytes, too few for a header: the writer zero-pads them.
      const nonZero = firstNonZero(pos);
      if (nonZero < end) trouble(nonZero, 'non-zero bytes in the padding at the end of a block', false);
      pos = blockLimit;
      continue;
    }
    if (n - pos < LOG_HEADER_SIZE) {
      // LevelDB: a header cut off at the end of the file is the end of the file.
      const what = firstNonZero(pos) >= n ? `${n - pos} zero bytes at the end of the file` : 'record header cut off at the end of the file';
      trouble(pos, what, false);
      break;
    }
    const length = bytes[pos + 4]! | (bytes[pos + 5]! << 8);
    const type = bytes[pos + 6]!;
    if (type === 0 && length === 0) {
      // LevelDB skips the rest of the block without a word: its old mmap
      // writer preallocated zeros beyond the data. That leaves zeros only at
      // the end of a file, and LevelDB 1.20 as classic-level builds it never
      // writes them; zeros with records after them mean records were wiped.
      const nonZero = firstNonZero(pos);
      if (nonZero >= n) {
        trouble(pos, `${n - pos} zero bytes at the end of the file`, inFragment);
        break;
      }
      if (nonZero >= end) {
        trouble(pos, 'zero bytes to the end of the block (LevelDB skips them)', inFragment);
        pos = blockLimit;
        continue;
      }
      trouble(pos, 'zeroed record header (LevelDB skips the rest of the block)', inFragment);
      pos = resync(pos, end, blockLimit);
      continue;
    }
    const stop = pos + LOG_HEADER_SIZE + length;
    if (stop > end) {
      // LevelDB reads a record cut short by the end of the file as the end of
      // the file, but reports one overrunning a whole block.
      if (blockLimit > n) trouble(pos, `record of ${length} bytes runs past the end of the file`, false);
      else trouble(pos, `bad record length ${length}: only ${end - pos - LOG_HEADER_SIZE} bytes left in the block`, true);
      pos = resync(pos, end, blockLimit);
      continue;
    }
    if (crc32c(bytes, pos + 6, stop) !== unmaskCrc(fixed32(bytes, pos))) {
      trouble(pos, 'checksum mismatch', true);
      pos = resync(pos, end, blockLimit);
      continue;
    }
    if (type < FULL || type > LAST) {
      trouble(pos, `unknown record type ${type}`, true);
      pos = stop;
      continue;
    }
    const payload = bytes.subarray(pos + LOG_HEADER_SIZE, stop);
    if (type === FULL || type === FIRST) {
      // An empty FIRST left open is an old writer's quirk that LevelDB accepts.
      if (inFragment && fragBytes > 0) {
        trouble(pos, `${TYPE_NAMES[type]} record while the record begun at byte ${fragStart} still lacks its end`, true);
      }
      recordStarts(pos);
      if (type === FULL) {
        if (keep) records.push({ offset: pos, data: payload });
        fragStart = -1;
      } else {
        fragStart = pos;
        fragBytes = length;
        parts = keep ? [payload] : [];
      }
    } else if (inFragment) {
      fragBytes += length;
      if (keep) parts.push(payload);
      if (type === LAST) {
        if (keep) records.push({ offset: fragStart, data: concat(parts, fragBytes) });
        fragStart = -1;
        parts = [];
      }
    } else if (!lost) {
      trouble(pos, `${TYPE_NAMES[type]} fragment without the FIRST fragment of its record`, true);
    }
    pos = stop;
  }
  if (fragStart >= 0) trouble(fragStart, 'the record begun here has no LAST fragment before the end of the file', false);

  const scan: LogScan = { records };
  if (damage) scan.damage = damage;
  if (pending) {
    const p: Pending = pending;
    const spot = p.offset === p.lostFrom ? '' : ` at byte ${p.offset}, inside the record that begins here`;
    scan.tornTail = { offset: p.lostFrom, reason: `${p.reason}${spot}; nothing valid follows`, reportedByLevelDb: p.reported };
  }
  return scan;
}

function concat(parts: Uint8Array[], length: number): Uint8Array {
  const out = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
