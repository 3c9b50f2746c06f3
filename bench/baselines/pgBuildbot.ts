import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { runCycles } from '../pg/cycles.ts';
import { schemaOf } from '../../src/persistence/postgres/url.ts';
import { localPostmaster, serverCpuUs, sessionConfig, statementsSchema, statementTimes } from '../pg/server.ts';
import type { StatementTime } from '../pg/server.ts';
import type { Target } from '../targets.ts';
import { audit, doubleWins, latency } from '../stats.ts';
import type { Latency } from '../stats.ts';
import type { Figures } from '../worker.ts';

/**
 * What a build farm sharing PostgreSQL would otherwise run: Buildbot 0.8.8's
 * claim tables, driven with `pg` as Buildbot's connector drives them, one
 * transaction per call on a pool. A claim inserts rows into
 * `buildrequest_claims`, whose primary key is the request id, so a second
 * claim fails on the constraint (23505) as Buildbot's IntegrityError does,
 * and is counted as a lost race; a claim of a missing request fails on the
 * foreign key (23503), which Buildbot turns into the same AlreadyClaimedError.
 * A complete is Buildbot's one UPDATE ... WHERE complete <> 1, rolled back
 * (NotClaimedError, counted) if it changed fewer rows than it was given.
 *
 * The tables are 0.8.8's, in a schema of their own: 0.8.8 already kept
 * claims in `buildrequest_claims` (buildrequests lost its claimed_at /
 * claimed_by_* columns in 0.8.5), and named a master by its row in `objects`;
 * here that table is `masters` (id, name), as in 0.9 and the contract.
 * buildsets keeps its `sourcestampsetid` column without the sourcestampsets
 * table. Statements are prepared (named) on each connection, as a store
 * written with `pg` would do.
 */

/** The application_name of the baseline's sessions. */
export const PG_BUILDBOT_APPLICATION = 'buildcoord-bench-buildbot';

/** Buildbot 0.8.8's claim-related tables, as its SQLAlchemy model creates them on PostgreSQL. */
const SCHEMA_SQL = `
  CREATE TABLE masters (
    id INTEGER PRIMARY KEY, name VARCHAR(128) NOT NULL UNIQUE);
  CREATE TABLE buildsets (
    id SERIAL PRIMARY KEY, external_idstring VARCHAR(256), reason VARCHAR(256), sourcestampsetid INTEGER NOT NULL,
    submitted_at INTEGER NOT NULL, complete SMALLINT NOT NULL DEFAULT 0, complete_at INTEGER, results SMALLINT);
  CREATE INDEX buildsets_complete ON buildsets (complete);
  CREATE INDEX buildsets_submitted_at ON buildsets (submitted_at);
  CREATE TABLE buildrequests (
    id SERIAL PRIMARY KEY, buildsetid INTEGER NOT NULL REFERENCES buildsets (id), buildername VARCHAR(256) NOT NULL,
    priority INTEGER NOT NULL DEFAULT 0, complete INTEGER DEFAULT 0, results SMALLINT, submitted_at INTEGER NOT NULL, complete_at INTEGER);
  CREATE INDEX buildrequests_buildsetid ON buildrequests (buildsetid);
  CREATE INDEX buildrequests_buildername ON buildrequests (buildername);
  CREATE INDEX buildrequests_complete ON buildrequests (complete);
  CREATE TABLE buildrequest_claims (
    brid INTEGER PRIMARY KEY REFERENCES buildrequests (id), masterid INTEGER NOT NULL REFERENCES masters (id), claimed_at INTEGER NOT NULL);
  CREATE INDEX buildrequest_claims_masterid ON buildrequest_claims (masterid);`;

const CLAIM = { name: 'bb_claim', text: 'INSERT INTO buildrequest_claims (brid, masterid, claimed_at) VALUES ($1, $2, $3)' };
const COMPLETE = { name: 'bb_complete', text: 'UPDATE buildrequests SET complete = 1, results = $2, complete_at = $3 WHERE id = ANY($1::integer[]) AND complete <> 1' };
// Buildbot's getBuildRequests(buildername=, claimed=False): an outer join on the claims, whole rows back.
const UNCLAIMED = {
  name: 'bb_unclaimed',
  text: `SELECT br.*, c.masterid, c.claimed_at FROM buildrequests br LEFT JOIN buildrequest_claims c ON c.brid = br.id
         WHERE br.buildername = $1 AND br.complete = 0 AND c.claimed_at IS NULL ORDER BY br.id`,
};
const HELD_BY = { name: 'bb_held_by', text: 'SELECT c.brid, br.complete FROM buildrequest_claims c JOIN buildrequests br ON br.id = c.brid WHERE c.masterid = $1' };

const UNIQUE_VIOLATION = '23505';
const FOREIGN_KEY_VIOLATION = '23503';
const epoch = () => Math.floor(Date.now() / 1000);

/** Buildbot 0.8.8's claim tables in one schema, over a pool; counts what it commits and refuses. */
export class PgBuildbotClaims {
  /** COMMITs issued that succeeded, and ROLLBACKs issued. */
  commits = 0;
  rollbacks = 0;
  /** Claims refused: the request was claimed already (23505) or does not exist (23503). */
  lostRaces = 0;
  /** Completes refused: a request was complete already or missing, so the UPDATE changed fewer rows. */
  refusedCompletes = 0;

  private constructor(
    readonly pool: pg.Pool,
    readonly schema: string,
  ) {}

  /**
   * Opens the tables in `schema` (default: the URL's `schema=` parameter),
   * creating the schema and tables if the schema has no `buildrequests`.
   * Master m (0-based) is masters row m + 1; `masters` rows are added.
   */
  static async open(url: string, options: { schema?: string; connections?: number; masters?: number } = {}): Promise<PgBuildbotClaims> {
    const schema = options.schema ?? schemaOf(url);
    if (schema === undefined) throw new Error('PgBuildbotClaims.open: no schema (give one, or schema=NAME in the URL)');
    const pool = new pg.Pool({ ...sessionConfig(url, schema, PG_BUILDBOT_APPLICATION), max: options.connections ?? 16, idleTimeoutMillis: 0 });
    pool.on('error', () => {}); // an idle client's error: the next query on it fails and says why
    try {
      const client = await pool.connect();
      try {
        await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
        const exists = await client.query(`SELECT to_regclass('${schema}.buildrequests') AS t`);
        if (exists.rows[0].t === null) await client.query(`BEGIN; ${SCHEMA_SQL}; COMMIT`);
        const masters = options.masters ?? 4;
        await client.query(`INSERT INTO masters (id, name) SELECT m, 'master-' || (m - 1) FROM generate_series(1, $1::integer) m ON CONFLICT (id) DO NOTHING`, [masters]);
      } finally {
        client.release();
      }
    } catch (error) {
      await pool.end();
      throw error;
    }
    return new PgBuildbotClaims(pool, schema);
  }

  /** Opens every connection of the pool now, so the first timed calls do not. */
  async warmPool(): Promise<void> {
    const clients = await Promise.all(Array.from({ length: this.pool.options.max }, () => this.pool.connect()));
    for (const client of clients) client.release();
  }

  /** Adds requests `first`..`first + count - 1` (setup, one statement each table): request i on builder (i - 1) % builders, `builders` to a buildset. */
  async addRequests(count: number, builders: number, first = 1): Promise<void> {
    const last = first + count - 1;
    const at = epoch();
    await this.pool.query(
      `INSERT INTO buildsets (id, reason, sourcestampsetid, submitted_at)
       SELECT s, 'bench', 1, $3 FROM generate_series((($1::integer - 1) / $4::integer) + 1, (($2::integer - 1) / $4::integer) + 1) s
       ON CONFLICT (id) DO NOTHING`,
      [first, last, at, builders],
    );
    await this.pool.query(
      `INSERT INTO buildrequests (id, buildsetid, buildername, submitted_at)
       SELECT i, ((i - 1) / $3::integer) + 1, 'builder-' || ((i - 1) % $3::integer), $4 FROM generate_series($1::integer, $2::integer) i`,
      [first, last, builders, at],
    );
  }

  /** One transaction: BEGIN, the statements, COMMIT; ROLLBACK and rethrow if one fails; what `body` returned, or null if it said to roll back. */
  private async transaction<T>(body: (client: pg.PoolClient) => Promise<{ commit: boolean; value: T }>): Promise<T | null> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      let outcome;
      try {
        outcome = await body(client);
      } catch (error) {
        await this.rollback(client);
        throw error;
      }
      if (!outcome.commit) {
        await this.rollback(client);
        return null;
      }
      await client.query('COMMIT');
      this.commits++;
      return outcome.value;
    } catch (error) {
      if (!(error instanceof pg.DatabaseError)) broken = error as Error; // the connection may be unusable: drop it
      throw error;
    } finally {
      client.release(broken);
    }
  }

  private async rollback(client: pg.PoolClient): Promise<void> {
    await client.query('ROLLBACK');
    this.rollbacks++;
  }

  /** claimBuildRequests(brids) as master `masterid`: true if claimed; false if any was claimed already or missing (nothing written). */
  async tryClaim(brids: readonly number[], masterid: number, claimedAt = epoch()): Promise<boolean> {
    const done = await this.transaction(async (client) => {
      try {
        // As Buildbot's executemany: one INSERT per request, in the one transaction.
        for (const brid of brids) await client.query({ ...CLAIM, values: [brid, masterid, claimedAt] });
        return { commit: true, value: true };
      } catch (error) {
        const code = (error as { code?: string }).code;
        if (code === UNIQUE_VIOLATION || code === FOREIGN_KEY_VIOLATION) {
          this.lostRaces++;
          return { commit: false, value: false };
        }
        throw error;
      }
    });
    return done === true;
  }

  /** completeBuildRequests(brids, results): true if completed; false if any was complete already or missing (nothing written). */
  async tryComplete(brids: readonly number[], results: number, completeAt = epoch()): Promise<boolean> {
    const done = await this.transaction(async (client) => {
      const { rowCount } = await client.query({ ...COMPLETE, values: [brids, results, completeAt] });
      if (rowCount === brids.length) return { commit: true, value: true };
      this.refusedCompletes++;
      return { commit: false, value: false };
    });
    return done === true;
  }

  /** getBuildRequests(buildername, claimed=False): ids of unclaimed incomplete requests, ascending. */
  async unclaimed(buildername: string): Promise<number[]> {
    return (await this.pool.query({ ...UNCLAIMED, values: [buildername] })).rows.map((r: { id: number }) => r.id);
  }

  async heldByMaster(masterid: number): Promise<{ brid: number; complete: boolean }[]> {
    return (await this.pool.query({ ...HELD_BY, values: [masterid] })).rows.map((r: { brid: number; complete: number }) => ({ brid: r.brid, complete: r.complete === 1 }));
  }

  async claimedBy(brid: number): Promise<number | null> {
    return (await this.pool.query('SELECT masterid FROM buildrequest_claims WHERE brid = $1', [brid])).rows[0]?.masterid ?? null;
  }

  async isComplete(brid: number): Promise<boolean> {
    return (await this.pool.query('SELECT complete FROM buildrequests WHERE id = $1', [brid])).rows[0]?.complete === 1;
  }

  /** Requests with more than one claim row (the primary key should make this 0). */
  async doubleClaims(): Promise<number> {
    const { rows } = await this.pool.query('SELECT count(*)::integer AS n FROM (SELECT brid FROM buildrequest_claims GROUP BY brid HAVING count(*) > 1) d');
    return rows[0].n as number;
  }

  /** Drops the schema and everything in it. */
  async dropSchema(): Promise<void> {
    await this.pool.query(`DROP SCHEMA IF EXISTS ${this.schema} CASCADE`);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/** The baseline as a Target: master m is masterid m + 1, results 0. */
export function pgBuildbotTarget(claims: PgBuildbotClaims): Target {
  return {
    claim: (master, brid) => claims.tryClaim([brid], master + 1),
    async complete(_master, brid) {
      if (!(await claims.tryComplete([brid], 0))) throw new Error(`pg baseline: request ${brid} could not be completed`);
    },
    unclaimed: (_master, buildername) => claims.unclaimed(buildername),
    claimedBy: (master) => claims.heldByMaster(master + 1),
    liveActors: () => 0,
    close: () => claims.close(),
  };
}

// ---- the run ----

export interface PgBuildbotOptions {
  /** The server (any `schema=` is ignored: the run makes a schema of its own and drops it). */
  url: string;
  /** Timed requests, each claimed and completed once. */
  requests: number;
  /** Cycles in flight at once (default 64). */
  inFlight?: number;
  /** Masters: in-flight slot w claims as master w % masters (default 4). */
  masters?: number;
  /** Pool size: connections to the server (default 16). */
  connections?: number;
  /** Builders the requests are spread over (default 16). */
  builders?: number;
  /** Requests claimed and completed untimed first, at the same concurrency (default 256). */
  warmup?: number;
  /**
   * false (default): each request is handed to one slot, so every claim wins.
   * true: every master walks the whole list (its slots share its cursor), so
   * each request is tried by every master and all but one lose the race.
   */
  contended?: boolean;
  /** Keep the schema afterwards (default: drop it). */
  keepSchema?: boolean;
}

/**
 * The figures of the other baselines (report.ts's Figures) for claim+complete
 * cycles, and what only a server shows. Claims and completes are interleaved,
 * so both phases' `seconds` are the whole timed run.
 */
export interface PgBuildbotFigures extends Figures {
  schema: string;
  seconds: number;
  /** Requests claimed and then completed. */
  cycles: number;
  cyclesPerSecond: number;
  /** From the start of a won claim to the end of its complete, waits for a connection included, in ms. */
  cycleLatency: Latency;
  /** Completes refused (must be 0 here: each request is completed once by its winner). */
  refusedCompletes: number;
  /** Requests with more than one claim row afterwards: must be 0. */
  doubleClaims: number;
  /** COMMITs issued in the timed run (ROLLBACKs of lost races are not commits), and per cycle. */
  commits: number;
  commitsPerCycle: number;
  /** The server's processes' utime+stime over the timed run, per cycle, in microseconds; null if the server is not local. */
  pgCpuUsPerCycle: number | null;
  /**
   * pg_stat_statements total_exec_time of the timed run's top-level statements, per cycle, in
   * microseconds; null without the extension. Executor wall time: lock waits (a racing insert
   * waits on the winner's unique-index entry) count, but not parse/bind/protocol work nor the
   * commit's WAL flush, which happens after COMMIT's statement returns. So it is less than pgCpuUsPerCycle.
   */
  pgStatementUsPerCycle: number | null;
  /** Where that statement time went. */
  pgStatements: StatementTime[] | null;
  settings: { inFlight: number; masters: number; connections: number; requests: number; contended: boolean; fsync: string; synchronousCommit: string; serverVersion: string };
}

const range = (first: number, count: number) => Array.from({ length: count }, (_, i) => first + i);

/** Cycles on the baseline, slot w as master w % masters; any call failing but a lost race fails the run. */
async function cycles(claims: PgBuildbotClaims, brids: readonly number[], o: { inFlight: number; masters: number; contended: boolean }) {
  const run = await runCycles(pgBuildbotTarget(claims), brids, { ...o, masterOf: (slot) => slot % o.masters });
  if (run.failed > 0) throw new Error(`pg baseline: ${run.failed} call(s) failed:\n  ${run.failures.join('\n  ')}`);
  return run;
}

/**
 * Buildbot's claim schema on PostgreSQL: seeds warmup + requests requests in
 * a new schema, runs the warm-up cycles, then the timed ones, measuring the
 * server's CPU over the timed run; checks the store afterwards.
 */
export async function runPgBuildbot(options: PgBuildbotOptions): Promise<PgBuildbotFigures> {
  const inFlight = options.inFlight ?? 64;
  const masters = options.masters ?? 4;
  const connections = options.connections ?? 16;
  const builders = options.builders ?? 16;
  const warmup = options.warmup ?? 256;
  const contended = options.contended ?? false;
  const { requests } = options;
  const schema = `bb088_${randomBytes(6).toString('hex')}`;

  const claims = await PgBuildbotClaims.open(options.url, { schema, connections, masters });
  const probe = new pg.Client(sessionConfig(options.url, schema));
  await probe.connect();
  try {
    await claims.addRequests(warmup + requests, builders);
    await claims.warmPool();
    const setting = async (name: string) => (await probe.query(`SHOW ${name}`)).rows[0][name] as string;
    const settings = {
      inFlight,
      masters,
      connections,
      requests,
      contended,
      fsync: await setting('fsync'),
      synchronousCommit: await setting('synchronous_commit'),
      serverVersion: await setting('server_version'),
    };
    await cycles(claims, range(1, warmup), { inFlight, masters, contended });

    const postmaster = await localPostmaster(probe);
    const statements = await statementsSchema(probe);
    if (statements !== null) await probe.query(`SELECT ${statements}.pg_stat_statements_reset()`);
    const commitsBefore = claims.commits;
    const refusedBefore = claims.refusedCompletes;
    const cpuBefore = postmaster === null ? 0 : serverCpuUs(postmaster);
    const brids = range(warmup + 1, requests);
    const run = await cycles(claims, brids, { inFlight, masters, contended });
    const cpuUs = postmaster === null ? null : serverCpuUs(postmaster) - cpuBefore;
    const pgStatements = statements === null ? null : await statementTimes(probe, statements);
    const commits = claims.commits - commitsBefore;

    const holdings = [];
    for (let m = 0; m < masters; m++) holdings.push(await claims.heldByMaster(m + 1));
    const done = run.cycleTimes.length;
    const phase = { seconds: run.seconds, storeWriteSeconds: null, rawWriteSeconds: null };
    const statementUs = pgStatements === null ? null : pgStatements.reduce((sum, s) => sum + s.totalMs, 0) * 1000;
    return {
      claimedPerSecond: run.wins.length / run.seconds,
      claimCallsPerSecond: run.claimTimes.length / run.seconds,
      completesPerSecond: run.completeTimes.length / run.seconds,
      claimLatency: latency(run.claimTimes),
      completeLatency: latency(run.completeTimes),
      pollLatency: null,
      pollCalls: 0,
      wins: run.wins.length,
      losses: run.losses,
      doubleWins: doubleWins(run.wins),
      problems: audit(brids, run.wins, holdings),
      liveActorsPeak: 0,
      phases: { claim: phase, complete: { ...phase } },
      schema,
      seconds: run.seconds,
      cycles: done,
      cyclesPerSecond: done / run.seconds,
      cycleLatency: latency(run.cycleTimes),
      refusedCompletes: claims.refusedCompletes - refusedBefore,
      doubleClaims: await claims.doubleClaims(),
      commits,
      commitsPerCycle: commits / done,
      pgCpuUsPerCycle: cpuUs === null ? null : cpuUs / done,
      pgStatementUsPerCycle: statementUs === null ? null : statementUs / done,
      pgStatements,
      settings,
    };
  } finally {
    await probe.end();
    try {
      if (!options.keepSchema) await claims.dropSchema();
    } finally {
      await claims.close();
    }
  }
}
