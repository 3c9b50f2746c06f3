/**
 * Test-only: SIGKILL this process between sending a COMMIT and reading its
 * answer. For child processes of the torture run and the shared-store race
 * tests, never for src/.
 *
 * `armCommitKill(k, onKill)` wraps `pg.Client.prototype.query` (the one
 * class behind the store's committer and its pool). The k-th COMMIT, from
 * now on, of a transaction that wrote store rows (an INSERT into or DELETE
 * from `bc_kv` since its BEGIN) is passed to pg as usual; pg writes it to
 * the socket synchronously when the session is idle, and then, still in the
 * same turn of the event loop (so no answer can have been read), `onKill`
 * runs and the process kills itself with SIGKILL. If pg's socket still holds
 * unsent bytes, the kill waits for them to drain ('drain' fires once the
 * kernel has them; still before any reply can be handled in JavaScript, as
 * the server's reply cannot come before the COMMIT reached it and the kill is
 * the first thing the drain callback does). `onKill` is told the writer and
 * attempt numbers the transaction marked in `bc_writers` (the store's own
 * record of which commits landed), so the parent can read back afterwards
 * whether the interrupted COMMIT landed.
 */
import pg from 'pg';

type Query = (this: pg.Client, ...args: unknown[]) => unknown;

const KV_WRITE = /^\s*(?:INSERT INTO|DELETE FROM)\s+\S*bc_kv\b/;

let installed = false;
let left = 0;
let hook: ((kill: CommitKill) => void) | null = null;

/** What the kill interrupted. */
export interface CommitKill {
  /** The COMMIT was in the kernel's hands at once (else the kill waited for the socket to drain). */
  flushed: boolean;
  /** The store's writer number and attempt number of that transaction (its `bc_writers` mark), if seen. */
  writer?: string;
  attempt?: string;
}

const WRITER_MARK = /^\s*UPDATE\s+\S*bc_writers\s+SET\s+last_commit\s*=\s*\$1\s+WHERE\s+writer\s*=\s*\$2/i;

export function armCommitKill(afterCommits: number, onKill: (kill: CommitKill) => void): void {
  if (!Number.isSafeInteger(afterCommits) || afterCommits < 1) throw new Error(`armCommitKill: ${afterCommits} is not a positive integer`);
  left = afterCommits;
  hook = onKill;
  if (installed) return;
  installed = true;
  const proto = pg.Client.prototype as unknown as { query: Query };
  const original = proto.query;
  const writing = new WeakSet<object>();
  const marks = new WeakMap<object, { writer: string; attempt: string }>();
  proto.query = function (this: pg.Client, ...args: unknown[]) {
    const config = args[0];
    const text = typeof config === 'string' ? config : typeof config === 'object' && config !== null ? (config as { text?: unknown }).text : undefined;
    if (typeof text !== 'string') return original.apply(this, args);
    if (/^\s*BEGIN\b/i.test(text)) {
      writing.delete(this);
      marks.delete(this);
    } else if (KV_WRITE.test(text)) writing.add(this);
    else if (WRITER_MARK.test(text)) {
      const values = Array.isArray(args[1]) ? args[1] : (config as { values?: unknown }).values; // query(text, values) or query({ text, values })
      if (Array.isArray(values)) marks.set(this, { attempt: String(values[0]), writer: String(values[1]) });
    } else if (/^\s*COMMIT\s*$/i.test(text) && writing.has(this) && hook !== null && --left <= 0) {
      const onKill = hook;
      hook = null;
      const result = original.apply(this, args);
      const stream = (this as unknown as { connection?: { stream?: NodeJS.WritableStream & { writableLength?: number } } }).connection?.stream;
      const mark = marks.get(this);
      const die = (flushed: boolean) => {
        onKill({ flushed, ...mark });
        process.kill(process.pid, 'SIGKILL');
      };
      if (stream === undefined || (stream.writableLength ?? 0) === 0) die(true);
      else stream.once('drain', () => die(false));
      return result;
    }
    return original.apply(this, args);
  };
}
