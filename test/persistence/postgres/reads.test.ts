// Point reads on a real server: those asked for in one turn of the event loop go out as one query, and each
// caller gets its own keys' values, in its order.
import pg from 'pg';
import { afterAll, afterEach, beforeAll, expect, it, vi } from 'vitest';
import { postgresBackend } from '../../../src/persistence/postgres/backend.ts';
import type { PostgresBackend } from '../../../src/persistence/postgres/backend.ts';
import { describePg, freshSchema } from '../../support/postgres.ts';
import type { FreshSchema } from '../../support/postgres.ts';

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (value: Uint8Array | undefined) => (value === undefined ? undefined : new TextDecoder().decode(value));

describePg('PostgreSQL point reads', (url) => {
  let fresh: FreshSchema;
  let backend: PostgresBackend;

  beforeAll(async () => {
    fresh = await freshSchema(url);
    backend = postgresBackend(fresh.url, { sync: true });
    await backend.open();
    await backend.write(new Map(Array.from({ length: 10 }, (_, i) => [`r/${i}`, bytes(`v${i}`)] as const)), { sync: true });
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });
  afterAll(async () => {
    await backend?.close();
    await fresh?.drop();
  });

  /** The point-read queries the backend's pool sends while `work` runs. */
  async function readQueries<T>(work: () => Promise<T>): Promise<{ result: T; queries: number }> {
    const query = vi.spyOn(pg.Pool.prototype, 'query');
    const result = await work();
    const queries = query.mock.calls.filter(([config]) => typeof config === 'object' && (config as { name?: string }).name?.endsWith('.read')).length;
    return { result, queries };
  }

  it('sends the reads of one turn as one query, each answered with its own keys', async () => {
    // Ten claims each loading its request: more callers than pooled sessions (4), all in one turn.
    const { result, queries } = await readQueries(() => Promise.all(Array.from({ length: 10 }, (_, i) => backend.getVersioned([`r/${i}`, 'r/missing', `r/${9 - i}`]))));
    expect(queries).toBe(1);
    for (const [i, found] of result.entries()) {
      expect(found.map((f) => text(f?.bytes))).toEqual([`v${i}`, undefined, `v${9 - i}`]);
      expect(found[0]!.version).toMatch(/^\d+$/);
    }
  });

  it('reads a quarter of a million keys in one call (gathering them builds no argument list that large)', async () => {
    const keys = Array.from({ length: 250_000 }, (_, i) => `r/x/${i}`);
    keys[123_456] = 'r/7';
    const found = await backend.getMany(keys);
    expect(found).toHaveLength(keys.length);
    expect(found.filter((value) => value !== undefined).map(text)).toEqual(['v7']);
    expect(text(found[123_456])).toBe('v7');
  });

  it('answers a read asked for in a later turn with a query of its own', async () => {
    const { result, queries } = await readQueries(async () => {
      const first = await backend.getMany(['r/1']);
      const second = await backend.getMany(['r/2', 'r/3']);
      return [first, second];
    });
    expect(queries).toBe(2);
    expect(result.map((found) => found.map(text))).toEqual([['v1'], ['v2', 'v3']]);
  });
});
