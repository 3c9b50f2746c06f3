/**
 * The shared store on PostgreSQL: any number of coordinators, in any
 * processes on any machines, open one schema at once.
 *
 * Connections: one committer (committer.ts) runs every transaction, one at
 * a time, in order; a small pool (4) serves reads, id sequences and writer
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
 * lost connections within the same window. A statement unanswered for 60 s
 * counts as a lost connection (a silent network partition). Anything else is a StorageError
 * with PostgreSQL's message and SQLSTATE, at once. Messages show the
 * location masked; nothing is logged.
 *
 * A closed backend may be opened again: it reconnects and takes a new writer
 * number.
 */
import pg from 'pg';
import { InvalidArgumentError, StorageError } from '../../errors.ts';
import type { BackendCapabilities, KeyRange, WriteBatch } from '../backend.ts';
import type { CommitTransaction, SharedBackend, SnapshotView, Version, Versioned } from '../shared/contract.ts';
import { fromKey, toBytes, toKey } from './bytes.ts';
import { Committer } from './committer.ts';
import { classify, failure, OUTCOME_LOCK_TIMEOUT_MS, QUERY_TIMEOUT_MS, reconnectDelay, RETRY_WINDOW_MS, seconds, sleep, sqlstateOf } from './failures.ts';
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
  /** How long a statement may go unanswered before its session is taken as lost (ms, default 60,000). */
  queryTimeoutMs?: number;
  /** Make the store's tables if the schema has none (default true; false for what only reads). */
  createIfMissing?: boolean;
}

const POOL_SIZE = 4;

type State = 'new' | 'opening' | 'open' | 'closing' | 'closed';

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
  private readonly committer: Committer;
  private pool: pg.Pool | null = null;
  private blindWrites = 0;
  private readonly knownSequences = new Set<string>();
  private readsInFlight = 0;
  /** A send of the gathered point reads is scheduled for the end of this turn. */
  private readScheduled = false;
  /** Point reads gathered for the next query (see getVersioned). */
  private nextRead: { keys: string[]; waiters: { at: number; count: number; resolve: (found: (Versioned | undefined)[]) => void; reject: (error: unknown) => void }[] } | null =
    null;

  constructor(location: string, options: PostgresBackendOptions) {
    this.shown = maskLocation(location);
    this.sync = options.sync;
    this.capabilities = { permanence: true, durableSync: options.sync };
    const { config, schema } = connectionConfig(location, { sync: options.sync });
    this.config = { ...config, query_timeout: options.queryTimeoutMs ?? QUERY_TIMEOUT_MS };
    this.names = schemaNames(schema);
    this.retryWindowMs = options.retryWindowMs ?? RETRY_WINDOW_MS;
    this.outcomeLockTimeoutMs = options.outcomeLockTimeoutMs ?? OUTCOME_LOCK_TIMEOUT_MS;
    this.createIfMissing = options.createIfMissing ?? true;
    this.committer = new Committer({
      config: this.config,
      names: this.names,
      shown: this.shown,
      sync: this.sync,
      retryWindowMs: this.retryWindowMs,
      outcomeLockTimeoutMs: this.outcomeLockTimeoutMs,
      usable: () => this.usable(),
    });
  }

  /** This backend's writer number: its row in bc_writers, and the high part of its blind writes' versions. */
  private get writer(): number {
    return this.committer.writer;
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
    const client = await this.committer.client();
    const fsync = await client.query<{ fsync: string }>('SHOW fsync');
    if (fsync.rows[0]?.fsync === 'off') {
      throw new StorageError(`the PostgreSQL server of ${this.shown} runs with fsync=off, so a commit it acknowledges may not survive a crash; refusing to open`);
    }
    await ensureSchema(client, this.names, this.shown, this.createIfMissing);
    const row = await client.query<{ writer: string }>(
      `INSERT INTO ${this.names.writers} (writer, last_commit) VALUES (nextval($1::regclass), 0) RETURNING writer::text AS writer`,
      [this.names.writerSeq],
    );
    this.committer.start(Number(row.rows[0]!.writer));
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
    await this.committer
      .serially(async () => {
        if (this.committer.connected) await (await this.committer.client()).query(`DELETE FROM ${this.names.writers} WHERE writer = $1`, [this.writer]);
      })
      .catch(() => {});
    await this.disconnect();
    this.state = 'closed';
  }

  private async disconnect(): Promise<void> {
    const pool = this.pool;
    this.pool = null;
    this.committer.drop();
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
   * Point reads are batched: the keys asked for in one turn of the event
   * loop, and while every pooled session is busy, go out as one query (a
   * burst of claims each loading its request costs one round trip, not one
   * each: the round trip, not the rows, is what a read costs).
   */
  async getVersioned(keys: readonly string[]): Promise<(Versioned | undefined)[]> {
    this.assertOpen();
    if (keys.length === 0) return [];
    return new Promise((resolve, reject) => {
      const next = (this.nextRead ??= { keys: [], waiters: [] });
      next.waiters.push({ at: next.keys.length, count: keys.length, resolve, reject });
      for (const key of keys) next.keys.push(key); // not push(...keys): a long list would overflow the stack
      this.scheduleRead();
    });
  }

  /** Sends the gathered keys at the end of this turn, unless every session is busy: the next to finish sends them. */
  private scheduleRead(): void {
    if (this.readScheduled || this.readsInFlight >= POOL_SIZE) return;
    this.readScheduled = true;
    setImmediate(() => {
      this.readScheduled = false;
      if (this.readsInFlight < POOL_SIZE) this.sendNextRead();
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
      (found) => {
        for (const { at, count, resolve } of batch.waiters) resolve(found.slice(at, at + count));
      },
      (error: unknown) => {
        for (const { reject } of batch.waiters) reject(error);
      },
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
    await this.committer.serially(() => this.committer.commit((tx) => tx.write(puts, deletes), options.sync));
  }

  async transact<T>(work: (tx: CommitTransaction) => Promise<T>): Promise<T> {
    this.assertOpen();
    return this.committer.serially(() => this.committer.commit(work, this.sync));
  }

  // ---- errors ----

  /** Open, or closing while calls already taken finish. */
  private usable(): boolean {
    return this.state === 'open' || this.state === 'closing';
  }

  private assertOpen(): void {
    if (this.state !== 'open') throw new StorageError(`the PostgreSQL store ${this.shown} is not open`);
  }

  private failure(what: string, error: unknown): StorageError {
    return failure(this.shown, what, error);
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

/** A backend for the PostgreSQL store at `location` (a `postgresql://` or `postgres://` URL). */
export function postgresBackend(location: string, options: PostgresBackendOptions): PostgresBackend {
  return new PostgresBackend(location, options);
}
