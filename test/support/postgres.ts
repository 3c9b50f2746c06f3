/**
 * PostgreSQL for tests: the server comes from BUILDCOORD_TEST_PG (a throwaway
 * cluster: `scripts/pg-cluster.sh run npx vitest run`), each test file works
 * in a schema of its own, and CI never skips.
 *
 * URLs are the project's form: `postgresql://user@host/db?schema=NAME`, or
 * with a unix socket `postgresql://postgres@/postgres?host=DIR&port=55432`.
 * `pg` copies `schema` into its config but does nothing with it, so
 * `pgConfig` (src/persistence/postgres/url.ts) turns it into the session's
 * search_path.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { describe } from 'vitest';
import { pgConfig, withoutSchema, withSchema } from '../../src/persistence/postgres/url.ts';

export const TEST_PG_VARIABLE = 'BUILDCOORD_TEST_PG';

/** The test server's URL, or undefined when none is given. */
export function testPostgresUrl(): string | undefined {
  const url = process.env[TEST_PG_VARIABLE]?.trim();
  return url === undefined || url === '' ? undefined : url;
}

/**
 * A describe block that needs PostgreSQL; `fn` gets the server's URL. Without
 * BUILDCOORD_TEST_PG it is skipped and says so on stdout, except under CI
 * (CI=true), where a missing server fails the file at collection.
 */
export function describePg(name: string, fn: (url: string) => void): void {
  const url = testPostgresUrl();
  if (url !== undefined) {
    describe(name, () => fn(url));
    return;
  }
  if (process.env.CI === 'true') {
    throw new Error(`${name}: ${TEST_PG_VARIABLE} is not set, and CI must not skip PostgreSQL tests (run them under scripts/pg-cluster.sh run ...)`);
  }
  console.log(`SKIPPED ${name}: set ${TEST_PG_VARIABLE} to a PostgreSQL URL to run it (scripts/pg-cluster.sh run npx vitest run ...)`);
  describe.skip(name, () => fn(''));
}

// The URL helpers live with the store (src/persistence/postgres/url.ts); tests import them from here too.
export { pgConfig, schemaOf, withSchema } from '../../src/persistence/postgres/url.ts';

export interface FreshSchema {
  /** The server's URL with `schema=NAME` set. */
  url: string;
  schema: string;
  /** Drops the schema and everything in it. */
  drop(): Promise<void>;
}

/** Creates an empty schema `bc_test_<random>` on the server of `url` (whatever schema `url` names is ignored). */
export async function freshSchema(url: string): Promise<FreshSchema> {
  const schema = `bc_test_${randomBytes(6).toString('hex')}`;
  const admin = pgConfig(withoutSchema(url));
  const run = async (sql: string) => {
    const client = new pg.Client(admin);
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await run(`CREATE SCHEMA ${schema}`);
  return { url: withSchema(url, schema), schema, drop: () => run(`DROP SCHEMA IF EXISTS ${schema} CASCADE`) };
}
