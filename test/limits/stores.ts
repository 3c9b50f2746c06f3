import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, expect } from 'vitest';
import { InvalidArgumentError, openCoordinator } from '../../src/api.ts';
import type { Connector, Coordinator } from '../../src/api.ts';
import type { Backend } from '../../src/persistence/backend.ts';
import { levelDBBackend } from '../../src/persistence/leveldb/backend.ts';
import { memoryBackend } from '../../src/persistence/memory/backend.ts';
import { LIMITS } from '../../src/validate.ts';
import type { LimitName } from '../../src/validate.ts';

/**
 * The limits tests run on both stores: the bounds are checked above the
 * store, but "a refusal changes nothing" and "the limit is accepted" are
 * claims about what each store ends up holding.
 */
export const STORES = ['memory', 'leveldb'] as const;
export type StoreKind = (typeof STORES)[number];

export interface Store {
  coordinator: Coordinator;
  /** Master m1's connector. */
  db: Connector;
  /** Every key and value in the store, as one string to compare. */
  dump(): Promise<string>;
}

const root = mkdtempSync(join(tmpdir(), 'buildcoord-limits-'));
let stores = 0;
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** The setup each describe block shares: a store of `kind` with m1 connected, closed after each test. */
export function storeFixture(kind: StoreKind) {
  let coordinator: Coordinator | undefined;
  afterEach(async () => {
    await coordinator?.close();
    coordinator = undefined;
  });
  return async (): Promise<Store> => {
    const backend: Backend = kind === 'memory' ? memoryBackend() : levelDBBackend(join(root, `store-${++stores}`));
    coordinator = await openCoordinator({ backend });
    const db = await coordinator.connect('m1');
    // Every key starts with ASCII (c/, i/, r/, m/...). Not prefixRange(''): its range, from '' to '\0', holds nothing.
    const dump = async () => (await backend.entries({ gte: '', lt: '\uffff' })).map(([key, value]) => `${key}=${Buffer.from(value).toString('base64')}`).join('\n');
    return { coordinator, db, dump };
  };
}

/** Asserts `call` is refused at once as over `limit`, naming `argument` and the limit, and that the store is as it was. */
export async function expectRefused(store: Store, call: () => Promise<unknown>, argument: string, limit: LimitName): Promise<void> {
  const before = await store.dump();
  expect(before).toContain('r/master/'); // the dump sees the store (m1 is in it)
  const error = await call().then(
    () => new Error('the call was accepted'),
    (error: unknown) => error,
  );
  expect(error).toBeInstanceOf(InvalidArgumentError);
  const message = (error as Error).message;
  expect(message).toContain(argument);
  expect(message).toContain(`${LIMITS[limit]} (LIMITS.${limit})`);
  expect(await store.dump()).toBe(before);
}

/** `count` build requests, in buildsets of at most LIMITS.buildersPerBuildset builders; resolves to their brids. */
export async function requests(db: Connector, count: number): Promise<number[]> {
  const sss = await db.sourcestampsets.addSourceStampSet();
  const brids: number[] = [];
  for (let i = 0; i < count; i += LIMITS.buildersPerBuildset) {
    const builderNames = Array.from({ length: Math.min(LIMITS.buildersPerBuildset, count - i) }, (_, j) => `builder-${i + j}`);
    const [, map] = await db.buildsets.addBuildset({ sourcestampsetid: sss, reason: 'r', properties: {}, builderNames });
    brids.push(...builderNames.map((name) => map[name]!));
  }
  return brids;
}

/**
 * An array of `length` whose items fail the test if read: reading one past
 * the first records it in `reads` and throws (so the call is not refused
 * as over a limit). A check that reads the length alone leaves it empty.
 */
export function untouchable(length: number): { list: number[]; reads: string[] } {
  const reads: string[] = [];
  const list = new Proxy(new Array<number>(length), {
    get(target, key, receiver) {
      if (typeof key === 'string' && /^[0-9]+$/.test(key) && key !== '0') {
        reads.push(key);
        throw new Error(`item ${key} was read`);
      }
      return Reflect.get(target, key, receiver) as unknown;
    },
  });
  return { list, reads };
}
