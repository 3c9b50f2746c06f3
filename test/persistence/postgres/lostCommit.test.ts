// A COMMIT whose answer is lost is resolved by reading back whether it landed, never guessed; a server that stays unreachable is a StorageError, and the backend reconnects once it is back. Connections are cut by a proxy at the exact protocol message.
import pg from 'pg';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { StorageError } from '../../../src/errors.ts';
import { postgresBackend } from '../../../src/persistence/postgres/backend.ts';
import type { PostgresBackend, PostgresBackendOptions } from '../../../src/persistence/postgres/backend.ts';
import type { CommitTransaction } from '../../../src/persistence/shared/contract.ts';
import { describePg, freshSchema, pgConfig } from '../../support/postgres.ts';
import type { FreshSchema } from '../../support/postgres.ts';
import { PgProxy } from './proxy.ts';

const bytes = (text: string) => new TextEncoder().encode(text);
const runs = { gte: 'run/', lt: 'run0' };

describePg('PostgreSQL commits whose answer is lost', (url) => {
  let fresh: FreshSchema;
  let proxy: PgProxy;
  let admin: pg.Client;
  const opened: PostgresBackend[] = [];
  const open = async (options: Partial<PostgresBackendOptions> = {}) => {
    const backend = postgresBackend(proxy.url(fresh.schema), { sync: true, ...options });
    await backend.open();
    opened.push(backend);
    return backend;
  };

  beforeAll(async () => {
    fresh = await freshSchema(url);
    proxy = await PgProxy.start(url);
    admin = new pg.Client(pgConfig(fresh.url));
    await admin.connect();
  });
  afterEach(async () => {
    proxy.refuse(false);
    proxy.release();
    await Promise.all(opened.splice(0).map((backend) => backend.close()));
    await admin.query(`DELETE FROM ${fresh.schema}.bc_kv`);
  });
  afterAll(async () => {
    await admin?.end();
    await proxy?.close();
    await fresh?.drop();
  });

  /** Work that records which run it is and writes a key named after it. */
  function counted() {
    const state = { runs: 0 };
    const work = async (tx: CommitTransaction) => {
      const run = ++state.runs;
      await tx.rangeKeys([runs]);
      await tx.write([[`run/${run}`, bytes(String(run)), String(run)]], []);
      return run;
    };
    return { state, work };
  }

  /** What the server has, read past the proxy. */
  const stored = async () => (await admin.query(`SELECT convert_from(key, 'UTF8') AS key FROM ${fresh.schema}.bc_kv ORDER BY key`)).rows.map((r) => r.key as string);

  it('landed, answer dropped: the result of that run, which is not run again', async () => {
    const backend = await open();
    const { state, work } = counted();
    const fired = proxy.armCommit({ kind: 'answer-lost' });
    expect(await backend.transact(work)).toBe(1);
    await fired;
    expect(state.runs).toBe(1);
    expect(await stored()).toEqual(['run/1']);
    expect(await backend.transact(async (tx) => (await tx.rangeKeys([runs]))[0])).toEqual(['run/1']); // and it goes on
  });

  it('landing while the resolution waits for its lock: committed, not run again', async () => {
    const backend = await open();
    const { state, work } = counted();
    void proxy.armCommit({ kind: 'commit-late', delayMs: 700 });
    const started = Date.now();
    expect(await backend.transact(work)).toBe(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(600); // it waited for the lost transaction to end
    expect(state.runs).toBe(1);
    expect(await stored()).toEqual(['run/1']);
  });

  it('never landed (the session ended before the server got COMMIT): run again once, and only that run is stored', async () => {
    const backend = await open();
    const { state, work } = counted();
    void proxy.armCommit({ kind: 'never-sent', delayMs: 500 });
    expect(await backend.transact(work)).toBe(2);
    expect(state.runs).toBe(2);
    expect(await stored()).toEqual(['run/2']);
  });

  it('an outcome that cannot be read in time is a StorageError saying it is unknown; later calls work', async () => {
    const backend = await open({ outcomeLockTimeoutMs: 300 });
    const { state, work } = counted();
    void proxy.armCommit({ kind: 'held' });
    const lost = await backend.transact(work).catch((error: unknown) => error);
    expect(lost).toBeInstanceOf(StorageError);
    expect((lost as Error).message).toMatch(/whether the commit landed is unknown/);
    expect(state.runs).toBe(1);
    proxy.release(); // the server rolls the held transaction back
    expect(await backend.transact(async (tx) => (await tx.rangeKeys([runs]))[0])).toEqual([]);
  });

  it('a connection that goes silent at COMMIT (a partition, no reset): the session is given up after the query timeout and the outcome read back, never a hang', async () => {
    const backend = await open({ queryTimeoutMs: 500, outcomeLockTimeoutMs: 300 });
    const { state, work } = counted();
    void proxy.armCommit({ kind: 'silent' });
    const started = Date.now();
    // COMMIT never reached the server, whose side still holds the transaction's locks: the outcome cannot be read in time.
    const lost = await backend.transact(work).catch((error: unknown) => error);
    expect(lost).toBeInstanceOf(StorageError);
    expect((lost as Error).message).toMatch(/whether the commit landed is unknown/);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(state.runs).toBe(1);
    proxy.release(); // the partition ends with both sides closed: the server rolls the transaction back
    expect(await backend.transact(async (tx) => (await tx.rangeKeys([runs]))[0])).toEqual([]);
    expect(await stored()).toEqual([]);
  });

  it('a server that stays unreachable: StorageError after the window, for commits, reads and ids; then it reconnects', async () => {
    const backend = await open({ retryWindowMs: 400 });
    await backend.write(new Map([['k', bytes('v')]]), { sync: true });
    proxy.refuse(true);
    const started = Date.now();
    const failed = await backend.transact(async (tx) => tx.versions(['k'])).catch((error: unknown) => error);
    expect(failed).toBeInstanceOf(StorageError);
    expect((failed as Error).message).toMatch(/could not be made again within 0.4 s/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(350);
    await expect(backend.get('k')).rejects.toThrow(/unreachable/);
    await expect(backend.nextIds('bs', 1)).rejects.toThrow(StorageError);
    await expect(backend.readSnapshot(async (view) => view.get('k'))).rejects.toThrow(StorageError);
    proxy.refuse(false);
    expect(await backend.get('k')).toEqual(bytes('v'));
    expect((await backend.transact(async (tx) => tx.versions(['k']))).size).toBe(1);
    expect(await backend.nextIds('bs', 1)).toEqual([1]);
  });

  it('a server back within the window: the commit goes through', async () => {
    const backend = await open({ retryWindowMs: 5_000 });
    proxy.refuse(true);
    setTimeout(() => proxy.refuse(false), 300);
    const { state, work } = counted();
    const result = await backend.transact(work);
    // Work starts while BEGIN is still in flight (pipelined), so it may have run on the dead session too; only the last run counts.
    expect(result).toBe(state.runs);
    expect(await stored()).toEqual([`run/${result}`]);
  });
});
