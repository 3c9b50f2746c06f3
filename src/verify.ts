import type { ActorKind } from './actors/hosted.ts';
import * as model from './connector/model.ts';
import type { FileProblem } from './errors.ts';
import { problemPlace } from './errors.ts';
import type { Backend } from './persistence/backend.ts';
import { prefixRange } from './persistence/backend.ts';
import { decode } from './persistence/codec.ts';
import { counterKey, idOfKey, INDEXES, indexOfKey, inLayout, recordKey, recordPrefix } from './persistence/keys.ts';
import type { RecordKind } from './persistence/records.ts';
import { isShared } from './persistence/shared/contract.ts';
import { readClosedStore } from './persistence/stores.ts';

/** One thing wrong with a store: at a key, or in a file (at a byte offset, where one can be named). */
export interface Problem {
  /** The store key where it was found; for damage to the files, the file and offset as text. */
  key: string;
  problem: string;
  file?: string;
  offset?: number;
}

export interface VerifyReport {
  ok: boolean;
  records: number;
  indexEntries: number;
  problems: Problem[];
}

const CHUNK = 1024;

/** Every record kind of the schema: what model.ts exports that has a name and index entries. */
function schemaKinds(): RecordKind<unknown>[] {
  return Object.values(model).filter(
    (value): value is RecordKind<unknown> => typeof value === 'object' && value !== null && 'name' in value && typeof (value as RecordKind<unknown>).indexes === 'function',
  );
}

/**
 * Checks a store directory and changes nothing in it, byte for byte. First
 * its files: every table's checksums, the write-ahead log (damage anywhere
 * but a crash's torn tail), CURRENT and MANIFEST, and the commit mark
 * against the newest commit. Then, if the files are whole, its contents,
 * read through a scratch copy: every record decodes (and every actor
 * snapshot is a state of its machine), every index entry is one its record
 * makes and every entry a record makes is there, and every id counter is at
 * least the largest id of its kind. The store must not be open elsewhere.
 *
 * A PostgreSQL URL names a shared store: its contents are checked the same
 * way, on one snapshot, while masters in any process write on, and its id
 * sequences stand for the counters. (Its files are the server's to keep.)
 */
export async function verify(location: string): Promise<VerifyReport> {
  return readClosedStore(location, verifyBackend, damaged);
}

/** The report on a store whose files are damaged: its records are not read, since LevelDB would drop or misread them. */
function damaged(problems: readonly FileProblem[]): VerifyReport {
  return {
    ok: false,
    records: 0,
    indexEntries: 0,
    problems: problems.map((p) => ({ key: problemPlace(p), problem: p.reason, file: p.file, ...(p.offset === undefined ? {} : { offset: p.offset }) })),
  };
}

/** What the checks read: a backend, or a snapshot of a shared one. */
type StoreView = Pick<Backend, 'get' | 'getMany' | 'entries'>;

/** The last id handed out for a kind, from its counter key (a store of our own). */
const counterOf = (backend: StoreView, problems: Problem[]) => async (kind: string) => {
  const bytes = await backend.get(counterKey(kind));
  return bytes === undefined ? 0 : decodeOrReport(counterKey(kind), bytes, problems);
};

/**
 * The same checks on an open backend; on a shared one, on one snapshot of
 * it (masters may be writing), with ids checked against the store's sequences.
 */
export async function verifyBackend(backend: Backend): Promise<VerifyReport> {
  if (isShared(backend)) return backend.readSnapshot((view) => verifyView(view, () => (kind) => view.lastId(kind)));
  return verifyView(backend, (problems) => counterOf(backend, problems));
}

async function verifyView(backend: StoreView, counters: (problems: Problem[]) => (kind: string) => Promise<unknown>): Promise<VerifyReport> {
  const kinds = schemaKinds();
  const byName = new Map(kinds.map((kind) => [kind.name, kind]));
  const problems: Problem[] = [];
  const lastId = counters(problems);
  let records = 0;

  // Records, their own index entries, and the counters.
  for (const kind of kinds) {
    let largest = 0;
    for await (const [key, bytes] of chunks(backend, recordPrefix(kind.name))) {
      records++;
      const record = decodeOrReport(key, bytes, problems);
      if (record === undefined) continue;
      largest = Math.max(largest, idOfKey(key));
      const machineProblem = checkMachine(kind, record);
      if (machineProblem !== null) problems.push({ key, problem: machineProblem });
      const expected = safeIndexes(kind, record);
      if (expected === null) {
        problems.push({ key, problem: 'record has the wrong shape for its kind' });
        continue;
      }
      const found = await backend.getMany(expected);
      expected.forEach((indexKey, i) => {
        if (found[i] === undefined) problems.push({ key: indexKey, problem: `index entry missing for ${key}` });
      });
    }
    if (kind.keyedBy !== undefined) continue; // its ids are another kind's
    const counter = await lastId(kind.name);
    if (typeof counter !== 'number' || !Number.isSafeInteger(counter) || counter < largest) {
      problems.push({ key: counterKey(kind.name), problem: `id counter ${String(counter)} is below the largest id in use, ${largest}` });
    }
  }

  // Every index entry must be one its record makes.
  let indexEntries = 0;
  for await (const [key] of chunks(backend, INDEXES)) {
    indexEntries++;
    const kindName = indexOfKey(key).split('.')[0]!;
    const kind = byName.get(kindName);
    if (kind === undefined) {
      problems.push({ key, problem: `index entry of unknown kind ${JSON.stringify(kindName)}` });
      continue;
    }
    const recordBytes = await backend.get(recordKey(kind.name, idOfKey(key)));
    const record = recordBytes === undefined ? undefined : tryDecode(recordBytes);
    if (record === undefined || !(safeIndexes(kind, record) ?? []).includes(key)) {
      problems.push({ key, problem: `index entry with no record that makes it (${recordKey(kind.name, idOfKey(key))})` });
    }
  }

  // Keys outside the layout.
  for await (const [key] of chunks(backend, '')) {
    if (!inLayout(key)) problems.push({ key, problem: 'key outside the layout (counters, records, index entries, the commit sequence)' });
  }

  return { ok: problems.length === 0, records, indexEntries, problems };
}

/** Every entry under a prefix, a chunk of reads at a time. */
async function* chunks(backend: StoreView, prefix: string): AsyncGenerator<[string, Uint8Array]> {
  const range = prefix === '' ? { gte: '', lt: '\u007f' } : prefixRange(prefix);
  for (let gte = range.gte, first = true; ; first = false) {
    const entries = await backend.entries({ gte, lt: range.lt, limit: CHUNK + (first ? 0 : 1) });
    const fresh = first ? entries : entries.slice(1); // the first is the last of the previous chunk
    yield* fresh;
    if (entries.length < CHUNK + (first ? 0 : 1)) return;
    gte = entries[entries.length - 1]![0];
  }
}

function tryDecode(bytes: Uint8Array): unknown {
  try {
    return decode(bytes);
  } catch {
    return undefined;
  }
}

function decodeOrReport(key: string, bytes: Uint8Array, problems: Problem[]): unknown {
  const value = tryDecode(bytes);
  if (value === undefined) problems.push({ key, problem: 'value does not decode' });
  return value;
}

function safeIndexes(kind: RecordKind<unknown>, record: unknown): string[] | null {
  try {
    const keys = kind.indexes(record);
    return keys.every((key) => typeof key === 'string' && !key.includes('undefined') && !key.includes('NaN')) ? keys : null;
  } catch {
    return null;
  }
}

function checkMachine(kind: RecordKind<unknown>, record: unknown): string | null {
  const machine = (kind as ActorKind).machine;
  if (machine === undefined) return null;
  const { value, context } = record as { value?: unknown; context?: unknown };
  if (typeof value !== 'string' || !(value in machine.states)) return `snapshot state ${JSON.stringify(value)} is not a state of ${machine.id}`;
  if (typeof context !== 'object' || context === null) return 'snapshot has no context';
  return null;
}
