/**
 * The one session that runs a PostgreSQL store's transactions, one at a
 * time, in order, each in two round trips (pipelined), with the retries
 * and the resolution of lost COMMITs described in backend.ts.
 */
import pg from 'pg';
import { StorageError } from '../../errors.ts';
import type { CommitTransaction, Version } from '../shared/contract.ts';
import { classify, conflictDelay, describeFailure, failure, MAX_CONFLICTS, reconnectDelay, seconds, sleep, sqlstateOf } from './failures.ts';
import type { SchemaNames } from './schema.ts';
import { fromKey, toBuffer, toKey } from './bytes.ts';

/** One run of a transaction's work on the committer. */
interface Attempt {
  client: pg.Client;
  /** The view may be used (false once the attempt commits or fails). */
  active: boolean;
  /** The first database or connection error of the attempt: the transaction is over. */
  failure: unknown;
  /** Writes sent and not yet answered: COMMIT follows them without waiting (it becomes ROLLBACK if one fails). */
  writes: Promise<unknown>[];
}

export interface CommitterOptions {
  config: pg.ClientConfig;
  names: SchemaNames;
  /** The location, password masked. */
  shown: string;
  /** The sessions' synchronous_commit. */
  sync: boolean;
  retryWindowMs: number;
  outcomeLockTimeoutMs: number;
  /** Whether the store still takes transactions (open, or closing while calls taken finish). */
  usable: () => boolean;
}

export class Committer {
  /** This backend's writer number: its row in bc_writers. */
  writer = 0;
  private session: pg.Client | null = null;
  /** Set by the session's 'error' listener: its connection is gone. */
  private lost = false;
  /** The number of the newest transaction attempt (its mark in bc_writers). */
  private attemptNumber = 0;
  private turn: Promise<unknown> = Promise.resolve();
  private readonly config: pg.ClientConfig;
  private readonly names: SchemaNames;
  private readonly shown: string;
  private readonly sync: boolean;
  private readonly retryWindowMs: number;
  private readonly outcomeLockTimeoutMs: number;
  private readonly usable: () => boolean;

  constructor(options: CommitterOptions) {
    ({
      config: this.config,
      names: this.names,
      shown: this.shown,
      sync: this.sync,
      retryWindowMs: this.retryWindowMs,
      outcomeLockTimeoutMs: this.outcomeLockTimeoutMs,
      usable: this.usable,
    } = options);
  }

  /** Takes up a writer number (after an open): attempts are numbered afresh. */
  start(writer: number): void {
    this.writer = writer;
    this.attemptNumber = 0;
  }

  /** Whether the session is there and alive. */
  get connected(): boolean {
    return this.session !== null && !this.lost;
  }

  /** Runs transactions one at a time, in call order. */
  serially<T>(run: () => Promise<T>): Promise<T> {
    const result = this.turn.then(run, run);
    this.turn = result.catch(() => {});
    return result;
  }

  /** Runs `work` in a serializable transaction until it commits, retrying what may be retried (see the file's comment). */
  async commit<T>(work: (tx: CommitTransaction) => Promise<T>, sync: boolean): Promise<T> {
    let conflicts = 0;
    let lostSince: number | null = null;
    let reconnects = 0;
    for (;;) {
      if (!this.usable()) throw new StorageError(`the PostgreSQL store ${this.shown} is not open`);
      const n = ++this.attemptNumber;
      const attempt: Attempt = { client: null!, active: true, failure: undefined, writes: [] };
      let commitSent = false;
      let working: Promise<T> | undefined;
      let result: T;
      try {
        attempt.client = await this.client().catch((error: unknown) => {
          attempt.failure ??= error; // pipelined statements behind a failed one fail too (25P02): the first is the cause
          throw error;
        });
        // Sent at once, ahead of work's first reads: the statements of one attempt share round trips.
        const begun = Promise.all([
          this.run(attempt, 'BEGIN ISOLATION LEVEL SERIALIZABLE'),
          sync === this.sync ? null : this.run(attempt, `SET LOCAL synchronous_commit = ${sync ? 'on' : 'off'}`),
          this.run(attempt, { name: `${this.names.schema}.mark`, text: `UPDATE ${this.names.writers} SET last_commit = $1 WHERE writer = $2`, values: [n, this.writer] }),
        ]);
        begun.catch(() => {}); // its failure is the attempt's, read below
        working = work(this.view(attempt));
        working.catch(() => {}); // if BEGIN or the mark fails, work's statements fail too: the attempt's failure says why
        const [, , marked] = await begun;
        result = await working;
        if (attempt.failure !== undefined) throw attempt.failure; // work went on after a failed statement
        if (marked.rowCount !== 1) {
          // Our row is gone (removed by hand?): without it a lost COMMIT could not be resolved. Put it back and start again.
          attempt.active = false;
          await this.run(attempt, 'ROLLBACK');
          await this.run(attempt, `INSERT INTO ${this.names.writers} (writer, last_commit) VALUES ($1, 0) ON CONFLICT (writer) DO NOTHING`, [this.writer]);
          continue;
        }
        attempt.active = false;
        commitSent = true;
        const done = await this.run(attempt, 'COMMIT');
        await Promise.allSettled(attempt.writes);
        if (attempt.failure !== undefined) throw attempt.failure; // a write failed: COMMIT was a ROLLBACK
        if (done.command !== 'COMMIT') throw new StorageError(`the PostgreSQL store ${this.shown} answered COMMIT with ${done.command}: the transaction was rolled back`);
        return result;
      } catch (thrown) {
        attempt.active = false;
        if (working !== undefined) await Promise.allSettled([working]); // its statements are answered before anything else is sent
        const error = attempt.failure;
        if (error === undefined) {
          // work's own error (or the ROLLBACK answer above): not the store's to retry.
          await this.rollback(attempt.client);
          throw thrown;
        }
        const kind = classify(error);
        if (kind === 'connection' && commitSent) {
          if (await this.landed(n, error)) return result!;
          continue; // it did not land; the resolution's session is ready for the next attempt
        }
        if (kind === 'conflict') {
          await this.rollback(attempt.client);
          if (++conflicts >= MAX_CONFLICTS) throw failure(this.shown, `commit failed after ${conflicts} serialization failures in a row`, error);
          await sleep(conflictDelay(conflicts));
          continue;
        }
        if (kind === 'connection') {
          this.drop();
          lostSince ??= Date.now();
          const left = lostSince + this.retryWindowMs - Date.now();
          if (left <= 0) throw failure(this.shown, `commit failed: the connection was lost and could not be made again within ${seconds(this.retryWindowMs)}`, error);
          await sleep(Math.min(left, reconnectDelay(reconnects++)));
          continue;
        }
        await this.rollback(attempt.client);
        throw failure(this.shown, 'commit failed', error);
      }
    }
  }

  /** The store as `work` sees it inside one attempt. */
  private view(attempt: Attempt): CommitTransaction {
    const kv = this.names.kv;
    const live = () => {
      if (!attempt.active) throw new StorageError('a commit transaction was used after it ended');
    };
    return {
      versions: async (keys) => {
        live();
        const found = new Map<string, Version>();
        if (keys.length === 0) return found;
        const encoded = new Map(keys.map((key) => [toKey(key).toString('latin1'), key]));
        const { rows } = await this.run<{ key: Buffer; version: string }>(attempt, {
          name: `${this.names.schema}.versions`,
          text: `SELECT key, version::text AS version FROM ${kv} WHERE key = ANY($1::bytea[])`,
          values: [keys.map(toKey)],
        });
        for (const row of rows) found.set(encoded.get(row.key.toString('latin1')) ?? fromKey(row.key), row.version);
        return found;
      },
      rangeKeys: async (ranges) => {
        live();
        if (ranges.length === 0) return [];
        const { rows } = await this.run<{ i: string; key: Buffer }>(attempt, {
          name: `${this.names.schema}.ranges`,
          text: `SELECT r.i::text AS i, kv.key FROM unnest($1::bytea[], $2::bytea[]) WITH ORDINALITY AS r(gte, lt, i)
             JOIN ${kv} kv ON kv.key >= r.gte AND kv.key < r.lt
           ORDER BY r.i, kv.key`,
          values: [ranges.map(({ gte }) => toKey(gte)), ranges.map(({ lt }) => toKey(lt))],
        });
        const out: string[][] = ranges.map(() => []);
        for (const row of rows) out[Number(row.i) - 1]!.push(fromKey(row.key));
        return out;
      },
      write: async (puts, deletes) => {
        live();
        if (puts.length > 0) {
          // One row per key (the last put wins), in key order: locks are taken in one order by every writer.
          const byKey = new Map<string, [Buffer, Uint8Array, Version]>();
          for (const [key, bytes, version] of puts) {
            const encoded = toKey(key);
            byKey.set(encoded.toString('latin1'), [encoded, bytes, version]);
          }
          const rows = [...byKey.values()].sort((a, b) => Buffer.compare(a[0], b[0]));
          this.send(attempt, {
            name: `${this.names.schema}.put`,
            text: `INSERT INTO ${kv} (key, value, version) SELECT * FROM unnest($1::bytea[], $2::bytea[], $3::bigint[])
             ON CONFLICT (key) DO UPDATE SET value = excluded.value, version = excluded.version`,
            values: [rows.map(([key]) => key), rows.map(([, bytes]) => toBuffer(bytes)), rows.map(([, , version]) => version)],
          });
        }
        if (deletes.length > 0) {
          const keys = deletes.map(toKey).sort(Buffer.compare);
          this.send(attempt, { name: `${this.names.schema}.delete`, text: `DELETE FROM ${kv} WHERE key = ANY($1::bytea[])`, values: [keys] });
        }
      },
    };
  }

  /** A write of an attempt, not waited for: COMMIT follows it in the pipeline, and its failure is the attempt's. */
  private send(attempt: Attempt, query: pg.QueryConfig): void {
    const sent = this.run(attempt, query);
    sent.catch(() => {}); // recorded in attempt.failure
    attempt.writes.push(sent);
  }

  /** A statement of an attempt; its first failure ends the attempt (later statements fail with that failure too). */
  private async run<R extends pg.QueryResultRow = pg.QueryResultRow>(attempt: Attempt, sql: string | pg.QueryConfig, params?: unknown[]): Promise<pg.QueryResult<R>> {
    if (attempt.failure !== undefined) throw attempt.failure;
    try {
      return await (typeof sql === 'string' ? attempt.client.query<R>(sql, params) : attempt.client.query<R>(sql));
    } catch (error) {
      attempt.failure ??= error; // pipelined statements behind a failed one fail too (25P02): the first is the cause
      throw error;
    }
  }

  /**
   * Whether the attempt numbered `n`, whose COMMIT was sent but not
   * answered, committed. A fresh session locks this writer's row: the lost
   * transaction updated it first, so holds that lock until it commits or
   * aborts, and the row then carries `n` if and only if it committed.
   * StorageError when that cannot be read.
   */
  private async landed(n: number, lost: unknown): Promise<boolean> {
    const deadline = Date.now() + this.retryWindowMs;
    const unknown = (why: string, error: unknown) =>
      failure(this.shown, `the connection was lost after COMMIT was sent (${describeFailure(lost)}), and whether the commit landed is unknown: ${why}`, error);
    for (let tries = 0; ; tries++) {
      this.drop();
      if (!this.usable()) throw unknown('the store was closed', lost);
      let client: pg.Client | null = null;
      try {
        client = await this.client();
        await client.query('BEGIN ISOLATION LEVEL READ COMMITTED');
        await client.query(`SET LOCAL lock_timeout = ${Math.max(1, Math.round(this.outcomeLockTimeoutMs))}`);
        const { rows } = await client.query<{ last: string }>(`SELECT last_commit::text AS last FROM ${this.names.writers} WHERE writer = $1 FOR UPDATE`, [this.writer]);
        await client.query('ROLLBACK'); // only read: nothing to commit, and no wait for a commit
        if (rows.length === 0) throw unknown(`this writer's row (${this.writer}) is gone from bc_writers`, lost);
        return BigInt(rows[0]!.last) >= BigInt(n);
      } catch (error) {
        if (error instanceof StorageError) throw error;
        if (classify(error) !== 'connection') {
          await this.rollback(client);
          throw unknown(sqlstateOf(error) === '55P03' ? `the lost transaction still held its lock after ${seconds(this.outcomeLockTimeoutMs)}` : describeFailure(error), error);
        }
        const left = deadline - Date.now();
        if (left <= 0) throw unknown(`the server stayed unreachable for ${seconds(this.retryWindowMs)}`, error);
        await sleep(Math.min(left, reconnectDelay(tries)));
      }
    }
  }

  private async rollback(client: pg.Client | null): Promise<void> {
    if (client === null || client !== this.session || this.lost) return;
    if (client.getTransactionStatus() === 'I') return;
    try {
      await client.query('ROLLBACK');
    } catch {
      this.drop();
    }
  }

  // ---- the committer session ----

  /** The committer session, connecting it if need be. */
  async client(): Promise<pg.Client> {
    if (this.session !== null && !this.lost) return this.session;
    this.drop();
    // Pipelined: a transaction's statements go out without waiting for the ones before (two round trips per commit).
    const client = new pg.Client({ ...this.config, pipeline: true } as pg.ClientConfig);
    client.on('error', () => {
      if (this.session === client) this.lost = true;
    });
    this.session = client;
    this.lost = false;
    try {
      await client.connect();
    } catch (error) {
      this.drop();
      throw error;
    }
    return client;
  }

  /** Ends the committer session (if any) without waiting; the next transaction connects again. */
  drop(): void {
    const client = this.session;
    this.session = null;
    this.lost = false;
    client?.end().catch(() => {});
  }
}
