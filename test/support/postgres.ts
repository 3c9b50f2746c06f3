/**
 * PostgreSQL for tests: the server comes from BUILDCOORD_TEST_PG (a throwaway
 * cluster: `scripts/pg-cluster.sh run npx vitest run`), each test file works
 * in a schema of its own, and CI never skips.
 *
 * URLs are the project's form: `postgresql://user@host/db?schema=NAME`, or
 * with a unix socket `postgresql://postgres@/postgres?host=DIR&port=55432`.
 * `pg` copies `schema` into its config but does nothing with it, so
 * `pgConfig` turns it into the session's search_path.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { describe } from 'vitest';

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

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A URL's query parameters, each as written (undecoded), and what comes before the query. */
function splitUrl(url: string): { base: string; params: string[] } {
  const hash = url.indexOf('#');
  const bare = hash === -1 ? url : url.slice(0, hash);
  const query = bare.indexOf('?');
  if (query === -1) return { base: bare, params: [] };
  return { base: bare.slice(0, query), params: bare.slice(query + 1).split('&').filter((p) => p !== '') };
}

const keyOf = (param: string) => decodeURIComponent(param.split('=', 1)[0]!.replace(/\+/g, ' '));
const valueOf = (param: string) => {
  const eq = param.indexOf('=');
  return eq === -1 ? '' : decodeURIComponent(param.slice(eq + 1).replace(/\+/g, ' '));
};
const joinUrl = (base: string, params: string[]) => (params.length === 0 ? base : `${base}?${params.join('&')}`);

/** The `schema` parameter of a URL, if it has one. */
export function schemaOf(url: string): string | undefined {
  const param = splitUrl(url).params.find((p) => keyOf(p) === 'schema');
  return param === undefined ? undefined : valueOf(param);
}

/** The URL with its `schema` parameter set to `schema` (replacing any). */
export function withSchema(url: string, schema: string): string {
  const { base, params } = splitUrl(url);
  return joinUrl(base, [...params.filter((p) => keyOf(p) !== 'schema'), `schema=${encodeURIComponent(schema)}`]);
}

/**
 * A `pg` Client/Pool config for a URL: the `schema` parameter removed and
 * applied as the session's search_path (`-c search_path=NAME` in the startup
 * options, merged with any `options` the URL has). Throws on a schema name
 * that is not a plain identifier.
 */
export function pgConfig(url: string): pg.PoolConfig {
  const { base, params } = splitUrl(url);
  const schema = schemaOf(url);
  const options = params.filter((p) => keyOf(p) === 'options').map(valueOf);
  const rest = params.filter((p) => keyOf(p) !== 'schema' && keyOf(p) !== 'options');
  if (schema !== undefined) {
    if (!IDENTIFIER.test(schema)) throw new Error(`schema ${JSON.stringify(schema)} is not a plain identifier ([A-Za-z_][A-Za-z0-9_]*)`);
    options.push(`-c search_path=${schema}`);
  }
  // A connection string's values override the config's in pg, so options must not stay in it.
  const config: pg.PoolConfig = { connectionString: joinUrl(base, rest) };
  if (options.length > 0) config.options = options.join(' ');
  return config;
}

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
  const { base, params } = splitUrl(url);
  const admin = pgConfig(joinUrl(base, params.filter((p) => keyOf(p) !== 'schema')));
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
