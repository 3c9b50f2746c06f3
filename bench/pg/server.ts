/**
 * The PostgreSQL server a benchmark runs on, seen from outside: session
 * configs for a URL and a schema, the server's CPU from /proc, what
 * pg_stat_database and pg_stat_statements count, and fresh schemas to run in.
 * Shared by the Buildbot baseline (baselines/pgBuildbot.ts) and the shared-store
 * scenario (pg/run.ts).
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import pg from 'pg';
import { IDENTIFIER, pgConfig, withoutParam, withoutSchema, withSchema } from '../../src/persistence/postgres/url.ts';

/**
 * A pg config for a URL in the project's form, with the session's search_path
 * set to `schema` (replacing any `schema=` parameter; null: none),
 * synchronous_commit on, and, if given, `applicationName` in place of any the
 * URL names (the runs tell their sessions apart by it).
 */
export function sessionConfig(url: string, schema: string | null, applicationName?: string): pg.PoolConfig {
  const placed = schema === null ? withoutSchema(url) : withSchema(url, schema);
  if (applicationName === undefined) return pgConfig(placed, ['synchronous_commit=on']);
  return { ...pgConfig(withoutParam(placed, 'application_name'), ['synchronous_commit=on']), application_name: applicationName };
}

// ---- PostgreSQL's CPU ----

interface ProcStat {
  ppid: number;
  /** utime + stime, and cutime + cstime (children waited for), in clock ticks. */
  own: number;
  children: number;
}

function procStat(pid: number): ProcStat | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // Fields after "(comm)": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime.
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { ppid: Number(f[1]), own: Number(f[11]) + Number(f[12]), children: Number(f[13]) + Number(f[14]) };
}

const comm = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return null;
  }
};

let ticksPerSecond: number | undefined;
function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/**
 * The postmaster's pid, if the server runs on this machine: the parent of
 * this session's backend, both named "postgres" in /proc. Null otherwise.
 */
export async function localPostmaster(client: pg.ClientBase): Promise<number | null> {
  const backend = (await client.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number;
  const stat = procStat(backend);
  if (stat === null || comm(backend) !== 'postgres' || comm(stat.ppid) !== 'postgres') return null;
  return stat.ppid;
}

/**
 * CPU the server has used so far, in microseconds: the postmaster's own and
 * its reaped children's (so backends and autovacuum workers that exited
 * count), plus every live child's.
 */
export function serverCpuUs(postmaster: number): number {
  const pm = procStat(postmaster);
  if (pm === null) throw new Error(`postmaster ${postmaster} is gone`);
  let ticks = pm.own + pm.children;
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = procStat(Number(name));
    if (stat !== null && stat.ppid === postmaster) ticks += stat.own;
  }
  return (ticks * 1e6) / clockTicks();
}

// ---- pg_stat_statements ----

/** The schema pg_stat_statements is installed in (quoted, for SQL), or null if this database does not have it. */
export async function statementsSchema(client: pg.ClientBase): Promise<string | null> {
  const { rows } = await client.query(
    `SELECT quote_ident(n.nspname) AS schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_stat_statements'`,
  );
  if (rows.length === 0) return null;
  const schema = rows[0].schema as string;
  try {
    await client.query(`SELECT 1 FROM ${schema}.pg_stat_statements LIMIT 1`); // fails unless the library is preloaded
    return schema;
  } catch {
    return null;
  }
}

export interface StatementTime {
  query: string;
  calls: number;
  totalMs: number;
}

/** Top-level statements of this database since the last reset, slowest first, leaving out the measuring's own. */
export async function statementTimes(client: pg.ClientBase, schema: string): Promise<StatementTime[]> {
  const { rows } = await client.query(
    `SELECT query, calls::float8 AS calls, total_exec_time AS ms FROM ${schema}.pg_stat_statements
     WHERE toplevel AND dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
       AND query NOT LIKE '%pg_stat_statements%' AND query NOT LIKE '%pg_backend_pid%' AND query NOT LIKE '%pg_stat_database%'
       AND query NOT LIKE '%pg_stat_activity%'
     ORDER BY total_exec_time DESC`,
  );
  return rows.map((r: { query: string; calls: number; ms: number }) => ({ query: r.query, calls: r.calls, totalMs: r.ms }));
}

// ---- a probe: one session that watches the server while others work ----

/** What the server has done so far, by its own counters. */
export interface ServerCounters {
  /** The server's processes' CPU (utime + stime), microseconds; null if the server is not on this machine. */
  cpuUs: number | null;
  /** pg_stat_database for this database: transactions committed and rolled back (as far as sessions have flushed them: see settle). */
  xactCommit: number;
  xactRollback: number;
  /**
   * Statements this probe had run before reading these counters, each a transaction of its own: the probe's
   * own share of a later reading's xact_commit is the difference (once its statistics are flushed, see settle).
   */
  probeQueries: number;
}

export interface ServerSettings {
  fsync: string;
  synchronousCommit: string;
  serverVersion: string;
  sharedBuffers: string;
}

/**
 * How long an idle session may keep its statistics from pg_stat_database: a session flushes them at most once a
 * second, and when it goes idle with some pending, within PGSTAT_IDLE_INTERVAL (10 s) at the latest. Exiting flushes.
 */
export const STATS_IDLE_FLUSH_MS = 10_500;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One session of its own on the server: schemas, settings, counters. */
export class ServerProbe {
  private queries = 0;

  private constructor(
    private readonly client: pg.Client,
    readonly postmaster: number | null,
    /** Where pg_stat_statements is (quoted), or null without it. */
    readonly statements: string | null,
  ) {}

  private query(text: string, values?: unknown[]) {
    this.queries++;
    return this.client.query(text, values);
  }

  static async connect(url: string): Promise<ServerProbe> {
    const client = new pg.Client(sessionConfig(url, null, 'buildcoord-bench-probe'));
    client.on('error', () => {}); // a lost session fails the next query, which says why
    await client.connect();
    try {
      return new ServerProbe(client, await localPostmaster(client), await statementsSchema(client));
    } catch (error) {
      await client.end();
      throw error;
    }
  }

  async settings(): Promise<ServerSettings> {
    const show = async (name: string) => (await this.query(`SHOW ${name}`)).rows[0][name] as string;
    return {
      fsync: await show('fsync'),
      synchronousCommit: await show('synchronous_commit'),
      serverVersion: await show('server_version'),
      sharedBuffers: await show('shared_buffers'),
    };
  }

  async createSchema(schema: string): Promise<void> {
    if (!IDENTIFIER.test(schema)) throw new Error(`schema ${JSON.stringify(schema)} is not a plain identifier`);
    await this.query(`CREATE SCHEMA ${schema}`);
  }

  async dropSchema(schema: string): Promise<void> {
    if (!IDENTIFIER.test(schema)) throw new Error(`schema ${JSON.stringify(schema)} is not a plain identifier`);
    await this.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  }

  async schemaExists(schema: string): Promise<boolean> {
    return (await this.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema.toLowerCase()])).rowCount === 1;
  }

  /** A checkpoint now, so one is less likely to land inside a timed run; false if this role may not. */
  async checkpoint(): Promise<boolean> {
    try {
      await this.query('CHECKPOINT');
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Waits until no session named one of `applicationNames` is left on the
   * server (at most `timeoutMs`), then long enough for every idle session's
   * statistics to reach pg_stat_database.
   */
  async settle(applicationNames: readonly string[], flushMs = STATS_IDLE_FLUSH_MS, timeoutMs = 5_000): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (performance.now() < deadline) {
      const { rows } = await this.query('SELECT count(*)::integer AS n FROM pg_stat_activity WHERE application_name = ANY($1::text[])', [applicationNames]);
      if (rows[0].n === 0) break;
      await sleep(20);
    }
    await sleep(flushMs);
  }

  async counters(): Promise<ServerCounters> {
    const probeQueries = this.queries;
    const { rows } = await this.query('SELECT xact_commit::float8 AS commits, xact_rollback::float8 AS rollbacks FROM pg_stat_database WHERE datname = current_database()');
    return {
      cpuUs: this.postmaster === null ? null : serverCpuUs(this.postmaster),
      xactCommit: rows[0].commits as number,
      xactRollback: rows[0].rollbacks as number,
      probeQueries,
    };
  }

  /** Forgets pg_stat_statements' figures (no-op without it). */
  async resetStatements(): Promise<void> {
    if (this.statements !== null) await this.query(`SELECT ${this.statements}.pg_stat_statements_reset()`);
  }

  /** pg_stat_statements' figures since the last reset, slowest first, or null without it. */
  async statementTimes(): Promise<StatementTime[] | null> {
    if (this.statements === null) return null;
    this.queries++;
    return statementTimes(this.client, this.statements);
  }

  async close(): Promise<void> {
    await this.client.end();
  }
}
