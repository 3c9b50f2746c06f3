/**
 * Reading a MANIFEST (LevelDB's descriptor): log-format records, each a
 * VersionEdit (db/version_edit.cc), applied in order to the empty version as
 * VersionSet::Recover does, giving the live table files and the numbers that
 * decide which write-ahead logs LevelDB replays.
 *
 * What is refused mirrors Recover: its log reader runs with checksums on and
 * any reported corruption fails the open, even in the last record; a record
 * cut off at the end of the file reads as the end of the file (a descriptor
 * write that never finished, whose edit never took effect), so that alone is
 * only a torn tail.
 */
import { scanLog } from './logFile.ts';
import { ByteReader, FormatError } from './varint.ts';

/** LevelDB's config::kNumLevels. */
export const LEVELS = 7;
/** The comparator classic-level opens every store with. */
export const BYTEWISE_COMPARATOR = 'leveldb.BytewiseComparator';

export interface LiveTable {
  level: number;
  number: number;
  size: number;
}

export interface VersionEdit {
  comparator?: string;
  logNumber?: number;
  prevLogNumber?: number;
  nextFileNumber?: number;
  lastSequence?: number;
  deleted: { level: number; number: number }[];
  added: LiveTable[];
}

export interface ManifestState {
  tables: LiveTable[];
  logNumber: number;
  prevLogNumber: number;
  nextFileNumber: number;
  lastSequence: number;
}

export interface ManifestProblem {
  offset?: number;
  reason: string;
}

export interface ManifestScan {
  /** The live version from every edit that could be read; complete only when there are no problems. */
  state: ManifestState;
  /** Anything that makes VersionSet::Recover refuse the MANIFEST. */
  problems: ManifestProblem[];
  /** A last record cut off, which Recover reads as the end of the file. */
  tornTail?: ManifestProblem;
  /** VersionEdits read. */
  edits: number;
}

const TAG_COMPARATOR = 1;
const TAG_LOG_NUMBER = 2;
const TAG_NEXT_FILE_NUMBER = 3;
const TAG_LAST_SEQUENCE = 4;
const TAG_COMPACT_POINTER = 5;
const TAG_DELETED_FILE = 6;
const TAG_NEW_FILE = 7;
const TAG_PREV_LOG_NUMBER = 9;

/** Decodes one VersionEdit record; throws a FormatError (position within the record) as VersionEdit::DecodeFrom fails. */
export function decodeVersionEdit(record: Uint8Array): VersionEdit {
  const edit: VersionEdit = { deleted: [], added: [] };
  const r = new ByteReader(record);
  const level = (what: string): number => {
    const at = r.pos;
    const value = r.varint32(what);
    if (value >= LEVELS) throw new FormatError(`${what}: level ${value} is not below ${LEVELS}`, at);
    return value;
  };
  // InternalKey::DecodeFrom refuses only an empty key.
  const internalKey = (what: string): void => {
    const at = r.pos;
    if (r.lengthPrefixed(what).length === 0) throw new FormatError(`${what}: empty key`, at);
  };
  while (!r.done) {
    const at = r.pos;
    const tag = r.varint32('tag');
    switch (tag) {
      case TAG_COMPARATOR:
        edit.comparator = new TextDecoder().decode(r.lengthPrefixed('comparator name'));
        break;
      case TAG_LOG_NUMBER:
        edit.logNumber = r.varint64('log number');
        break;
      case TAG_PREV_LOG_NUMBER:
        edit.prevLogNumber = r.varint64('previous log number');
        break;
      case TAG_NEXT_FILE_NUMBER:
        edit.nextFileNumber = r.varint64('next file number');
        break;
      case TAG_LAST_SEQUENCE:
        edit.lastSequence = r.varint64('last sequence number');
        break;
      case TAG_COMPACT_POINTER:
        level('compaction pointer');
        internalKey('compaction pointer');
        break;
      case TAG_DELETED_FILE:
        edit.deleted.push({ level: level('deleted file'), number: r.varint64('deleted file') });
        break;
      case TAG_NEW_FILE: {
        const table = { level: level('new-file entry'), number: r.varint64('new-file entry'), size: r.varint64('new-file entry') };
        internalKey('new-file entry smallest key');
        internalKey('new-file entry largest key');
        edit.added.push(table);
        break;
      }
      default:
        throw new FormatError(`unknown tag ${tag}`, at);
    }
  }
  return edit;
}

/** Reads a MANIFEST's bytes into the live version and whatever would make LevelDB refuse it. */
export function readManifest(bytes: Uint8Array): ManifestScan {
  const scan = scanLog(bytes, { records: true });
  const problems: ManifestProblem[] = [];
  if (scan.damage) problems.push(scan.damage);
  // Recover's reporter fails on any corruption its reader reports, the last record's included.
  if (scan.tornTail?.reportedByLevelDb) problems.push({ offset: scan.tornTail.offset, reason: scan.tornTail.reason });

  // Builder::Apply keeps, per level, the files added and not deleted since.
  const levels = Array.from({ length: LEVELS }, () => new Map<number, LiveTable>());
  let logNumber: number | undefined;
  let prevLogNumber: number | undefined;
  let nextFileNumber: number | undefined;
  let lastSequence: number | undefined;
  let edits = 0;
  for (const record of scan.records) {
    let edit: VersionEdit;
    try {
      edit = decodeVersionEdit(record.data);
    } catch (error) {
      if (!(error instanceof FormatError)) throw error;
      problems.push({ offset: record.offset, reason: `undecodable VersionEdit (${error.message}, at its byte ${error.at})` });
      break;
    }
    if (edit.comparator !== undefined && edit.comparator !== BYTEWISE_COMPARATOR) {
      problems.push({ offset: record.offset, reason: `comparator ${JSON.stringify(edit.comparator)} is not ${BYTEWISE_COMPARATOR}` });
      break;
    }
    edits++;
    // Within one edit, deletions apply before additions.
    for (const { level, number } of edit.deleted) levels[level]!.delete(number);
    for (const table of edit.added) levels[table.level]!.set(table.number, table);
    logNumber = edit.logNumber ?? logNumber;
    prevLogNumber = edit.prevLogNumber ?? prevLogNumber;
    nextFileNumber = edit.nextFileNumber ?? nextFileNumber;
    lastSequence = edit.lastSequence ?? lastSequence;
  }
  if (problems.length === 0) {
    const missing = [
      nextFileNumber === undefined && 'no next-file-number entry',
      logNumber === undefined && 'no log-number entry',
      lastSequence === undefined && 'no last-sequence-number entry',
    ].filter((m): m is string => typeof m === 'string');
    if (missing.length > 0) problems.push({ reason: `${missing.join(', ')} in ${edits} edits` });
  }

  const state: ManifestState = {
    tables: levels.flatMap((files) => [...files.values()]),
    logNumber: logNumber ?? 0,
    prevLogNumber: prevLogNumber ?? 0,
    nextFileNumber: nextFileNumber ?? 0,
    lastSequence: lastSequence ?? 0,
  };
  const result: ManifestScan = { state, problems, edits };
  if (scan.tornTail && !scan.tornTail.reportedByLevelDb) result.tornTail = { offset: scan.tornTail.offset, reason: scan.tornTail.reason };
  return result;
}

/** The write-ahead logs DBImpl::Recover replays for a version, oldest first, from a directory's file names. */
export function logsToReplay(names: readonly string[], state: ManifestState): { name: string; number: number }[] {
  return names
    .map((name) => ({ name, number: Number(/^(\d+)\.log$/.exec(name)?.[1] ?? NaN) }))
    .filter(({ number }) => number >= state.logNumber || (state.prevLogNumber !== 0 && number === state.prevLogNumber))
    .sort((a, b) => a.number - b.number);
}
