import pg from 'pg';
import { NoStoreError } from '../../errors.ts';
import { maskLocation } from './location.ts';
import { schemaNames } from './schema.ts';
import { connectionConfig } from './url.ts';

/**
 * Refuses (NoStoreError) a PostgreSQL URL whose server cannot be reached
 * or, with `mustExist`, whose schema holds no store, before the backend
 * opens it (opening makes the schema's tables, and retries an unreachable
 * server for seconds). One connection, one read. A malformed URL is an
 * InvalidArgumentError.
 */
export async function probePostgres(location: string, { mustExist }: { mustExist: boolean }): Promise<void> {
  const shown = maskLocation(location);
  const { config, schema } = connectionConfig(location, { sync: true });
  const client = new pg.Client(config);
  client.on('error', () => {}); // a connection lost after connecting fails the query below
  let present: boolean;
  try {
    await client.connect();
    const { rows } = await client.query<{ present: boolean }>('SELECT to_regclass($1) IS NOT NULL AS present', [schemaNames(schema).meta]);
    present = rows[0]?.present === true;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new NoStoreError(maskLocation(`cannot open the store at ${shown}: ${reason}`), { cause: error });
  } finally {
    await client.end().catch(() => {});
  }
  if (!present && mustExist) throw new NoStoreError(`no store at ${shown}: schema ${schema} holds no buildcoord store`);
}
