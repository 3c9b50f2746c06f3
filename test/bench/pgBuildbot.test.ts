// The PostgreSQL baseline must refuse what Buildbot refuses, never let a request be claimed twice, and count what it commits.
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PgBuildbotClaims, runPgBuildbot } from '../../bench/baselines/pgBuildbot.ts';
import { describePg, freshSchema, pgConfig } from '../support/postgres.ts';
import type { FreshSchema } from '../support/postgres.ts';

async function schemaExists(url: string, schema: string): Promise<boolean> {
  const client = new pg.Client(pgConfig(url));
  await client.connect();
  try {
    return (await client.query('SELECT 1 FROM information_schema.schemata WHERE schema_name = $1', [schema])).rowCount === 1;
  } finally {
    await client.end();
  }
}

describePg('the PostgreSQL Buildbot baseline', (url) => {
  let fresh: FreshSchema;
  let claims: PgBuildbotClaims | null = null;
  beforeAll(async () => {
    fresh = await freshSchema(url);
    claims = await PgBuildbotClaims.open(fresh.url, { connections: 4, masters: 2 });
    await claims.addRequests(5, 5);
  });
  afterAll(async () => {
    await claims?.close();
    await fresh?.drop();
  });

  it('works in the schema the URL names', async () => {
    const client = new pg.Client(pgConfig(fresh.url));
    await client.connect();
    try {
      expect((await client.query('SHOW search_path')).rows[0].search_path).toBe(fresh.schema);
      expect((await client.query('SELECT count(*)::integer AS n FROM buildrequests')).rows[0].n).toBe(5);
    } finally {
      await client.end();
    }
  });

  it('refuses a second claim, a missing request and a second complete, counting each and writing nothing', async () => {
    const c = claims!;
    expect(await c.tryClaim([1], 1)).toBe(true);
    expect(await c.tryClaim([1], 2)).toBe(false); // claimed by master 1: a lost race, not an exception
    expect(await c.tryClaim([1], 1)).toBe(false); // by itself too
    expect(await c.tryClaim([6], 1)).toBe(false); // missing (foreign key)
    expect(await c.tryClaim([2, 1], 2)).toBe(false); // all or nothing
    expect(await c.claimedBy(2)).toBe(null);
    expect(c.lostRaces).toBe(4);

    expect(await c.tryComplete([1], 0)).toBe(true);
    expect(await c.tryComplete([1], 0)).toBe(false); // complete already
    expect(await c.tryComplete([2, 6], 0)).toBe(false); // 6 is missing: 2 stays incomplete
    expect(await c.isComplete(2)).toBe(false);
    expect(await c.tryComplete([3], 0)).toBe(true); // unclaimed: completes, as Buildbot's does
    expect(c.refusedCompletes).toBe(2);

    expect([c.commits, c.rollbacks]).toEqual([3, 6]);
    expect(await c.unclaimed('builder-1')).toEqual([2]);
    expect(await c.heldByMaster(1)).toEqual([{ brid: 1, complete: true }]);
    expect(await c.doubleClaims()).toBe(0);
  });

  it('claims each request once under a race of 4 masters x 16 in flight, and drops its schema', async () => {
    const requests = 300;
    const figures = await runPgBuildbot({ url, requests, inFlight: 64, masters: 4, connections: 16, warmup: 64, contended: true });
    expect(figures.wins).toBe(requests);
    expect(figures.cycles).toBe(requests);
    expect(figures.losses).toBe(3 * requests); // every other master tried and lost, counted
    expect(figures.doubleWins).toEqual([]);
    expect(figures.doubleClaims).toBe(0);
    expect(figures.problems).toEqual([]);
    expect(figures.refusedCompletes).toBe(0);
    expect(figures.commitsPerCycle).toBe(2);
    expect(figures.cyclesPerSecond).toBeGreaterThan(0);
    expect(figures.cycleLatency.p50).toBeGreaterThan(0);
    expect(figures.cycleLatency.p99).toBeGreaterThanOrEqual(figures.cycleLatency.p50);
    expect(figures.pgStatementUsPerCycle).toBeGreaterThan(0);
    expect(figures.pgCpuUsPerCycle).toBeGreaterThan(0);
    expect(figures.settings).toMatchObject({ fsync: 'on', synchronousCommit: 'on' });
    expect(await schemaExists(url, figures.schema)).toBe(false);
  });

  it('wins every claim when each request is handed to one claimer', async () => {
    const figures = await runPgBuildbot({ url, requests: 200, inFlight: 16, masters: 2, connections: 4, warmup: 16 });
    expect([figures.wins, figures.losses, figures.cycles, figures.commits]).toEqual([200, 0, 200, 400]);
    expect(figures.problems).toEqual([]);
    expect(await schemaExists(url, figures.schema)).toBe(false);
  });

  it('drops the schema it was given', async () => {
    await claims!.close();
    claims = null;
    await fresh.drop();
    expect(await schemaExists(url, fresh.schema)).toBe(false);
  });
});
