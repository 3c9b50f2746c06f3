import { StoreDamagedError } from '../../errors.ts';
import type { FileProblem } from '../../errors.ts';
import { CommitMark } from './commitMark.ts';
import type { MarkReading } from './commitMark.ts';
import { decodeStored } from '../codec.ts';
import { newestValue } from './files/newestValue.ts';
import { checkStoreFiles } from './files/storeFiles.ts';
import { COMMIT_KEY } from '../keys.ts';

export interface OpenCheck {
  /** 'none': nothing there yet, so a new store may be made; 'store': a store to open. */
  kind: 'none' | 'store';
  mark: MarkReading;
  /** The numbers of the table files checked. */
  tables: number[];
}

/**
 * What is checked before LevelDB may touch a directory, since LevelDB's own
 * recovery rewrites the store and drops whatever it cannot read: every
 * file the store needs is there and whole (CURRENT, MANIFEST, each table,
 * each checksum), the write-ahead log is damaged nowhere but in a crash's
 * torn tail, the commit mark is whole, and the newest commit the files hold
 * is not older than the mark. Throws StoreDamagedError, changing nothing.
 */
export async function checkBeforeOpen(directory: string, location: string): Promise<OpenCheck> {
  const files = await checkStoreFiles(directory);
  if (files.problems.length > 0) throw new StoreDamagedError(location, files.problems);
  const mark = await CommitMark.read(directory);
  if (mark.state === 'damaged') throw new StoreDamagedError(location, [{ file: CommitMark.FILE, reason: `${mark.reason}; acknowledged writes could not be checked` }]);
  if (files.kind === 'none') {
    if (mark.state === 'ok' && mark.sequence > 0) {
      throw new StoreDamagedError(location, [{ file: 'CURRENT', reason: `the store's files are gone, but its commit mark says ${mark.sequence} writes were acknowledged` }]);
    }
    return { kind: 'none', mark, tables: [] };
  }
  const live = files.live!; // whole files, so the version was read
  const newest = await newestValue(directory, COMMIT_KEY, live);
  const sequence = newest?.value == null ? 0 : decodeStored<number>(COMMIT_KEY, newest.value);
  const problem = markProblem(sequence, mark, newest === null ? 'the store' : newest.file);
  if (problem !== null) throw new StoreDamagedError(location, [problem]);
  return { kind: 'store', mark, tables: live.state.tables.map((table) => table.number) };
}

/**
 * Once LevelDB has opened the store, its newest commit against the mark
 * again: what LevelDB read should be what the files were found to hold.
 */
export function checkMarkAfterOpen(location: string, sequence: number, mark: MarkReading): void {
  const problem = markProblem(sequence, mark, 'the store');
  if (problem !== null) throw new StoreDamagedError(location, [problem]);
}

function markProblem(sequence: number, mark: MarkReading, holder: string): FileProblem | null {
  if (mark.state === 'missing' && sequence > 0) {
    return { file: CommitMark.FILE, reason: `missing, though ${holder} holds ${sequence} commits; lost acknowledged writes could not be detected` };
  }
  if (mark.state === 'ok' && sequence < mark.sequence) {
    return {
      file: CommitMark.FILE,
      reason: `${holder} holds commit ${sequence}, but commit ${mark.sequence} was acknowledged: the store has lost acknowledged writes (its write-ahead log was damaged or truncated)`,
    };
  }
  return null;
}
