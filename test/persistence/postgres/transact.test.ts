// Commit transactions on a real server: what they read and write, a real serialization conflict between two backends, a committer session killed mid-transaction, and errors that must not be retried.
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { StorageError } from '../../../src/errors.ts';
import { postgresBackend } from '../../../src/persistence/postgres/backend.ts';
import type { PostgresBackend } from '../../../src/persistence/postgres/backend.ts';
import type { CommitTransaction } from '../../../src/persistence/shared/contract.ts';
import { describePg, freshSchema, pgConfig } from '../../support/postgres.ts';
import type { FreshSchema } from '../../support/postgres.ts';

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (value: Uint8Array | undefined) => (value === undefined ? undefined : new TextDecoder().decode(value));
const everything = { gte: '', lt: '\u{10FFFF}' };

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describePg('PostgreSQL commit transactions', (url) => {
  let fresh: FreshSchema;
  let admin: pg.Client;
  const opened: PostgresBackend[] = [];
  const open = async (options: { sync?: boolean } = {}) => {
    const backend = postgresBackend(fresh.url, { sync: options.sync ?? true });
    await backend.open();
    opened.push(backend);
    return backend;
  };

  beforeAll(async () => {
    fresh = await freshSchema(url);
    admin = new pg.Client(pgConfig(fresh.url));
    await admin.connect();
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((backend) => backend.close()));
    await admin.query(`DELETE FROM ${fresh.schema}.bc_kv`).catch(() => {});
  });
  afterAll(async () => {
    await admin?.end();
    await fresh?.drop();
  });

  /** The pid of the session that holds `backend`'s row in bc_writers locked (its committer, inside a transaction). */
  async function committerPid(): Promise<number> {
    const { rows } = await admin.query(`SELECT pid FROM pg_locks WHERE relation = to_regclass($1) AND mode = 'RowExclusiveLock' AND granted AND pid <> pg_backend_pid()`, [
      `${fresh.schema}.bc_writers`,
    ]);
    expect(rows).toHaveLength(1);
    return rows[0].pid as number;
  }

  it('reads versions and range keys, writes puts and deletes, and returns what work returned', async () => {
    const backend = await open();
    await backend.write(
      new Map([
        ['k/a', bytes('1')],
        ['k/b\x00x', bytes('2')],
        ['k/c', bytes('3')],
        ['z', bytes('4')],
      ]),
      { sync: true },
    );
    const before = await backend.getVersioned(['k/a', 'k/b\x00x', 'missing']);
    expect(before[2]).toBeUndefined();
    const seen = await backend.transact(async (tx) => {
      const versions = await tx.versions(['k/a', 'k/b\x00x', 'missing']);
      const ranges = await tx.rangeKeys([
        { gte: 'k/', lt: 'k0' },
        { gte: 'q', lt: 'r' },
        { gte: 'k/b', lt: 'k/c' },
        { gte: '', lt: 'k/b' },
      ]);
      await tx.write(
        [
          ['k/d', bytes('5'), '9001'],
          ['k/a', bytes('6'), '9001'],
        ],
        ['k/c', 'never-there'],
      );
      return { versions, ranges };
    });
    expect(seen.versions).toEqual(
      new Map([
        ['k/a', before[0]!.version],
        ['k/b\x00x', before[1]!.version],
      ]),
    );
    expect(seen.ranges).toEqual([['k/a', 'k/b\x00x', 'k/c'], [], ['k/b\x00x'], ['k/a']]);
    const after = await backend.getVersioned(['k/a', 'k/c', 'k/d']);
    expect(after.map((found) => [text(found?.bytes), found?.version])).toEqual([
      ['6', '9001'],
      [undefined, undefined],
      ['5', '9001'],
    ]);
    expect(await backend.keys(everything)).toEqual(['k/a', 'k/b\x00x', 'k/d', 'z']);
  });

  it('blind writes carry versions no other writer has', async () => {
    const [a, b] = [await open(), await open()];
    await a.write(new Map([['x', bytes('a')]]), { sync: true });
    await b.write(new Map([['y', bytes('b')]]), { sync: false });
    await a.write(new Map([['z', bytes('a')]]), { sync: true });
    const versions = (await a.getVersioned(['x', 'y', 'z'])).map((found) => found!.version);
    expect(new Set(versions).size).toBe(3);
  });

  it('two backends that read the same range and write into it: one commit fails to serialize, is run again, and sees the other write', async () => {
    const [a, b] = [await open(), await open()];
    await a.write(new Map([['seed', bytes('')]]), { sync: true });
    const aRead = deferred();
    const bRead = deferred();
    const runs = { a: 0, b: 0 };
    const claim = (name: 'a' | 'b', mine: { promise: Promise<void> } | null, signal: () => void, wait: Promise<void> | null) => async (tx: CommitTransaction) => {
      runs[name]++;
      if (mine !== null) await mine.promise;
      const [taken] = await tx.rangeKeys([{ gte: 'claim/', lt: 'claim0' }]);
      await tx.versions(['seed']);
      signal();
      if (wait !== null) await wait;
      await tx.write([[`claim/${name}`, bytes(name), '1']], []);
      return { taken: taken! };
    };
    // a reads, then b reads, then both write into the range the other read: no serial order explains both.
    const [ra, rb] = await Promise.all([a.transact(claim('a', null, aRead.resolve, bRead.promise)), b.transact(claim('b', aRead, bRead.resolve, null))]);
    expect(runs.a + runs.b).toBeGreaterThanOrEqual(3); // one at least was run again (the server may fail a re-run too while the other is still open)
    // The answers that committed fit one serial order: the first saw no claim, the second saw the first's.
    expect([[], ['claim/b']]).toContainEqual(ra.taken);
    expect([[], ['claim/a']]).toContainEqual(rb.taken);
    expect(ra.taken.length + rb.taken.length).toBe(1);
    const again = ra.taken.length > 0 ? 'a' : 'b';
    expect(runs[again]).toBeGreaterThan(1); // the one that saw the other's write decided on a re-run
    expect(await a.keys({ gte: 'claim/', lt: 'claim0' })).toEqual(['claim/a', 'claim/b']);
  });

  it('a committer session killed mid-transaction: the work runs again on a new session and commits once; nothing crashes', async () => {
    const backend = await open();
    let runs = 0;
    const result = await backend.transact(async (tx) => {
      const run = ++runs;
      await tx.versions(['counter']);
      if (run === 1) {
        const { rows } = await admin.query('SELECT pg_terminate_backend($1) AS done', [await committerPid()]);
        expect(rows[0].done).toBe(true);
      }
      await tx.write([[`run/${run}`, bytes(String(run)), String(run)]], []);
      return run;
    });
    expect(result).toBe(2);
    expect(await backend.keys({ gte: 'run/', lt: 'run0' })).toEqual(['run/2']);
  });

  it('a committer session killed between transactions: the next one reconnects', async () => {
    const backend = await open();
    const pid = await backend.transact(async (tx) => {
      await tx.write([['one', bytes('1'), '1']], []);
      return committerPid();
    });
    expect((await admin.query('SELECT pg_terminate_backend($1) AS done', [pid])).rows[0].done).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 100)); // the session's end reaches the client while it is idle
    expect(await backend.transact(async (tx) => (await tx.versions(['one'])).get('one'))).toBe('1');
    expect(text(await backend.get('one'))).toBe('1');
  });

  it("work's own error is passed on as it is, nothing is committed, and the backend goes on", async () => {
    const backend = await open();
    class Refused extends Error {}
    let runs = 0;
    const refused = await backend
      .transact(async (tx) => {
        runs++;
        await tx.write([['half', bytes('x'), '1']], []);
        throw new Refused('no');
      })
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(Refused);
    expect(runs).toBe(1);
    expect(await backend.get('half')).toBeUndefined();
    expect(await backend.transact(async () => 'fine')).toBe('fine');
  });

  it('an error the server will repeat (a check violation, a bad version) is a StorageError with its SQLSTATE, not retried', async () => {
    const backend = await open();
    await admin.query(`ALTER TABLE ${fresh.schema}.bc_kv ADD CONSTRAINT test_no_forbidden CHECK (key <> '\\x666f7262696464656e'::bytea)`); // 'forbidden'
    try {
      let runs = 0;
      const refused = await backend
        .transact(async (tx) => {
          runs++;
          await tx.write([['forbidden', bytes('x'), '1']], []);
        })
        .catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(StorageError);
      expect((refused as Error).message).toMatch(/test_no_forbidden.*SQLSTATE 23514/);
      expect(runs).toBe(1);

      const bad = await backend.transact(async (tx) => tx.write([['k', bytes('x'), 'not-a-number']], [])).catch((error: unknown) => error);
      expect((bad as Error).message).toMatch(/SQLSTATE 22P02/);
      // Work that swallows the failure does not get its transaction committed.
      const swallowed = await backend
        .transact(async (tx) => {
          await tx.write([['forbidden', bytes('x'), '1']], []).catch(() => {});
          return 'pretended';
        })
        .catch((error: unknown) => error);
      expect(swallowed).toBeInstanceOf(StorageError);
      expect(await backend.transact(async (tx) => (await tx.rangeKeys([everything]))[0])).toEqual([]);
    } finally {
      await admin.query(`ALTER TABLE ${fresh.schema}.bc_kv DROP CONSTRAINT test_no_forbidden`);
    }
  });

  it('a view used after its transaction ended is refused', async () => {
    const backend = await open();
    let kept: CommitTransaction | null = null;
    await backend.transact(async (tx) => {
      kept = tx;
    });
    await expect(kept!.versions(['x'])).rejects.toThrow(StorageError);
  });

  it('capabilities follow sync; a blind write may ask either way', async () => {
    const buffered = await open({ sync: false });
    expect(buffered.capabilities).toEqual({ permanence: true, durableSync: false });
    const synced = await open({ sync: true });
    expect(synced.capabilities).toEqual({ permanence: true, durableSync: true });
    await buffered.write(new Map([['w', bytes('1')]]), { sync: true });
    await synced.write(new Map([['v', bytes('2')]]), { sync: false });
    expect((await synced.getMany(['w', 'v'])).map(text)).toEqual(['1', '2']);
  });

  describe('on a closed backend', () => {
    it('every call is a StorageError', async () => {
      const backend = await open();
      await backend.close();
      await expect(backend.transact(async () => 1)).rejects.toThrow(StorageError);
      await expect(backend.get('x')).rejects.toThrow(StorageError);
      await expect(backend.nextIds('bs', 1)).rejects.toThrow(StorageError);
      await expect(backend.write(new Map([['x', bytes('')]]), { sync: true })).rejects.toThrow(StorageError);
    });
  });
});
