import { mkdir, readFile, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { StorageError, StoreLockedError } from '../../errors.ts';

/**
 * One store, one open, however its path is spelled. LevelDB's LOCK file is
 * an fcntl lock, which POSIX grants per process: a second open in the same
 * process is refused only by LevelDB's own table of path strings, so a
 * symlink, a trailing `/` or a relative path slipped past it. Stores are
 * claimed here by their real path before LevelDB sees them.
 */
const held = new Set<string>();

/** The real path of a store directory, made if `create` and missing. */
export async function canonicalPath(location: string, create: boolean): Promise<string> {
  if (create) await mkdir(location, { recursive: true });
  try {
    return await realpath(location);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return location; // nothing there: nothing to hold
    throw error;
  }
}

/** Claims `path` (a real path) for this process; throws StoreLockedError if it is already open here. */
export function claimPath(path: string, spelled: string): void {
  if (held.has(path)) {
    const alias = spelled === path ? '' : ` (real path ${path})`;
    throw new StoreLockedError(`store ${spelled}${alias} is already open in this process: a store is opened once, by one coordinator`);
  }
  held.add(path);
}

export function releasePath(path: string): void {
  held.delete(path);
}

/**
 * The real path of a store that no coordinator holds, in this process or
 * another: for tools that read or mend a closed store (`doing`: what they
 * are about to do, for the refusal).
 */
export async function closedStorePath(location: string, doing: string): Promise<string> {
  const path = await canonicalPath(location, false);
  const found = await stat(path).catch(() => null);
  if (found !== null && !found.isDirectory()) throw new StorageError(`no store at ${location}: not a directory`);
  if (held.has(path)) throw new StoreLockedError(`store ${location} is open in this process; close it before ${doing} it`);
  const holder = await lockHolder(path);
  if (typeof holder === 'number') throw heldElsewhere(location, holder);
  return path;
}

/**
 * The process holding LevelDB's lock on a store, read from /proc/locks
 * (Linux): null when none does, undefined when it cannot be told. Lets a
 * refusal name the holder, and lets read-only tools refuse a store in use
 * without taking (and so disturbing) its lock.
 */
export async function lockHolder(directory: string): Promise<number | null | undefined> {
  let file: { dev: bigint; ino: bigint };
  try {
    file = await stat(join(directory, 'LOCK'), { bigint: true });
  } catch {
    return null; // no LOCK file: never opened, so nobody holds it
  }
  let locks: string;
  try {
    locks = await readFile('/proc/locks', 'utf8');
  } catch {
    return undefined;
  }
  // glibc's dev_t: major in bits 8-19 and 32+, minor in bits 0-7 and 20+.
  const major = ((file.dev >> 8n) & 0xfffn) | ((file.dev >> 32n) & ~0xfffn);
  const minor = (file.dev & 0xffn) | ((file.dev >> 12n) & ~0xffn);
  // "1: POSIX  ADVISORY  WRITE 4242 08:01:1311 0 EOF": pid, then major:minor:inode in hex, hex, decimal.
  for (const line of locks.split('\n')) {
    const match = /^\d+:\s+POSIX\s+\S+\s+\S+\s+(\d+)\s+([0-9a-f]+):([0-9a-f]+):(\d+)\s/.exec(line);
    if (match === null || BigInt(match[4]!) !== file.ino) continue;
    if (BigInt(`0x${match[2]}`) === major && BigInt(`0x${match[3]}`) === minor) return Number(match[1]);
  }
  return null;
}

/** The refusal for a store another process holds. */
export function heldElsewhere(location: string, pid: number | null | undefined, cause?: unknown): StoreLockedError {
  const who = typeof pid === 'number' ? `process ${pid}` : 'another process';
  return new StoreLockedError(`store ${location} is held by ${who} (a running master, demo or serve): a store is open in one process at a time`, { cause });
}
