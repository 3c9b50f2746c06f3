// Server settings no shared test server may be given: a throwaway cluster of this file's own (scripts/pg-cluster.sh) where COMMIT blocks on a synchronous standby that never comes, and where fsync is turned off.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { StorageError } from '../../../src/errors.ts';
import { postgresBackend } from '../../../src/persistence/postgres/backend.ts';
import { describePg, pgConfig, withSchema } from '../../support/postgres.ts';

const run = promisify(execFile);
const script = fileURLToPath(new URL('../../../scripts/pg-cluster.sh', import.meta.url));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// Runs where the PostgreSQL tests run; the cluster is made from the same binaries as the shared one.
describePg('PostgreSQL settings tried on a private cluster', () => {
  let url = '';
  let dir = '';
  let admin: pg.Client;

  beforeAll(async () => {
    const { stdout } = await run(script, ['start'], { env: { ...process.env, BUILDCOORD_PG_PORT: '55439' } });
    url = stdout.trim().split('\n').pop()!;
    dir = decodeURIComponent(/[?&]host=([^&]*)/.exec(url)![1]!);
    admin = new pg.Client(pgConfig(url));
    await admin.connect();
  }, 60_000);
  afterAll(async () => {
    await admin?.end();
    if (dir !== '') await run(script, ['stop', dir]);
  }, 60_000);

  /** Sets a server setting for every session and waits until new sessions see it. */
  async function setServer(name: string, value: string | null): Promise<void> {
    await admin.query(value === null ? `ALTER SYSTEM RESET ${name}` : `ALTER SYSTEM SET ${name} = '${value}'`);
    await admin.query('SELECT pg_reload_conf()');
    const expected = value ?? (name === 'fsync' ? 'on' : '');
    for (let i = 0; i < 100; i++) {
      const probe = new pg.Client(pgConfig(url));
      await probe.connect();
      const seen = Object.values((await probe.query(`SHOW ${name}`)).rows[0])[0];
      await probe.end();
      if (seen === expected) return;
      await sleep(20);
    }
    throw new Error(`${name} did not become ${expected}`);
  }

  it('a COMMIT blocked on synchronous replication whose session is killed: resolved as landed, not run again', async () => {
    const backend = postgresBackend(withSchema(url, 'bc_sync'), { sync: true });
    await backend.open();
    let runs = 0;
    let settled = false;
    try {
      await setServer('synchronous_standby_names', 'nobody');
      await sleep(200); // the checkpointer publishes that a standby is wanted
      const committing = backend
        .transact(async (tx) => {
          runs++;
          await tx.rangeKeys([{ gte: 'run/', lt: 'run0' }]);
          await tx.write([[`run/${runs}`, new Uint8Array([runs]), String(runs)]], []);
          return runs;
        })
        .finally(() => (settled = true));
      let pid: number | undefined;
      for (let i = 0; i < 250 && pid === undefined; i++) {
        const { rows } = await admin.query(`SELECT pid FROM pg_stat_activity WHERE wait_event = 'SyncRep' AND application_name = 'buildcoord'`);
        pid = rows[0]?.pid;
        if (pid === undefined) await sleep(20);
      }
      expect(pid, 'the commit waits for the standby').toBeDefined();
      // Committed locally, not yet acknowledged: the session ends without an answer to COMMIT.
      await admin.query('SELECT pg_terminate_backend($1)', [pid]);
      for (let i = 0; i < 150 && !settled && runs < 2; i++) await sleep(20);
      await setServer('synchronous_standby_names', null); // lets any second run's commit through, so a wrong resolution fails rather than hangs
      expect(await committing).toBe(1);
      expect(runs).toBe(1);
      const { rows } = await admin.query(`SELECT convert_from(key, 'UTF8') AS key FROM bc_sync.bc_kv`);
      expect(rows.map((r) => r.key)).toEqual(['run/1']);
    } finally {
      await setServer('synchronous_standby_names', null);
      await backend.close();
    }
  });

  it('a server running with fsync off is refused', async () => {
    await setServer('fsync', 'off');
    try {
      const refused = await postgresBackend(withSchema(url, 'bc_nofsync'), { sync: false })
        .open()
        .catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(StorageError);
      expect((refused as Error).message).toMatch(/fsync=off.*refusing to open/);
      expect((await admin.query(`SELECT 1 FROM pg_namespace WHERE nspname = 'bc_nofsync'`)).rowCount).toBe(0); // nothing was made
    } finally {
      await setServer('fsync', null);
    }
    const backend = postgresBackend(withSchema(url, 'bc_nofsync'), { sync: false });
    await backend.open();
    await backend.close();
  });
});
