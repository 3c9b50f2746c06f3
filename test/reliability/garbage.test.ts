import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { CoordinatorError, openCoordinator } from '../../src/api.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { levelDBBackend } from '../../src/persistence/leveldb/backend.ts';
import { memoryBackend } from '../../src/persistence/memory/backend.ts';

/**
 * Generated garbage for every method: the answer is a value or one of the
 * contract's typed errors, never anything else; and a refused call leaves
 * the store byte for byte as it was.
 */

const nasty = fc.oneof(
  fc.anything({ withBigInt: true, withDate: true, withMap: true, withSet: true, withTypedArray: true, withNullPrototype: true, withSparseArray: true }),
  fc.constantFrom(NaN, Infinity, -Infinity, -1, 0, 1.5, 2 ** 53, Number.MAX_VALUE, -0, '', '1', null, undefined, true, [], {}, new Date(NaN)),
  fc.constantFrom(JSON.parse('{"__proto__": {"polluted": 1}}'), JSON.parse('{"constructor": {"prototype": {"polluted": 1}}}')),
  fc.string({ minLength: 10_000, maxLength: 20_000 }),
  fc.letrec((tie) => ({ deep: fc.oneof({ depthSize: 'large' }, fc.constant(1), fc.array(tie('deep'), { maxLength: 2 })) })).deep,
  fc.integer(),
  fc.array(fc.integer({ min: -2, max: 20 }), { maxLength: 5 }),
);

/** Every method of the connector, by component, with how many arguments it takes (options included). */
const METHODS: Record<string, Record<string, number>> = {
  masters: { findMasterId: 1, setMasterState: 2, getMaster: 1, getMasters: 0 },
  buildrequests: {
    getBuildRequest: 1,
    getBuildRequests: 1,
    claimBuildRequests: 2,
    reclaimBuildRequests: 1,
    unclaimBuildRequests: 1,
    completeBuildRequests: 3,
    unclaimExpiredRequests: 1,
  },
  builds: { getBuild: 1, getBuildsForRequest: 1, addBuild: 2, finishBuilds: 1 },
  buildsets: { addBuildset: 1, completeBuildset: 3, getBuildset: 1, getBuildsets: 1, getRecentBuildsets: 2, getBuildsetProperties: 1 },
  changes: { addChange: 1, getChange: 2, getChangeUids: 1, getRecentChanges: 1, getLatestChangeid: 0 },
  changesources: { findChangeSourceId: 1, setChangeSourceMaster: 2, getChangeSource: 1, getChangeSources: 1 },
  schedulers: { classifyChanges: 2, getChangeClassifications: 2, flushChangeClassifications: 2 },
  sourcestamps: { addSourceStamp: 1, getSourceStamp: 1, getSourceStamps: 1 },
  sourcestampsets: { addSourceStampSet: 0 },
  state: { getObjectId: 2, getState: 3, setState: 3 },
  users: { findUserByAttr: 1, getUser: 1, getUserByUsername: 1, getUsers: 0, updateUser: 1, removeUser: 1, identifierToUid: 1 },
};
const calls = Object.entries(METHODS).flatMap(([component, methods]) => Object.entries(methods).map(([method, arity]) => ({ component, method, arity })));

const root = mkdtempSync(join(tmpdir(), 'buildcoord-garbage-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('garbage input', () => {
  it('arrays with holes are refused, not read as undefined ids (found by the property below)', async () => {
    const coordinator = await openCoordinator();
    const db = await coordinator.connect('m1');
    // biome-ignore lint/suspicious/noSparseArray: a hole is the input under test
    await expect(db.buildrequests.claimBuildRequests([, 1] as number[])).rejects.toThrow(CoordinatorError);
    await expect(db.buildsets.addBuildset({ sourcestampsetid: 1, reason: 'r', properties: {}, builderNames: new Array(2) })).rejects.toThrow(CoordinatorError);
    await coordinator.close();
  });

  it.each([
    ['memory', () => memoryBackend(), 3000],
    ['leveldb', () => levelDBBackend(join(root, 'store')), 600],
  ] as const)('every method answers garbage with a value or a typed error, and a refusal writes nothing [%s]', async (_, makeBackend, runs) => {
    const backend = makeBackend();
    const coordinator = await openCoordinator({ backend });
    const db = await coordinator.connect('m1');
    // Some rows for ids in garbage to hit.
    const sss = await db.sourcestampsets.addSourceStampSet();
    await db.buildsets.addBuildset({ sourcestampsetid: sss, reason: 'r', properties: {}, builderNames: ['a', 'b'] });
    await db.changes.addChange({});
    await db.state.getObjectId('o', 'C');
    const everything = { gte: '', lt: '\u007f' }; // every key: each starts with an ASCII letter
    const dump = async () => JSON.stringify(await backend.entries(everything));
    expect((await backend.entries(everything)).length).toBeGreaterThan(10); // so "unchanged" below compares something

    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...calls), fc.array(nasty, { minLength: 0, maxLength: 4 }), async ({ component, method }, args) => {
        const before = await dump();
        const target = (db as unknown as Record<string, Record<string, (...a: unknown[]) => Promise<unknown>>>)[component]!;
        const outcome = await target[method]!(...args).then(
          () => 'ok',
          (error: unknown) => error,
        );
        if (outcome !== 'ok') {
          expect(outcome, `${component}.${method}(${fc.stringify(args)})`).toBeInstanceOf(CoordinatorError);
          expect(await dump()).toBe(before);
        }
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      }),
      { numRuns: runs },
    );
    await coordinator.close();
  });
});
