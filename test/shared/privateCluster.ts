/**
 * A throwaway PostgreSQL cluster of a test's own (scripts/pg-cluster.sh
 * start/stop), for what must never be done to the shared test server:
 * crashing it (`pg_ctl -m immediate stop`), restarting it, and killing every
 * buildcoord session on it.
 */
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { pgConfig } from '../../src/persistence/postgres/url.ts';

const run = promisify(execFile);
const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'scripts', 'pg-cluster.sh');
const PGBIN = process.env.PGBIN ?? '/usr/lib/postgresql/15/bin';
const root = process.getuid?.() === 0;

/** Runs a PostgreSQL program as the cluster's owner (postgres, when we are root). */
function asOwner(program: string, args: string[]) {
  const path = join(PGBIN, program);
  return root ? run('runuser', ['-u', 'postgres', '--', path, ...args]) : run(path, args);
}

export class PrivateCluster {
  private constructor(
    /** `postgresql://postgres@/postgres?host=DIR&port=PORT` */
    readonly url: string,
    readonly dir: string,
    readonly port: string,
  ) {}

  static async start(): Promise<PrivateCluster> {
    const { stdout } = await run('bash', [SCRIPT, 'start'], { env: { ...process.env, BUILDCOORD_PG_PORT: process.env.BUILDCOORD_PRIVATE_PG_PORT ?? '55433' } });
    const url = stdout.trim().split('\n').pop()!;
    const dir = /[?&]host=([^&]+)/.exec(url)?.[1];
    const port = /[?&]port=([^&]+)/.exec(url)?.[1];
    if (dir === undefined || port === undefined) throw new Error(`pg-cluster.sh start printed no URL: ${stdout}`);
    return new PrivateCluster(url, decodeURIComponent(dir), port);
  }

  /** A crash: the postmaster and every backend end at once, nothing flushed beyond what is already in the WAL. */
  async stopImmediate(): Promise<void> {
    await asOwner('pg_ctl', ['-D', join(this.dir, 'data'), '-m', 'immediate', '-w', 'stop']);
  }

  /** Starts the cluster again (crash recovery replays the WAL), as scripts/pg-cluster.sh first did. */
  async restart(): Promise<void> {
    await asOwner('pg_ctl', [
      '-D',
      join(this.dir, 'data'),
      '-l',
      join(this.dir, 'log'),
      '-w',
      '-t',
      '60',
      '-o',
      `-p ${this.port} -k ${this.dir} -c listen_addresses='' -c shared_preload_libraries=pg_stat_statements`,
      'start',
    ]);
  }

  /** Ends every buildcoord session (pg_terminate_backend); resolves to how many. */
  async terminateBackends(): Promise<number> {
    const client = new pg.Client(pgConfig(this.url));
    client.on('error', () => {});
    await client.connect();
    try {
      const { rows } = await client.query<{ n: string }>(
        "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))::text AS n FROM pg_stat_activity WHERE application_name = 'buildcoord' AND pid <> pg_backend_pid()",
      );
      return Number(rows[0]!.n);
    } finally {
      await client.end().catch(() => {});
    }
  }

  async destroy(): Promise<void> {
    await run('bash', [SCRIPT, 'stop', this.dir]).catch(() => {});
  }
}
