import { describe, expect, it } from 'vitest';
import type { Connector, Coordinator } from '../../src/api.ts';
import { LIMITS } from '../../src/validate.ts';
import type { LimitName } from '../../src/validate.ts';
import { expectRefused, storeFixture, STORES } from './stores.ts';

/**
 * Every string argument has a length bound, checked before the string is
 * scanned: one character past it is refused, naming the argument and the
 * limit, with the store unchanged; exactly at it the call is taken.
 */

interface Fixture {
  coordinator: Coordinator;
  db: Connector;
  sss: number;
  objectid: number;
  uid: number;
}

type Case = [call: string, argument: string, run: (f: Fixture, s: string) => Promise<unknown>, limit?: LimitName];

const stamp = (f: Fixture, args: Record<string, unknown>) =>
  f.db.sourcestamps.addSourceStamp({ branch: null, revision: null, repository: '', project: '', sourcestampsetid: f.sss, ...args });

const CASES: Case[] = [
  ['connect', 'name', (f, s) => f.coordinator.connect(s)],
  ['findMasterId', 'name', (f, s) => f.db.masters.findMasterId(s)],
  ['findChangeSourceId', 'name', (f, s) => f.db.changesources.findChangeSourceId(s)],
  ['getObjectId', 'name', (f, s) => f.db.state.getObjectId(s, 'C')],
  ['getObjectId', 'class_name', (f, s) => f.db.state.getObjectId('o', s)],
  ['getState', 'name', (f, s) => f.db.state.getState(f.objectid, s, { default: null })],
  ['setState', 'name', (f, s) => f.db.state.setState(f.objectid, s, 1)],
  ['addBuildset', 'reason', (f, s) => f.db.buildsets.addBuildset({ sourcestampsetid: f.sss, reason: s, properties: {}, builderNames: [] })],
  ['addBuildset', 'external_idstring', (f, s) => f.db.buildsets.addBuildset({ sourcestampsetid: f.sss, reason: 'r', properties: {}, builderNames: [], external_idstring: s })],
  ['addBuildset', 'builderNames[0]', (f, s) => f.db.buildsets.addBuildset({ sourcestampsetid: f.sss, reason: 'r', properties: {}, builderNames: [s] })],
  ['addBuildset', 'properties.p source', (f, s) => f.db.buildsets.addBuildset({ sourcestampsetid: f.sss, reason: 'r', properties: { p: [1, s] }, builderNames: [] })],
  ['getBuildRequests', 'buildername', (f, s) => f.db.buildrequests.getBuildRequests({ buildername: s })],
  ['getBuildRequests', 'branch', (f, s) => f.db.buildrequests.getBuildRequests({ branch: s })],
  ['getBuildRequests', 'repository', (f, s) => f.db.buildrequests.getBuildRequests({ repository: s })],
  ['getRecentBuildsets', 'branch', (f, s) => f.db.buildsets.getRecentBuildsets(1, { branch: s })],
  ['getRecentBuildsets', 'repository', (f, s) => f.db.buildsets.getRecentBuildsets(1, { repository: s })],
  ...(['author', 'revision', 'branch', 'category', 'revlink', 'repository', 'codebase', 'project'] as const).map(
    (key): Case => ['addChange', key, (f, s) => f.db.changes.addChange({ [key]: s })],
  ),
  ['addChange', 'files[0]', (f, s) => f.db.changes.addChange({ files: [s] })],
  ['addChange', 'links[0]', (f, s) => f.db.changes.addChange({ links: [s] })],
  ['addChange', 'comments', (f, s) => f.db.changes.addChange({ comments: s }), 'textLength'],
  ...(['branch', 'revision', 'repository', 'project', 'codebase', 'patch_author', 'patch_subdir'] as const).map(
    (key): Case => ['addSourceStamp', key, (f, s) => stamp(f, { [key]: s, patch_body: 'diff' })],
  ),
  ['addSourceStamp', 'patch_body', (f, s) => stamp(f, { patch_body: s }), 'textLength'],
  ['addSourceStamp', 'patch_comment', (f, s) => stamp(f, { patch_body: 'diff', patch_comment: s }), 'textLength'],
  ['addSourceStamp', 'patch_body', (f, s) => stamp(f, { patch_body: Buffer.from(s) }), 'textLength'],
  ['getChangeClassifications', 'branch', (f, s) => f.db.schedulers.getChangeClassifications(f.objectid, { branch: s })],
  ['findUserByAttr', 'identifier', (f, s) => f.db.users.findUserByAttr({ identifier: s, attr_type: 't', attr_data: 'new' })],
  ['findUserByAttr', 'attr_type', (f, s) => f.db.users.findUserByAttr({ identifier: 'new', attr_type: s, attr_data: 'd' })],
  ['updateUser', 'identifier', (f, s) => f.db.users.updateUser({ uid: f.uid, identifier: s })],
  ['updateUser', 'bb_username', (f, s) => f.db.users.updateUser({ uid: f.uid, bb_username: s, bb_password: 'p' })],
  ['updateUser', 'bb_password', (f, s) => f.db.users.updateUser({ uid: f.uid, bb_username: 'u', bb_password: s })],
  ['updateUser', 'attr_type', (f, s) => f.db.users.updateUser({ uid: f.uid, attr_type: s, attr_data: 'd2' })],
  ['getUserByUsername', 'username', (f, s) => f.db.users.getUserByUsername(s)],
  ['identifierToUid', 'identifier', (f, s) => f.db.users.identifierToUid(s)],
];

describe.each(STORES)('string limits [%s]', (kind) => {
  const open = storeFixture(kind);
  const fixture = async () => {
    const store = await open();
    const db = store.db;
    const f: Fixture = {
      coordinator: store.coordinator,
      db,
      sss: await db.sourcestampsets.addSourceStampSet(),
      objectid: await db.state.getObjectId('o', 'C'),
      uid: await db.users.findUserByAttr({ identifier: 'u', attr_type: 't', attr_data: 'd' }),
    };
    return { store, f };
  };

  it.each(CASES)('%s: %s one character past its limit is refused; at it, taken', async (_, argument, run, limit = 'stringLength') => {
    const { store, f } = await fixture();
    await expectRefused(store, () => run(f, 'x'.repeat(LIMITS[limit] + 1)), argument, limit);
    await run(f, 'x'.repeat(LIMITS[limit]));
  });

  it('lengths are in UTF-16 code units: stringLength units of astral characters are taken, one more unit is refused', async () => {
    const { store, f } = await fixture();
    const astral = '😀'.repeat(LIMITS.stringLength / 2);
    await expectRefused(store, () => f.db.masters.findMasterId(`${astral}x`), 'name', 'stringLength');
    const id = await f.db.masters.findMasterId(astral);
    expect((await f.db.masters.getMaster(id))!.name).toBe(astral);
  });

  describe('a 300 MB string is refused without being scanned', () => {
    // A lone surrogate at the end: a check that scanned it first would refuse it as ill-formed, not for its size.
    const huge = `${'x'.repeat(300 * 2 ** 20)}\uD800`;
    const hugeCases: Case[] = [
      ['findMasterId', 'name', (f) => f.db.masters.findMasterId(huge)],
      ['setState', 'name', (f) => f.db.state.setState(f.objectid, huge, 1)],
      ['addChange', 'comments', (f) => f.db.changes.addChange({ comments: huge }), 'textLength'],
      ['addChange', 'files', (f) => f.db.changes.addChange({ files: [huge] }), 'listChars'],
      ['addBuildset', 'builderNames', (f) => f.db.buildsets.addBuildset({ sourcestampsetid: f.sss, reason: 'r', properties: {}, builderNames: [huge] }), 'listChars'],
      ['addBuildset', 'properties', (f) => f.db.buildsets.addBuildset({ sourcestampsetid: f.sss, reason: 'r', properties: { p: [huge, 'S'] }, builderNames: [] }), 'valueBytes'],
      ['setState', 'value', (f) => f.db.state.setState(f.objectid, 'v', { deep: [huge] }), 'valueBytes'],
      ['findUserByAttr', 'attr_data', (f) => f.db.users.findUserByAttr({ identifier: 'n', attr_type: 't', attr_data: huge }), 'valueBytes'],
    ];
    it.each(hugeCases)('%s: %s', async (_, argument, run, limit = 'stringLength') => {
      const { store, f } = await fixture();
      await expectRefused(store, () => run(f, huge), argument, limit);
    });
  });
});
