/**
 * Child script for markFailure.test.ts: a server error on the writer mark
 * of a commit (the UPDATE of bc_writers the committer pipelines after
 * BEGIN; here forced by a trigger that raises, in the wild a serialization
 * failure) must fail the call with StorageError, not crash the process.
 * Prints one JSON line {"answered": "<error class>" | "ok"} and exits 0.
 *
 *   node --import tsx test/shared/markFailure.ts <url with schema>
 */
import pg from 'pg';
import { openCoordinator } from '../../src/api.ts';
import { pgConfig, schemaOf } from '../support/postgres.ts';

const url = process.argv[2]!;
const schema = schemaOf(url)!;
const coordinator = await openCoordinator({ location: url, durability: 'sync' });
const admin = new pg.Client(pgConfig(url));
await admin.connect();
await admin.query(`CREATE FUNCTION ${schema}.refuse_mark() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'mark refused (test)'; END $$`);
await admin.query(`CREATE TRIGGER refuse_mark BEFORE UPDATE ON ${schema}.bc_writers FOR EACH ROW EXECUTE FUNCTION ${schema}.refuse_mark()`);
await admin.end();
let answered: string;
try {
  await coordinator.connect('mark-failure');
  answered = 'ok';
} catch (error) {
  answered = `${(error as Error).constructor.name}: ${(error as Error).message}`;
}
process.stdout.write(`${JSON.stringify({ answered })}\n`);
await coordinator.close();
process.exit(0);
