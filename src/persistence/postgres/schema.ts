/**
 * The store's objects in one PostgreSQL schema, and their version.
 *
 *   bc_meta(name, value)            schema_version = '1'
 *   bc_kv(key, value, version)      the ordered map; keys are UTF-8 bytes
 *                                   (bytea compares like LevelDB: memcmp),
 *                                   version a writer's token (a bigint)
 *   bc_writers(writer, last_commit) one row per open backend: the number of
 *                                   its newest committed transaction attempt,
 *                                   read back when a COMMIT's answer is lost
 *   bc_writer_seq                   writer numbers (backends, version tokens)
 *   bc_id_<kind>                    one id sequence per kind, made on first use
 *
 * Every name is qualified with the schema, whatever the session's search_path.
 */
import type pg from 'pg';
import { StorageError } from '../../errors.ts';
import { quoteIdent } from './url.ts';

export const SCHEMA_VERSION = '1';

/** The qualified names of the store's objects in `schema` (an unquoted, folded name). */
export interface SchemaNames {
  schema: string;
  /** The schema, quoted for SQL. */
  quoted: string;
  meta: string;
  kv: string;
  writers: string;
  writerSeq: string;
}

export function schemaNames(schema: string): SchemaNames {
  const quoted = quoteIdent(schema);
  return { schema, quoted, meta: `${quoted}.bc_meta`, kv: `${quoted}.bc_kv`, writers: `${quoted}.bc_writers`, writerSeq: `${quoted}.bc_writer_seq` };
}

/** Id kinds: each names a sequence, so a plain lower-case name that fits PostgreSQL's 63 characters with its prefix. */
const KIND = /^[a-z][a-z0-9_]{0,56}$/;

export function isIdKind(kind: string): boolean {
  return KIND.test(kind);
}

/** The qualified name of the id sequence of `kind` (checked with isIdKind first). */
export function idSequence(names: SchemaNames, kind: string): string {
  return `${names.quoted}.bc_id_${kind}`;
}

function ddl(names: SchemaNames): string[] {
  return [
    `CREATE TABLE IF NOT EXISTS ${names.meta} (name text PRIMARY KEY, value text NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS ${names.kv} (key bytea PRIMARY KEY, value bytea NOT NULL, version bigint NOT NULL) WITH (fillfactor = 80)`,
    // Every commit updates its writer's row: room on the page keeps those updates HOT.
    `CREATE TABLE IF NOT EXISTS ${names.writers} (writer bigint PRIMARY KEY, last_commit bigint NOT NULL, opened_at timestamptz NOT NULL DEFAULT now()) WITH (fillfactor = 50)`,
    `CREATE SEQUENCE IF NOT EXISTS ${names.writerSeq} AS bigint MINVALUE 1 MAXVALUE 2147483647 CACHE 1`,
  ];
}

/**
 * Makes the schema's objects if they are missing and checks the schema
 * version. When the store is there already this is one read and no DDL
 * (so a role without CREATE rights can open it). Otherwise the objects are
 * made in one transaction under an advisory lock named after the schema, so
 * concurrent first opens wait for each other instead of racing. `client` is
 * outside any transaction. With `create` false, a missing store is a
 * StorageError and nothing is made.
 */
export async function ensureSchema(client: pg.Client, names: SchemaNames, shown: string, create = true): Promise<void> {
  const present = await client.query<{ version: string | null }>(`SELECT CASE WHEN to_regclass($1) IS NULL THEN NULL ELSE 'present' END AS version`, [names.meta]);
  let version = present.rows[0]?.version === null ? null : await readVersion(client, names);
  if (version === null && !create) throw new StorageError(`no buildcoord store in schema ${names.schema} of ${shown}`);
  if (version === null) {
    await client.query('BEGIN');
    try {
      await client.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, [`buildcoord schema ${names.schema}`]);
      const exists = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [names.schema]);
      if (exists.rowCount === 0) await client.query(`CREATE SCHEMA IF NOT EXISTS ${names.quoted}`);
      for (const statement of ddl(names)) await client.query(statement);
      await client.query(`INSERT INTO ${names.meta} (name, value) VALUES ('schema_version', $1) ON CONFLICT (name) DO NOTHING`, [SCHEMA_VERSION]);
      version = await readVersion(client, names);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    }
  }
  if (version !== SCHEMA_VERSION) {
    throw new StorageError(
      `the PostgreSQL store ${shown} has schema version ${JSON.stringify(version)}; this version of buildcoord knows version ${SCHEMA_VERSION} only, and leaves it as it is`,
    );
  }
}

async function readVersion(client: pg.Client, names: SchemaNames): Promise<string | null> {
  const { rows } = await client.query<{ value: string }>(`SELECT value FROM ${names.meta} WHERE name = 'schema_version'`);
  return rows[0]?.value ?? null;
}
