/**
 * The shared store on PostgreSQL: any number of coordinators, in any
 * processes on any machines, open one schema at once.
 *
 * Connections: one committer (`pg.Client`) runs every transaction, one at a
 * time, in order; a small pool (4) serves reads, id sequences and writer
 * numbers. Each session runs with `synchronous_commit` on for `sync` (off
 * otherwise), `idle_in_transaction_session_timeout` 15 s and
 * application_name `buildcoord`. Every client and the pool have an 'error'
 * listener: a killed session or a restarted server fails the calls it was
 * serving, never the process.
 *
 * A transaction (`transact`, and blind `write`s) first marks this backend's
 * row in bc_writers with the attempt's number, so that row stays locked
 * until the transaction commits or aborts. When the answer to COMMIT is
 * lost, a fresh session waits for that lock and reads the row back: the
 * number is there if and only if the commit landed. Nothing is guessed.
 *
 * Retries: a serialization failure or deadlock re-runs the work (up to 30
 * times, a few ms apart); a connection lost before COMMIT reconnects and
 * re-runs it within a window (10 s; 50 ms to 1 s apart); pool reads retry
 * lost connections within the same window. Anything else is a StorageError
 * with PostgreSQL's message and SQLSTATE, at once. Messages show the
 * location masked; nothing is logged.
 *
 * A closed backend may be opened again: it reconnects and takes a new writer
 * number.
 */
import pg from 'pg';
import { InvalidArgumentError, StorageError } from '../../errors.ts';
import type { BackendCapabilities, KeyRange, WriteBatch } from '../backend.ts';
import type { CommitTransaction, SharedBackend, SnapshotView, Version, Versioned } from '../shared.ts';
import { classify, conflictDelay, describeFailure, MAX_CONFLICTS, OUTCOME_LOCK_TIMEOUT_MS, reconnectDelay, RETRY_WINDOW_MS, sleep, sqlstateOf } from './failures.ts';
import { maskLocation } from './location.ts';
import { ensureSchema, idSequence, isIdKind, schemaNames } from './schema.ts';
import type { SchemaNames } from './schema.ts';
import { connectionConfig } from './url.ts';

export interface PostgresBackendOptions {
  /** Commit with `synchronous_commit` on (true) or off (false). */
  sync: boolean;
  /** How long lost connections are retried before a call fails (ms, default 10,000). */
  retryWindowMs?: number;
  /** How long resolving a lost COMMIT waits for that transaction to end (ms, default 20,000). */
  outcomeLockTimeoutMs?: number;
  /** Make the store's tables if the schema has none (default true; false for what only reads). */
  createIfMissing?: boolean;
}

const POOL_SIZE = 4;

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

type State = 'new' | 'opening' | 'open' | 'closing' | 'closed';

const toKey = (key: string): Buffer => Buffer.from(key, 'utf8');
const fromKey = (bytes: Buffer): string => bytes.toString('utf8');
const toBytes = (bytes: Buffer): Uint8Array => new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
const toBuffer = (bytes: Uint8Array): Buffer => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

export class PostgresBackend implements SharedBackend {
  readonly shared = true;
  readonly capabilities: BackendCapabilities;
  /** The location as it may be shown: password masked. */
  readonly shown: string;
  private readonly sync: boolean;
  private readonly config: pg.ClientConfig;
  private readonly names: SchemaNames;
  private readonly retryWindowMs: number;
  private readonly outcomeLockTimeoutMs: number;
  private readonly createIfMissing: boolean;

  private state: State = 'new';
  private opening: Promise<void> | null = null;
  private committer: pg.Client | null = null;
  /** Set by the committer's 'error' listener: its connection is gone. */
  private committerLost = false;
  private pool: pg.Pool | null = null;
  /** This backend's writer number: its row in bc_writers, and the high part of its blind writes' versions. */
  private writer = 0;
  /** The number of the newest transaction attempt (its mark in bc_writers). */
  private attemptNumber = 0;
  private blindWrites = 0;
  /** Transactions run one at a time on the committer, in call order. */
  private turn: Promise<unknown> = Promise.resolve();
  private readonly knownSequences = new Set<string>();
  private readsInFlight = 0;
  /** Point reads waiting for a free session, to be sent as one query. */
  private nextRead: { keys: string[]; waiters: { at: number; count: number; resolve: (found: (Versioned | undefined)[]) => void; reject: (error: unknown) => void }[] } | null = null;

  constructor(location: string, options: PostgresBackendOptions) {
    this.shown = maskLocation(location);
    this.sync = options.sync;
    this.capabilities = { permanence: true, durableSync: options.sync };
    const { config, schema } = connectionConfig(location, { sync: options.sync });
    this.config = config;
    this.names = schemaNames(schema);
    this.retryWindowMs = options.retryWindowMs ?? RETRY_WINDOW_MS;
    this.outcomeLockTimeoutMs = options.outcomeLockTimeoutMs ?? OUTCOME_LOCK_TIMEOUT_MS;
    this.createIfMissing = options.createIfMissing ?? true;
  }

  /** The schema the store lives in. */
  get schema(): string {
    return this.names.schema;
  }

  // ---- opening and closing ----

  async open(): Promise<void> {
    if (this.state === 'open') return;
    if (this.state === 'opening') return this.opening!;
    if (this.state === 'closing') throw new StorageError(`the PostgreSQL store ${this.shown} is closing`);
    this.state = 'opening';
    this.opening = this.connectAll().then(
      () => {
        this.state = 'open';
      },
      async (error: unknown) => {
        await this.disconnect();
        this.state = 'closed';
        throw this.failure('cannot open', error);
      },
    );
    try {
      await this.opening;
    } finally {
      this.opening = null;
    }
  }

  private async connectAll(): Promise<void> {
    const client = await this.committerClient();
    const fsync = await client.query<{ fsync: string }>('SHOW fsync');
    if (fsync.rows[0]?.fsync === 'off') {
      throw new StorageError(`the PostgreSQL server of ${this.shown} runs with fsync=off, so a commit it acknowledges may not survive a crash; refusing to open`);
    }
    await ensureSchema(client, this.names, this.shown, this.createIfMissing);
    const row = await client.query<{ writer: string }>(`INSERT INTO ${this.names.writers} (writer, last_commit) VALUES (nextval($1::regclass), 0) RETURNING writer::text AS writer`, [
      this.names.writerSeq,
    ]);
    this.writer = Number(row.rows[0]!.writer);
    this.attemptNumber = 0;
    this.blindWrites = 0;
    const pool = new pg.Pool({ ...this.config, max: POOL_SIZE, idleTimeoutMillis: 30_000, allowExitOnIdle: true });
    pool.on('error', () => {}); // an idle pooled session died: the pool drops it; the next read reconnects
    this.pool = pool;
  }

  /** Waits for the transaction in progress, removes this writer's row (best effort) and ends every connection. */
  async close(): Promise<void> {
    if (this.state === 'opening') await this.opening?.catch(() => {});
    if (this.state !== 'open') return;
    this.state = 'closing';
    await this.turn.catch(() => {});
    const client = this.committer;
    if (client !== null && !this.committerLost) {
      await client.query(`DELETE FROM ${this.names.writers} WHERE writer = $1`, [this.writer]).catch(() => {});
    }
    await this.disconnect();
    this.state = 'closed';
  }

  private async disconnect(): Promise<void> {
    const pool = this.pool;
    this.pool = null;
    this.dropCommitter();
    await pool?.end().catch(() => {});
  }

  // ---- reads ----

  async get(key: string): Promise<Uint8Array | undefined> {
    return (await this.getVersioned([key]))[0]?.bytes;
  }

  async getMany(keys: readonly string[]): Promise<(Uint8Array | undefined)[]> {
    return (await this.getVersioned(keys)).map((found) => found?.bytes);
  }

  /**
   * Point reads are batched: while every pooled session is busy, the keys
   * asked for gather into the next read, sent as one query when a session is
   * free (dozens of claims each loading its request cost one round trip).
   */
  async getVersioned(keys: readonly string[]): Promise<(Versioned | undefined)[]> {
    this.assertOpen();
    if (keys.length === 0) return [];
    if (this.readsInFlight < POOL_SIZE) return this.readNow(keys);
    return new Promise((resolve, reject) => {
      const next = (this.nextRead ??= { keys: [], waiters: [] });
      next.waiters.push({ at: next.keys.length, count: keys.length, resolve, reject });
      next.keys.push(...keys);
    });
  }

  private async readNow(keys: readonly string[]): Promise<(Versioned | undefined)[]> {
    this.readsInFlight++;
    try {
      return await getVersioned(this.pooled, this.names, keys);
    } finally {
      this.readsInFlight--;
      this.sendNextRead();
    }
  }

  private sendNextRead(): void {
    const batch = this.nextRead;
    if (batch === null) return;
    this.nextRead = null;
    this.readNow(batch.keys).then(
      (found) => batch.waiters.forEach(({ at, count, resolve }) => resolve(found.slice(at, at + count))),
      (error: unknown) => batch.waiters.forEach(({ reject }) => reject(error)),
    );
  }

  async keys(range: KeyRange): Promise<string[]> {
    this.assertOpen();
    return (await scan(this.pooled, this.names, range, false)).map(({ key }) => fromKey(key));
  }

  async entries(range: KeyRange): Promise<[string, Uint8Array][]> {
    this.assertOpen();
    return (await scan(this.pooled, this.names, range, true)).map(({ key, value }) => [fromKey(key), toBytes(value!)]);
  }

  private readonly pooled: Query = (what, sql, params) => this.read(what, sql, params);

  /**
   * Runs `work` on one REPEATABLE READ, READ ONLY transaction of a pooled
   * session: every read sees the same instant. `lastId` reads a sequence,
   * which is not transactional: it is at least the last id handed out as of
   * the snapshot. A lost connection fails the call (work is not re-run).
   * Pauses between reads may last up to 10 minutes.
   */
  async readSnapshot<T>(work: (view: SnapshotView) => Promise<T>): Promise<T> {
    this.assertOpen();
    const client = await this.checkout();
    let broken = false;
    const onError = () => (broken = true);
    client.on('error', onError);
    const query: Query = async (what, sql, params) => {
      try {
        return await client.query(statement(sql, params));
      } catch (error) {
        if (classify(error) === 'connection') broken = true;
        throw this.failure(`${what} failed`, error);
      }
    };
    try {
      await query('snapshot', 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY', []);
      // It holds no locks, so the 15 s limit on idle transactions (there to free a lost writer's locks) need not hurry a long read.
      await query('snapshot', "SET LOCAL idle_in_transaction_session_timeout = '10min'", []);
      const names = this.names;
      const result = await work({
        get: async (key) => (await getVersioned(query, names, [key]))[0]?.bytes,
        getMany: async (keys) => (await getVersioned(query, names, keys)).map((found) => found?.bytes),
        keys: async (range) => (await scan(query, names, range, false)).map(({ key }) => fromKey(key)),
        entries: async (range) => (await scan(query, names, range, true)).map(({ key, value }) => [fromKey(key), toBytes(value!)]),
        lastId: async (kind) => {
          if (!isIdKind(kind)) return 0; // no sequence can have that name
          const { rows } = await query<{ id: string | null }>(
            'id sequence read',
            'SELECT last_value::text AS id FROM pg_catalog.pg_sequences WHERE schemaname = $1 AND sequencename = $2',
            [names.schema, `bc_id_${kind}`],
          );
          return Number(rows[0]?.id ?? 0);
        },
      });
      await query('snapshot', 'COMMIT', []);
      return result;
    } catch (error) {
      if (!broken) await client.query('ROLLBACK').catch(() => (broken = true));
      throw error;
    } finally {
      client.removeListener('error', onError);
      client.release(broken);
    }
  }

  /** A pooled session of our own, connecting again within the window when the server is unreachable. */
  private async checkout(): Promise<pg.PoolClient> {
    let since: number | null = null;
    for (let tries = 0; ; tries++) {
      const pool = this.pool;
      if (!this.usable() || pool === null) throw new StorageError(`the PostgreSQL store ${this.shown} is not open`);
      try {
        return await pool.connect();
      } catch (error) {
        if (classify(error) !== 'connection') throw this.failure('connecting failed', error);
        since ??= Date.now();
        const left = since + this.retryWindowMs - Date.now();
        if (left <= 0) throw this.failure(`connecting failed: the server stayed unreachable for ${seconds(this.retryWindowMs)}`, error);
        await sleep(Math.min(left, reconnectDelay(tries)));
      }
    }
  }

  // ---- ids and writers ----

  async nextIds(kind: string, count: number): Promise<number[]> {
    if (!isIdKind(kind)) throw new InvalidArgumentError(`id kind ${JSON.stringify(kind)} is not a lower-case name ([a-z][a-z0-9_]*, at most 57 characters)`);
    if (!Number.isSafeInteger(count) || count < 0) throw new InvalidArgumentError(`id count must be a non-negative integer, not ${count}`);
    this.assertOpen();
    if (count === 0) return [];
    const sequence = idSequence(this.names, kind);
    for (let created = this.knownSequences.has(kind); ; created = true) {
      try {
        const { rows } = await this.read<{ id: string }>('id allocation', 'SELECT nextval($1::regclass)::text AS id FROM generate_series(1, $2)', [sequence, count], true);
        this.knownSequences.add(kind);
        return rows.map(({ id }) => Number(id)).sort((a, b) => a - b);
      } catch (error) {
        if (created || sqlstateOf(error) !== '42P01') throw this.failure('id allocation failed', error);
      }
      try {
        await this.read('id sequence creation', `CREATE SEQUENCE IF NOT EXISTS ${sequence} AS bigint MINVALUE 1 CACHE 1`, [], true);
      } catch (error) {
        // Two creators at once: one of them meets the other's half-made entry (unique violation) or finished table.
        const state = sqlstateOf(error);
        if (state !== '23505' && state !== '42P07') throw this.failure('id sequence creation failed', error);
      }
    }
  }

  async serverTime(): Promise<number> {
    this.assertOpen();
    const { rows } = await this.read<{ ms: number }>('clock read', 'SELECT (extract(epoch FROM clock_timestamp()) * 1000)::float8 AS ms', []);
    return rows[0]!.ms;
  }

  async newWriter(): Promise<number> {
    this.assertOpen();
    const { rows } = await this.read<{ writer: string }>('writer allocation', 'SELECT nextval($1::regclass)::text AS writer', [this.names.writerSeq]);
    return Number(rows[0]!.writer);
  }

  /**
   * A pool query; lost connections are retried within the window. Errors
   * are StorageErrors, or with `raw` the server's own error (connection
   * failures past the window are StorageErrors either way).
   */
  private async read<R extends pg.QueryResultRow>(what: string, sql: Sql, params: unknown[], raw = false): Promise<pg.QueryResult<R>> {
    let since: number | null = null;
    for (let tries = 0; ; tries++) {
      const pool = this.pool;
      if (!this.usable() || pool === null) throw new StorageError(`the PostgreSQL store ${this.shown} is not open`);
      try {
        return await pool.query<R>(statement(sql, params));
      } catch (error) {
        if (classify(error) !== 'connection') {
          if (raw) throw error;
          throw this.failure(`${what} failed`, error);
        }
        since ??= Date.now();
        const left = since + this.retryWindowMs - Date.now();
        if (left <= 0) throw this.failure(`${what} failed: the server stayed unreachable for ${seconds(this.retryWindowMs)}`, error);
        await sleep(Math.min(left, reconnectDelay(tries)));
      }
    }
  }

  // ---- writes ----

  /** A blind write (no reads checked), committed like a transaction; its versions are fresh tokens of this writer. */
  async write(batch: WriteBatch, options: { sync: boolean }): Promise<void> {
    this.assertOpen();
    if (batch.size === 0) return;
    const version = ((BigInt(this.writer) << 32n) | BigInt(++this.blindWrites)).toString();
    const puts: [string, Uint8Array, Version][] = [];
    const deletes: string[] = [];
    for (const [key, bytes] of batch) {
      if (bytes === null) deletes.push(key);
      else puts.push([key, bytes, version]);
    }
    await this.serially(() => this.commit((tx) => tx.write(puts, deletes), options.sync));
  }

  async transact<T>(work: (tx: CommitTransaction) => Promise<T>): Promise<T> {
    this.assertOpen();
    return this.serially(() => this.commit(work, this.sync));
  }

  private serially<T>(run: () => Promise<T>): Promise<T> {
    const result = this.turn.then(run, run);
    this.turn = result.catch(() => {});
    return result;
  }

  /** Runs `work` in a serializable transaction until it commits, retrying what may be retried (see the file's comment). */
  private async commit<T>(work: (tx: CommitTransaction) => Promise<T>, sync: boolean): Promise<T> {
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
        attempt.client = await this.committerClient().catch((error: unknown) => {
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
          if (++conflicts >= MAX_CONFLICTS) throw this.failure(`commit failed after ${conflicts} serialization failures in a row`, error);
          await sleep(conflictDelay(conflicts));
          continue;
        }
        if (kind === 'connection') {
          this.dropCommitter();
          lostSince ??= Date.now();
          const left = lostSince + this.retryWindowMs - Date.now();
          if (left <= 0) throw this.failure(`commit failed: the connection was lost and could not be made again within ${seconds(this.retryWindowMs)}`, error);
          await sleep(Math.min(left, reconnectDelay(reconnects++)));
          continue;
        }
        await this.rollback(attempt.client);
        throw this.failure('commit failed', error);
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
      this.failure(`the connection was lost after COMMIT was sent (${describeFailure(lost)}), and whether the commit landed is unknown: ${why}`, error);
    for (let tries = 0; ; tries++) {
      this.dropCommitter();
      if (!this.usable()) throw unknown('the store was closed', lost);
      let client: pg.Client | null = null;
      try {
        client = await this.committerClient();
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
    if (client === null || client !== this.committer || this.committerLost) return;
    if (client.getTransactionStatus() === 'I') return;
    try {
      await client.query('ROLLBACK');
    } catch {
      this.dropCommitter();
    }
  }

  // ---- the committer session ----

  private async committerClient(): Promise<pg.Client> {
    if (this.committer !== null && !this.committerLost) return this.committer;
    this.dropCommitter();
    // Pipelined: a transaction's statements go out without waiting for the ones before (two round trips per commit).
    const client = new pg.Client({ ...this.config, pipeline: true } as pg.ClientConfig);
    client.on('error', () => {
      if (this.committer === client) this.committerLost = true;
    });
    this.committer = client;
    this.committerLost = false;
    try {
      await client.connect();
    } catch (error) {
      this.dropCommitter();
      throw error;
    }
    return client;
  }

  /** Ends the committer session (if any) without waiting; the next transaction connects again. */
  private dropCommitter(): void {
    const client = this.committer;
    this.committer = null;
    this.committerLost = false;
    client?.end().catch(() => {});
  }

  // ---- errors ----

  /** Open, or closing while calls already taken finish. */
  private usable(): boolean {
    return this.state === 'open' || this.state === 'closing';
  }

  private assertOpen(): void {
    if (this.state !== 'open') throw new StorageError(`the PostgreSQL store ${this.shown} is not open`);
  }

  /** A StorageError for people: what failed, where (masked), and PostgreSQL's words with the SQLSTATE. */
  private failure(what: string, error: unknown): StorageError {
    if (error instanceof StorageError && what === 'cannot open') {
      return error.message.includes(this.shown) ? error : new StorageError(maskLocation(`cannot open the PostgreSQL store ${this.shown}: ${error.message}`), { cause: error });
    }
    if (error instanceof StorageError) return error;
    const message = what === 'cannot open' ? `cannot open the PostgreSQL store ${this.shown}` : `PostgreSQL store ${this.shown}: ${what}`;
    return new StorageError(maskLocation(`${message}: ${describeFailure(error)}`), { cause: error });
  }
}

/** Runs one read statement, with `what` naming it in errors. */
type Query = <R extends pg.QueryResultRow>(what: string, sql: Sql, params: unknown[]) => Promise<pg.QueryResult<R>>;

/** A statement's text, or its text with a name (prepared once per session: the hot statements). */
type Sql = string | { name: string; text: string };

const statement = (sql: Sql, values: unknown[]): pg.QueryConfig => (typeof sql === 'string' ? { text: sql, values } : { ...sql, values });

/** Values with versions, in the order of `keys`. */
async function getVersioned(query: Query, names: SchemaNames, keys: readonly string[]): Promise<(Versioned | undefined)[]> {
  if (keys.length === 0) return [];
  const { rows } = await query<{ key: Buffer; value: Buffer; version: string }>(
    'read',
    { name: `${names.schema}.read`, text: `SELECT key, value, version::text AS version FROM ${names.kv} WHERE key = ANY($1::bytea[])` },
    [keys.map(toKey)],
  );
  const found = new Map<string, Versioned>();
  for (const row of rows) found.set(row.key.toString('latin1'), { bytes: toBytes(row.value), version: row.version });
  return keys.map((key) => found.get(toKey(key).toString('latin1')));
}

/** The rows of a key range, as the Backend contract orders and limits them (a negative limit: none). */
async function scan(query: Query, names: SchemaNames, range: KeyRange, values: boolean): Promise<{ key: Buffer; value?: Buffer }[]> {
  const limit = range.limit === undefined || range.limit < 0 ? null : range.limit;
  if (limit === 0) return [];
  const { rows } = await query<{ key: Buffer; value?: Buffer }>(
    'range read',
    `SELECT key${values ? ', value' : ''} FROM ${names.kv} WHERE key >= $1 AND key < $2 ORDER BY key${range.reverse ? ' DESC' : ''} LIMIT $3`,
    [toKey(range.gte), toKey(range.lt), limit],
  );
  return rows;
}

const seconds = (ms: number) => `${Math.round(ms / 100) / 10} s`;

/** A backend for the PostgreSQL store at `location` (a `postgresql://` or `postgres://` URL). */
export function postgresBackend(location: string, options: PostgresBackendOptions): PostgresBackend {
  return new PostgresBackend(location, options);
}
