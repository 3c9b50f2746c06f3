// Real LevelDB stores (made by classic-level) and hand-made log files for the file-check tests.
import { createHash, randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { crc32c, maskedCrc } from '../../../../src/persistence/leveldb/files/crc32c.ts';
import { LOG_BLOCK_SIZE, LOG_HEADER_SIZE } from '../../../../src/persistence/leveldb/files/logFile.ts';

/** A temp directory for one test file's stores; removes itself when `cleanup` runs. */
export function scratch(prefix: string): { root: string; cleanup: () => void; fresh: (name?: string) => string } {
  const root = mkdtempSync(join(tmpdir(), `buildcoord-files-${prefix}-`));
  let made = 0;
  return {
    root,
    cleanup: () => rmSync(root, { recursive: true, force: true }),
    fresh: (name = 'dir') => join(root, `${name}-${++made}`),
  };
}

export interface StoreSpec {
  /** Batches to write; each holds 1..8 puts of mixed values. */
  batches: number;
  writeBufferSize?: number;
  /** compactRange over everything once the batches are written. */
  compact?: boolean;
  /** Puts written after the compaction, so they are only in the log. */
  tail?: number;
  seed?: number;
}

export interface Store {
  dir: string;
  /** The newest value of every key written. */
  written: Map<string, Uint8Array>;
}

// A small deterministic generator, so a failing offset can be reproduced.
export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

const random = randomBytes(1 << 20);

/** Values of mixed sizes: text that snappy compresses, random bytes it cannot, a few bigger than a log block. */
function value(next: () => number): Uint8Array {
  const size = next() < 0.05 ? 40_000 + Math.floor(next() * 30_000) : 20 + Math.floor(next() * 2000);
  if (next() < 0.3) return Buffer.from(`build ${Math.floor(next() * 1000)} of step compile; `.repeat(Math.ceil(size / 30))).subarray(0, size);
  const at = Math.floor(next() * (random.length - size));
  return random.subarray(at, at + size);
}

/** Makes a real store with classic-level as `spec` says and closes it. */
export async function makeStore(dir: string, spec: StoreSpec): Promise<Store> {
  const next = rng(spec.seed ?? 1);
  const written = new Map<string, Uint8Array>();
  const db = new ClassicLevel<string, Uint8Array>(dir, { keyEncoding: 'utf8', valueEncoding: 'view', writeBufferSize: spec.writeBufferSize ?? 4 << 20 });
  await db.open();
  for (let b = 0; b < spec.batches; b++) {
    const batch = db.batch();
    const puts = 1 + Math.floor(next() * 8);
    for (let p = 0; p < puts; p++) {
      const key = `key-${String(Math.floor(next() * spec.batches * 40)).padStart(8, '0')}`;
      const v = value(next);
      batch.put(key, v);
      written.set(key, v);
    }
    await batch.write();
  }
  if (spec.compact) await db.compactRange('\x00', '\xff');
  for (let i = 0; i < (spec.tail ?? 0); i++) {
    const key = `tail-${String(i).padStart(6, '0')}`;
    const v = value(next);
    await db.put(key, v);
    written.set(key, v);
  }
  await db.close();
  return { dir, written };
}

export function copyStore(from: string, to: string): string {
  cpSync(from, to, { recursive: true });
  return to;
}

export const filesOf = (dir: string, test: (name: string) => boolean): string[] => readdirSync(dir).filter(test).sort();
export const sizeOf = (path: string): number => statSync(path).size;

/** Flips every bit of the byte at `offset` of the file. */
export function flipFile(path: string, offset: number): void {
  const bytes = readFileSync(path);
  bytes[offset]! ^= 0xff;
  writeFileSync(path, bytes);
}

export function flipped(bytes: Uint8Array, offset: number): Uint8Array {
  const copy = Uint8Array.from(bytes);
  copy[offset]! ^= 0xff;
  return copy;
}

/** Every file's name and SHA-256, to show a check changed nothing. */
export function fingerprint(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir).sort())
    out[name] = createHash('sha256')
      .update(readFileSync(join(dir, name)))
      .digest('hex');
  return out;
}

export const FULL = 1;
export const FIRST = 2;
export const MIDDLE = 3;
export const LAST = 4;

/** One physical record: header (masked crc32c of type + payload, length, type) and payload. */
export function physical(type: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(LOG_HEADER_SIZE + payload.length);
  out[6] = type;
  out.set(payload, LOG_HEADER_SIZE);
  new DataView(out.buffer).setUint32(0, maskedCrc(crc32c(out, 6)), true);
  out[4] = payload.length & 0xff;
  out[5] = payload.length >>> 8;
  return out;
}

/** A log file as LevelDB's log::Writer lays the records out (fragments, block padding). */
export function writeLog(records: Uint8Array[]): Uint8Array {
  const parts: Uint8Array[] = [];
  let size = 0;
  let blockOffset = 0;
  const emit = (bytes: Uint8Array) => {
    parts.push(bytes);
    size += bytes.length;
    blockOffset = size % LOG_BLOCK_SIZE;
  };
  for (const record of records) {
    let left = record.length;
    let at = 0;
    let begin = true;
    do {
      const leftover = LOG_BLOCK_SIZE - blockOffset;
      if (leftover < LOG_HEADER_SIZE) emit(new Uint8Array(leftover));
      const avail = LOG_BLOCK_SIZE - blockOffset - LOG_HEADER_SIZE;
      const length = Math.min(left, avail);
      const end = length === left;
      const type = begin && end ? FULL : begin ? FIRST : end ? LAST : MIDDLE;
      emit(physical(type, record.subarray(at, at + length)));
      at += length;
      left -= length;
      begin = false;
    } while (left > 0);
  }
  const out = new Uint8Array(size);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export const text = (s: string): Uint8Array => new TextEncoder().encode(s);
