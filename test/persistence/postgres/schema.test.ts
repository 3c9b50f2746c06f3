// Opening a PostgreSQL store: its schema made on first open (also by several backends at once), its version checked, its sessions' settings, its id sequences, and locations that are refused or must not show their password.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError, StorageError } from '../../../src/errors.ts';
import { postgresBackend } from '../../../src/persistence/postgres/backend.ts';
import type { PostgresBackend } from '../../../src/persistence/postgres/backend.ts';
import { maskLocation } from '../../../src/persistence/postgres/location.ts';
import { SCHEMA_VERSION } from '../../../src/persistence/postgres/schema.ts';
import { connectionConfig, schemaName } from '../../../src/persistence/postgres/url.ts';
import { describePg, pgConfig, withSchema } from '../../support/postgres.ts';

describe('PostgreSQL locations (no server needed)', () => {
  it('name a plain schema, folded as PostgreSQL folds it; anything else is an InvalidArgumentError', () => {
    expect(schemaName('postgresql://h/db')).toBe('public');
    expect(schemaName('postgresql://h/db?schema=Farm_1')).toBe('farm_1');
    for (const bad of ['a-b', '1x', 'x;drop', '"x"', '', 'x'.repeat(64)]) {
      expect(() => postgresBackend(`postgresql://h/db?schema=${encodeURIComponent(bad)}`, { sync: true })).toThrow(InvalidArgumentError);
    }
  });

  it('mask a password given as a query parameter too', () => {
    expect(maskLocation('postgresql://ann@h/db?password=s3cret&schema=x')).toBe('postgresql://ann@h/db?password=***&schema=x');
    expect(maskLocation('postgres://h/db?schema=x&sslpassword=k3y')).toBe('postgres://h/db?schema=x&sslpassword=***');
    expect(maskLocation('postgres://ann:pw@h/db?password=pw')).toBe('postgres://ann:***@h/db?password=***');
  });

  it('never show a password in a failure to connect', async () => {
    for (const location of ['postgresql://ann:s3cret@127.0.0.1:1/farm?schema=m', 'postgresql://ann@127.0.0.1:1/farm?password=s3cret']) {
      const backend = postgresBackend(location, { sync: true });
      expect(backend.shown).not.toContain('s3cret');
      const refused = await backend.open().catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(StorageError);
      const shown = `${(refused as Error).message}\n${(refused as Error).stack}\n${String((refused as Error).cause)}`;
      expect(shown).not.toContain('s3cret');
      expect((refused as Error).message).toContain('***');
      expect((refused as Error).message).toMatch(/ECONNREFUSED/);
      await expect(backend.get('x')).rejects.toThrow(StorageError);
    }
  });
});

describePg('PostgreSQL store schema', (url) => {
  const schemas: string[] = [];
  const backends: PostgresBackend[] = [];
  let admin: pg.Client;
  const newSchema = () => {
    const schema = `bc_test_${randomBytes(6).toString('hex')}`;
    schemas.push(schema);
    return schema;
  };
  const backend = (schema: string, sync = true) => {
    const made = postgresBackend(withSchema(url, schema), { sync });
    backends.push(made);
    return made;
  };
  beforeAll(async () => {
    admin = new pg.Client(pgConfig(url));
    await admin.connect();
  });
  afterAll(async () => {
    await Promise.all(backends.map((b) => b.close()));
    for (const schema of schemas) await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
  });

  it('is made on first open, version recorded; a writer row lives from open to close', async () => {
    const schema = newSchema();
    const store = backend(schema);
    await store.open();
    const { rows: tables } = await admin.query(
      `SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind IN ('r', 'S') ORDER BY 1`,
      [schema],
    );
    expect(tables.map((t) => `${t.relname}:${t.relkind}`)).toEqual(['bc_kv:r', 'bc_meta:r', 'bc_writer_seq:S', 'bc_writers:r']);
    const { rows: meta } = await admin.query(`SELECT name, value FROM ${schema}.bc_meta`);
    expect(meta).toEqual([{ name: 'schema_version', value: SCHEMA_VERSION }]);
    const { rows: columns } = await admin.query(
      `SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'bc_kv' ORDER BY ordinal_position`,
      [schema],
    );
    expect(columns.map((c) => `${c.column_name} ${c.data_type}`)).toEqual(['key bytea', 'value bytea', 'version bigint']);
    const { rows: options } = await admin.query(`SELECT reloptions FROM pg_class WHERE oid = to_regclass($1)`, [`${schema}.bc_kv`]);
    expect(options[0].reloptions).toEqual(['fillfactor=80']);
    expect((await admin.query(`SELECT writer FROM ${schema}.bc_writers`)).rowCount).toBe(1);
    await store.close();
    expect((await admin.query(`SELECT writer FROM ${schema}.bc_writers`)).rowCount).toBe(0);
    // Opened again: the same store, a new writer number.
    await store.open();
    expect((await admin.query(`SELECT writer FROM ${schema}.bc_writers`)).rows).toEqual([{ writer: '2' }]);
  });

  it('made by several backends opening a new schema at once: each opens, objects made once', async () => {
    const schema = newSchema();
    const many = Array.from({ length: 6 }, () => backend(schema));
    await Promise.all(many.map((b) => b.open()));
    const { rows } = await admin.query(`SELECT writer FROM ${schema}.bc_writers ORDER BY writer`);
    expect(rows.map((r) => Number(r.writer))).toEqual([1, 2, 3, 4, 5, 6]);
    expect((await admin.query(`SELECT * FROM ${schema}.bc_meta`)).rowCount).toBe(1);
    await many[0]!.write(new Map([['shared', new Uint8Array([7])]]), { sync: true });
    for (const b of many) expect(await b.get('shared')).toEqual(new Uint8Array([7]));
  });

  it('lives in the schema the URL names, even one that must be quoted in SQL, whatever objects public has', async () => {
    const schema = `bc_test_user_${randomBytes(3).toString('hex')}`;
    schemas.push(schema);
    const store = backend(schema.toUpperCase());
    await store.open();
    expect(store.schema).toBe(schema);
    await store.write(new Map([['a', new Uint8Array([1])]]), { sync: true });
    expect((await admin.query(`SELECT count(*)::int AS n FROM ${schema}.bc_kv`)).rows[0].n).toBe(1);
  });

  it('is not made by what only reads (verify): a schema without a store is refused and left empty', async () => {
    const schema = newSchema();
    await admin.query(`CREATE SCHEMA ${schema}`);
    const { verify } = await import('../../../src/verify.ts');
    await expect(verify(withSchema(url, schema))).rejects.toThrow(/no buildcoord store in schema/);
    expect((await admin.query('SELECT count(*)::int AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE nspname = $1', [schema])).rows[0].n).toBe(0);
  });

  it('of another version is refused, and left as it is', async () => {
    const schema = newSchema();
    const first = backend(schema);
    await first.open();
    await first.close();
    await admin.query(`UPDATE ${schema}.bc_meta SET value = '2' WHERE name = 'schema_version'`);
    const refused = await backend(schema)
      .open()
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(StorageError);
    expect((refused as Error).message).toMatch(/schema version "2".*version 1/);
    expect((await admin.query(`SELECT value FROM ${schema}.bc_meta`)).rows).toEqual([{ value: '2' }]);
  });

  it("sessions run with the store's settings", async () => {
    const schema = newSchema();
    for (const sync of [true, false]) {
      const client = new pg.Client(connectionConfig(withSchema(`${url}${url.includes('?') ? '&' : '?'}application_name=other`, schema), { sync }).config);
      await client.connect();
      try {
        const show = async (name: string) => Object.values((await client.query(`SHOW ${name}`)).rows[0])[0];
        expect(await show('synchronous_commit')).toBe(sync ? 'on' : 'off');
        expect(await show('idle_in_transaction_session_timeout')).toBe('15s');
        expect(await show('application_name')).toBe('buildcoord');
        expect(await show('search_path')).toBe(schema);
      } finally {
        await client.end();
      }
    }
  });

  describe('id sequences', () => {
    it('hand out ascending, unique ids, increasing across two backends racing, and never again', async () => {
      const schema = newSchema();
      const [a, b] = [backend(schema), backend(schema)];
      await Promise.all([a.open(), b.open()]);
      expect(await a.nextIds('bs', 0)).toEqual([]);
      // Both create the kind's sequence at once on first use.
      const calls = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? a : b).nextIds('bs', 1 + (i % 5))));
      const all = calls.flat();
      for (const ids of calls) expect(ids).toEqual([...ids].sort((x, y) => x - y));
      expect(new Set(all).size).toBe(all.length);
      expect([...all].sort((x, y) => x - y)).toEqual(Array.from({ length: all.length }, (_, i) => i + 1));
      // A call that starts after another was answered gets larger ids, whichever backend makes it.
      let last = Math.max(...all);
      for (let i = 0; i < 10; i++) {
        const [id] = await (i % 2 === 0 ? b : a).nextIds('bs', 1);
        expect(id).toBeGreaterThan(last);
        last = id!;
      }
      expect(await a.nextIds('other_kind', 2)).toEqual([1, 2]);
      await expect(a.nextIds('Bad-Kind', 1)).rejects.toThrow(InvalidArgumentError);
      await expect(a.nextIds('bs', -1)).rejects.toThrow(InvalidArgumentError);
      const writers = await Promise.all([a.newWriter(), b.newWriter(), a.newWriter()]);
      expect(new Set(writers).size).toBe(3);
      expect(Math.min(...writers)).toBeGreaterThan(2); // past the two backends' own numbers
    });

    it('are read by a snapshot (lastId), which sees one instant', async () => {
      const schema = newSchema();
      const [a, b] = [backend(schema), backend(schema)];
      await Promise.all([a.open(), b.open()]);
      await a.nextIds('ss', 3);
      await a.write(new Map([['r/1', new Uint8Array([1])]]), { sync: true });
      const seen = await a.readSnapshot(async (view) => {
        const before = await view.keys({ gte: 'r/', lt: 'r0' });
        await b.write(new Map([['r/2', new Uint8Array([2])]]), { sync: true });
        const after = await view.keys({ gte: 'r/', lt: 'r0' });
        return { before, after, last: await view.lastId('ss'), none: await view.lastId('nothing'), weird: await view.lastId('Not A Kind'), value: await view.get('r/1') };
      });
      expect(seen).toEqual({ before: ['r/1'], after: ['r/1'], last: 3, none: 0, weird: 0, value: new Uint8Array([1]) });
      expect(await a.keys({ gte: 'r/', lt: 'r0' })).toEqual(['r/1', 'r/2']);
    });
  });
});
