/**
 * A read-only check of a LevelDB directory's files, run before LevelDB opens
 * it. LevelDB as classic-level builds it opens damaged stores without a word
 * (no paranoid checks): it drops unreadable log records, makes a fresh store
 * over logs when CURRENT is gone, and reads tables without their checksums.
 * So the files are checked here first, the way DBImpl::Recover would read
 * them, and damage is reported by file and byte. Nothing is ever written.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FileProblem } from '../../../errors.ts';
import { scanLog } from './logFile.ts';
import { type LiveTable, logsToReplay, type ManifestState, readManifest } from './manifest.ts';
import { checkTable } from './table.ts';

export interface StoreFilesReport {
  /** 'none': the directory is missing or holds no LevelDB data, so creating a store there loses nothing. 'store': it holds one. */
  kind: 'none' | 'store';
  /** Damage: LevelDB must not be allowed to open this. */
  problems: FileProblem[];
  /** Incomplete records at the end of a log: what a crash leaves; informative. */
  tornTails: FileProblem[];
  tables: number;
  logs: number;
  bytesChecked: number;
  /** The version read and the directory's file names, when the files are whole: what a reader of the same store needs next. */
  live?: LiveVersion;
}

export interface LiveVersion {
  state: ManifestState;
  names: string[];
}

// LevelDB names files by number, zero-padded to at least 6 digits (db/filename.cc).
const numbered = (number: number, suffix: string) => `${String(number).padStart(6, '0')}.${suffix}`;
const LOG = /^(\d+)\.log$/;
const TABLE = /^(\d+)\.(ldb|sst)$/;
const MANIFEST = /^MANIFEST-(\d+)$/;
const CURRENT = /^MANIFEST-\d+\n$/;
// Tables are read a few at a time so reading one overlaps checking another.
const PARALLEL_READS = 4;

/** Checks the LevelDB files in `directory` without changing anything. */
export async function checkStoreFiles(directory: string): Promise<StoreFilesReport> {
  const report: StoreFilesReport = { kind: 'store', problems: [], tornTails: [], tables: 0, logs: 0, bytesChecked: 0 };
  let names: string[];
  try {
    names = await readdir(directory);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { ...report, kind: 'none' };
    throw error;
  }
  if (names.length === 0) return { ...report, kind: 'none' };
  const present = new Set(names);

  const problem = (file: string, reason: string, offset?: number): void => {
    report.problems.push(offset === undefined ? { file, reason } : { file, offset, reason });
  };
  // Reads a whole file; an unreadable one is a problem, not a throw.
  const read = async (file: string): Promise<Uint8Array | undefined> => {
    try {
      const bytes = await readFile(join(directory, file));
      report.bytesChecked += bytes.length;
      return bytes;
    } catch (error) {
      problem(file, `cannot be read (${(error as Error).message})`);
      return undefined;
    }
  };

  if (!present.has('CURRENT')) return await withoutCurrent(directory, names, report);

  const current = await read('CURRENT');
  if (!current) return report;
  const text = new TextDecoder().decode(current);
  if (!CURRENT.test(text)) {
    problem('CURRENT', `should name the MANIFEST as MANIFEST-<number> and a newline, but holds ${JSON.stringify(text.slice(0, 60))}`);
    return report;
  }
  const manifestName = text.slice(0, -1);
  if (!present.has(manifestName)) {
    problem(manifestName, 'missing, though CURRENT names it');
    return report;
  }
  const manifestBytes = await read(manifestName);
  if (!manifestBytes) return report;
  const manifest = readManifest(manifestBytes);
  for (const p of manifest.problems) problem(manifestName, p.reason, p.offset);
  if (manifest.tornTail) report.tornTails.push({ file: manifestName, ...manifest.tornTail });
  // A refused MANIFEST may name files since deleted: checking them would only mislead.
  if (manifest.problems.length > 0) return report;
  const { state } = manifest;

  // Every live table, as TableCache finds it: NNNNNN.ldb, else NNNNNN.sst.
  const tables = [...state.tables];
  const checkOne = async (table: LiveTable): Promise<void> => {
    const name = [numbered(table.number, 'ldb'), numbered(table.number, 'sst')].find((n) => present.has(n));
    if (!name) {
      problem(numbered(table.number, 'ldb'), `missing, though ${manifestName} lists it as a live table at level ${table.level}`);
      return;
    }
    const bytes = await read(name);
    if (!bytes) return;
    report.tables++;
    for (const p of checkTable(bytes, table.size).problems) problem(name, p.reason, p.offset);
  };
  await Promise.all(
    Array.from({ length: PARALLEL_READS }, async () => {
      for (let table = tables.shift(); table; table = tables.shift()) await checkOne(table);
    }),
  );

  // Every log DBImpl::Recover replays; a missing one it does not miss.
  const logs = logsToReplay(names, state);
  // Except one case: LevelDB creates the log a version names before recording
  // it, and deletes a log only once a synced edit has retired it. So the
  // version's own log gone while a newer log exists means that retiring edit
  // existed and is lost (a MANIFEST cut back), and with it what it recorded.
  const ownLog = numbered(state.logNumber, 'log');
  const newer = logs.find(({ number }) => number > state.logNumber);
  if (state.logNumber !== 0 && !present.has(ownLog) && newer) {
    problem(ownLog, `missing, though ${manifestName} names it as the live log and the newer ${newer.name} exists: the edit that retired it is lost from ${manifestName}`);
  }
  for (const { name } of logs) {
    const bytes = await read(name);
    if (!bytes) continue;
    report.logs++;
    const scan = scanLog(bytes, { records: false });
    if (scan.damage) problem(name, scan.damage.reason, scan.damage.offset);
    if (scan.tornTail) report.tornTails.push({ file: name, offset: scan.tornTail.offset, reason: scan.tornTail.reason });
  }

  report.problems.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : (a.offset ?? 0) - (b.offset ?? 0)));
  if (report.problems.length === 0) report.live = { state, names };
  return report;
}

/**
 * No CURRENT. LevelDB would make a fresh store here and replay whatever logs
 * it finds into it, abandoning every table; that is only harmless when
 * nothing here holds data: LOCK, info logs, an empty log, a MANIFEST from an
 * interrupted creation, our own BUILDCOORD-* files.
 */
async function withoutCurrent(directory: string, names: string[], report: StoreFilesReport): Promise<StoreFilesReport> {
  const evidence: string[] = [];
  const present = new Set(names);
  for (const name of [...names].sort()) {
    if (TABLE.test(name)) {
      evidence.push(name);
    } else if (LOG.test(name)) {
      const bytes = await readSafely(join(directory, name));
      report.bytesChecked += bytes?.length ?? 0;
      if (bytes === undefined || bytes.length > 0) evidence.push(name);
    } else if (MANIFEST.test(name)) {
      const bytes = await readSafely(join(directory, name));
      report.bytesChecked += bytes?.length ?? 0;
      if (bytes === undefined) {
        evidence.push(name);
        continue;
      }
      const { state, problems } = readManifest(bytes);
      const logs = [state.logNumber, state.prevLogNumber].filter((n) => n !== 0 && present.has(numbered(n, 'log')));
      // A descriptor we cannot read may describe anything; a fresh one describes nothing.
      const damaged = problems.some((p) => p.offset !== undefined);
      if (damaged || state.tables.length > 0 || logs.length > 0) evidence.push(name);
    }
  }
  if (evidence.length === 0) return { ...report, kind: 'none' };
  const named = evidence.slice(0, 4).join(', ') + (evidence.length > 4 ? `, and ${evidence.length - 4} more` : '');
  report.problems.push({ file: 'CURRENT', reason: `missing, though the directory holds a LevelDB store (${named})` });
  return report;
}

async function readSafely(path: string): Promise<Uint8Array | undefined> {
  try {
    return await readFile(path);
  } catch {
    return undefined;
  }
}
