import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/persistence/backend.ts';
import { prefixRange } from '../../src/persistence/backend.ts';
import { idOfKey, idPart, indexKey, stringPart, timePart } from '../../src/persistence/keys.ts';
import { levelDBBackend } from '../../src/persistence/leveldb/backend.ts';
import { memoryBackend } from '../../src/persistence/memory/backend.ts';
import { postgresBackend } from '../../src/persistence/postgres/backend.ts';
import { describePg, pgConfig, withSchema } from '../support/postgres.ts';

const root = mkdtempSync(join(tmpdir(), 'buildcoord-backend-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let stores = 0;

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (value: Uint8Array | undefined) => (value === undefined ? undefined : new TextDecoder().decode(value));

/** The storage contract, run against every backend. */
function backendSuite(name: string, make: () => Backend, permanence: boolean) {
  describe(`backend contract [${name}]`, () => {
    let backend: Backend;
    const open = async () => {
      backend = make();
      await backend.open();
      return backend;
    };
    afterEach(() => backend?.close());

    it('get of a missing key is undefined', async () => {
      await open();
      expect(await backend.get('nope')).toBeUndefined();
      expect(await backend.getMany(['a', 'b'])).toEqual([undefined, undefined]);
    });

    it('write applies puts and deletes; getMany answers in the order asked', async () => {
      await open();
      await backend.write(
        new Map([
          ['a', bytes('1')],
          ['b', bytes('2')],
          ['c', bytes('3')],
        ]),
        { sync: true },
      );
      await backend.write(
        new Map([
          ['b', null],
          ['d', bytes('4')],
        ]),
        { sync: false },
      );
      expect((await backend.getMany(['d', 'b', 'a'])).map(text)).toEqual(['4', undefined, '1']);
      expect(text(await backend.get('c'))).toBe('3');
    });

    it('an empty write changes nothing', async () => {
      await open();
      await backend.write(new Map(), { sync: true });
      expect(await backend.keys(prefixRange('r/'))).toEqual([]);
    });

    it('fixed-width ids keep key order numeric, forward and reverse, with limits', async () => {
      await open();
      const ids = [1, 2, 9, 10, 11, 100, 99_999, 2 ** 40, Number.MAX_SAFE_INTEGER];
      await backend.write(new Map(ids.map((id) => [`r/x/${idPart(id)}`, bytes(String(id))])), { sync: true });
      expect((await backend.keys(prefixRange('r/x/'))).map(idOfKey)).toEqual(ids);
      expect((await backend.keys(prefixRange('r/x/', { reverse: true, limit: 3 }))).map(idOfKey)).toEqual(ids.slice(-3).reverse());
      const entries = await backend.entries(prefixRange('r/x/', { limit: 2 }));
      expect(entries.map(([key, value]) => [idOfKey(key), text(value)])).toEqual([
        [1, '1'],
        [2, '2'],
      ]);
    });

    it('a range of many hundred keys arrives whole and in order (LevelDB reads it in batches), limited or not', async () => {
      await open();
      const ids = Array.from({ length: 1000 }, (_, i) => 3 * i + 1);
      await backend.write(new Map(ids.map((id) => [`r/x/${idPart(id)}`, bytes(String(id))])), { sync: true });
      expect((await backend.keys(prefixRange('r/x/'))).map(idOfKey)).toEqual(ids);
      expect((await backend.keys(prefixRange('r/x/', { reverse: true, limit: 300 }))).map(idOfKey)).toEqual(ids.slice(-300).reverse());
      const entries = await backend.entries({ gte: `r/x/${idPart(200)}`, lt: `r/x/${idPart(2000)}`, limit: 500 });
      expect(entries.map(([key, value]) => [idOfKey(key), Number(text(value))])).toEqual(
        ids
          .filter((id) => id >= 200)
          .slice(0, 500)
          .map((id) => [id, id]),
      );
    });

    it('a limit of 0 gives nothing, a negative one no limit; an empty or inverted range nothing', async () => {
      await open();
      await backend.write(new Map(['a', 'b', 'c'].map((k) => [`r/${k}`, bytes(k)])), { sync: true });
      expect(await backend.keys(prefixRange('r/', { limit: 0 }))).toEqual([]);
      expect(await backend.keys(prefixRange('r/', { limit: -1, reverse: true }))).toEqual(['r/c', 'r/b', 'r/a']);
      expect((await backend.entries(prefixRange('r/', { limit: -1 }))).map(([, v]) => text(v))).toEqual(['a', 'b', 'c']);
      expect(await backend.keys({ gte: 'r/b', lt: 'r/b' })).toEqual([]);
      expect(await backend.keys({ gte: 'r/c', lt: 'r/a' })).toEqual([]);
      expect(await backend.keys({ gte: 'r/b', lt: 'r/c', reverse: true })).toEqual(['r/b']);
    });

    it('instants sort in time order, before and after the epoch', async () => {
      await open();
      const times = [-86_400_000, -1, 0, 1, 1_300_000_000_000, 8.64e15];
      await backend.write(new Map([...times].reverse().map((ms, i) => [indexKey('t', timePart(ms)) + idPart(i + 1), bytes('')])), { sync: true });
      const keys = await backend.keys(prefixRange(indexKey('t')));
      expect(keys.map((key) => key.slice(4, -16))).toEqual(times.map(timePart));
    });

    it('a prefix scan of one string value never reaches another, whatever characters they hold', async () => {
      await open();
      const names = ['a', 'a/b', 'a\u0000b', 'a\u0001', 'ab', '', 'ü', '😀'];
      const batch = new Map(names.map((n, i) => [indexKey('n', stringPart(n)) + idPart(i + 1), bytes(n)] as [string, Uint8Array]));
      await backend.write(batch, { sync: true });
      for (const [i, n] of names.entries()) {
        expect((await backend.keys(prefixRange(indexKey('n', stringPart(n))))).map(idOfKey)).toEqual([i + 1]);
      }
      expect(await backend.keys(prefixRange(indexKey('n')))).toHaveLength(names.length);
    });

    it.runIf(permanence)('what was written is there after close and reopen', async () => {
      await open();
      await backend.write(new Map([['k', bytes('v')]]), { sync: true });
      await backend.close();
      await backend.open();
      expect(text(await backend.get('k'))).toBe('v');
      expect(backend.capabilities.permanence).toBe(true);
    });
  });
}

backendSuite('memory', memoryBackend, false);
backendSuite('leveldb', () => levelDBBackend(join(root, `db-${++stores}`)), true);

describePg('PostgreSQL', (url) => {
  // Each store in a schema of its own, made by its first open and dropped at the end.
  const schemas: string[] = [];
  afterAll(async () => {
    const client = new pg.Client(pgConfig(url));
    await client.connect();
    try {
      for (const schema of schemas) await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    } finally {
      await client.end();
    }
  });
  backendSuite(
    'postgresql',
    () => {
      const schema = `bc_test_${randomBytes(6).toString('hex')}`;
      schemas.push(schema);
      return postgresBackend(withSchema(url, schema), { sync: true });
    },
    true,
  );
});
