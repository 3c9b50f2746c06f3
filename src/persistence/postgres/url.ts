/**
 * From a PostgreSQL location to a `pg` connection config.
 *
 * Locations are `postgresql://user:password@host:port/db?schema=NAME` (or
 * `postgres://`); a unix socket is `postgresql://user@/db?host=/dir&port=N`.
 * `pg` copies unknown query parameters such as `schema` into its config and
 * does nothing with them, and a connection string's values override the
 * config's, so the parameters this module manages (`schema`, `options`,
 * `application_name`) are taken out of the URL and set in the config.
 */
import type pg from 'pg';
import { InvalidArgumentError } from '../../errors.ts';

/** A schema name the store accepts: a plain identifier, which PostgreSQL folds to lower case. */
export const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** PostgreSQL truncates longer names (NAMEDATALEN - 1). */
const MAX_IDENTIFIER = 63;
export const DEFAULT_SCHEMA = 'public';
export const APPLICATION_NAME = 'buildcoord';
/** A session left idle inside a transaction this long is ended by the server, releasing its locks. */
export const IDLE_IN_TRANSACTION_TIMEOUT = '15s';
const CONNECT_TIMEOUT_MS = 10_000;

/** A URL's query parameters, each as written (undecoded), and what comes before the query. */
export function splitUrl(url: string): { base: string; params: string[] } {
  const hash = url.indexOf('#');
  const bare = hash === -1 ? url : url.slice(0, hash);
  const query = bare.indexOf('?');
  if (query === -1) return { base: bare, params: [] };
  return {
    base: bare.slice(0, query),
    params: bare
      .slice(query + 1)
      .split('&')
      .filter((p) => p !== ''),
  };
}

const decode = (text: string) => decodeURIComponent(text.replace(/\+/g, ' '));
const keyOf = (param: string) => decode(param.split('=', 1)[0]!);
const paramValue = (param: string) => {
  const eq = param.indexOf('=');
  return eq === -1 ? '' : decode(param.slice(eq + 1));
};
export const joinUrl = (base: string, params: readonly string[]): string => (params.length === 0 ? base : `${base}?${params.join('&')}`);

/** The `schema` parameter of a URL, if it has one (as written, not folded). */
export function schemaOf(url: string): string | undefined {
  const param = splitUrl(url).params.find((p) => keyOf(p) === 'schema');
  return param === undefined ? undefined : paramValue(param);
}

/** The URL with its `schema` parameter set to `schema` (replacing any). */
export function withSchema(url: string, schema: string): string {
  const { base, params } = splitUrl(url);
  return joinUrl(base, [...params.filter((p) => keyOf(p) !== 'schema'), `schema=${encodeURIComponent(schema)}`]);
}

/** The URL without its `key` parameter (`schema`, `application_name`, ...). */
export function withoutParam(url: string, key: string): string {
  const { base, params } = splitUrl(url);
  return joinUrl(
    base,
    params.filter((p) => keyOf(p) !== key),
  );
}

/** The URL without its `schema` parameter. */
export const withoutSchema = (url: string): string => withoutParam(url, 'schema');

/**
 * The schema a location names, as PostgreSQL will name it: a plain
 * identifier folded to lower case (`public` when none is given).
 * InvalidArgumentError for anything else.
 */
export function schemaName(url: string): string {
  const schema = schemaOf(url);
  if (schema === undefined) return DEFAULT_SCHEMA;
  if (!IDENTIFIER.test(schema) || schema.length > MAX_IDENTIFIER) {
    throw new InvalidArgumentError(`schema ${JSON.stringify(schema)} is not a plain identifier ([A-Za-z_][A-Za-z0-9_]*, at most ${MAX_IDENTIFIER} characters)`);
  }
  return schema.toLowerCase();
}

/** An identifier quoted for SQL. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * A `pg` Client/Pool config for a URL: the `schema` parameter removed and
 * applied as the session's search_path (startup options, merged with any
 * `options` the URL has, later `-c` settings winning). Throws
 * InvalidArgumentError on a schema name that is not a plain identifier.
 */
export function pgConfig(url: string, settings: readonly string[] = []): pg.ClientConfig {
  const { base, params } = splitUrl(url);
  const options = params.filter((p) => keyOf(p) === 'options').map(paramValue);
  const rest = params.filter((p) => keyOf(p) !== 'schema' && keyOf(p) !== 'options');
  if (schemaOf(url) !== undefined) options.push(`-c search_path=${schemaName(url)}`);
  for (const setting of settings) options.push(`-c ${setting}`);
  const config: pg.ClientConfig = { connectionString: joinUrl(base, rest) };
  if (options.length > 0) config.options = options.join(' ');
  return config;
}

/**
 * The config of every connection the store makes: the schema as search_path
 * (even `public`, so the session sees nothing else unqualified),
 * `synchronous_commit` on for `sync` and off otherwise, idle transactions
 * ended after 15 s, application_name `buildcoord` (whatever the URL says),
 * TCP keepalive, and a 10 s connect timeout.
 */
export function connectionConfig(location: string, { sync }: { sync: boolean }): { config: pg.ClientConfig; schema: string } {
  const schema = schemaName(location);
  const config = pgConfig(withSchema(withoutParam(location, 'application_name'), schema), [
    `synchronous_commit=${sync ? 'on' : 'off'}`,
    `idle_in_transaction_session_timeout=${IDLE_IN_TRANSACTION_TIMEOUT}`,
  ]);
  return {
    schema,
    config: {
      ...config,
      application_name: APPLICATION_NAME,
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    },
  };
}
