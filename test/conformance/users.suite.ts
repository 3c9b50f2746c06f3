import { describe, expect, it } from 'vitest';
import { CoordinatorError, InvalidArgumentError } from '../../src/api.ts';
import type { Connector } from '../../src/api.ts';
import { oneMaster } from './harness.ts';
import type { Harness } from './harness.ts';

export default function users(h: Harness) {
  describe(`users [${h.name}]`, () => {
    let db: Connector;
    const fixture = oneMaster(h);
    const setup = async () => {
      db = await fixture.open();
    };
    const ann = () => db.users.findUserByAttr({ identifier: 'ann', attr_type: 'git', attr_data: 'ann <ann@x>' });
    const bob = () => db.users.findUserByAttr({ identifier: 'bob', attr_type: 'git', attr_data: 'bob <bob@x>' });
    const byUid = <T extends { uid: number }>(list: T[]) => [...list].sort((x, y) => x.uid - y.uid);
    /** Every user in full, to compare before and after a refusal. */
    const everyone = async () => Promise.all(byUid(await db.users.getUsers()).map((u) => db.users.getUser(u.uid)));

    it('findUserByAttr adds a user with that attribute, then finds it by the attribute alone', async () => {
      await setup();
      const uid = await ann();
      expect(await db.users.getUser(uid)).toEqual({ uid, identifier: 'ann', bb_username: null, bb_password: null, git: 'ann <ann@x>' });
      // identifier is used only to make a new user: the existing one keeps its own.
      expect(await db.users.findUserByAttr({ identifier: 'someone-else', attr_type: 'git', attr_data: 'ann <ann@x>' })).toBe(uid);
      expect(await db.users.identifierToUid('someone-else')).toBeNull();
      expect((await db.users.getUser(uid))!.identifier).toBe('ann');
      // Same data under another type is another attribute, so another user.
      const other = await db.users.findUserByAttr({ identifier: 'ann-irc', attr_type: 'irc', attr_data: 'ann <ann@x>' });
      expect(other).toBeGreaterThan(uid);
      expect(await db.users.getUsers()).toHaveLength(2);
    });

    it('findUserByAttr whose new identifier is taken is a CoordinatorError and adds nobody', async () => {
      await setup();
      const uid = await ann();
      await expect(db.users.findUserByAttr({ identifier: 'ann', attr_type: 'irc', attr_data: 'ann' })).rejects.toThrow(CoordinatorError);
      expect(await everyone()).toEqual([{ uid, identifier: 'ann', bb_username: null, bb_password: null, git: 'ann <ann@x>' }]);
      // The attribute was not kept either: a free identifier now makes a new user for it.
      const annie = await db.users.findUserByAttr({ identifier: 'annie', attr_type: 'irc', attr_data: 'ann' });
      expect(annie).not.toBe(uid);
      expect(await db.users.getUser(annie)).toEqual({ uid: annie, identifier: 'annie', bb_username: null, bb_password: null, irc: 'ann' });
    });

    it('getUser folds every attribute in, ignoring types that collide with the usdict keys', async () => {
      await setup();
      const uid = await ann();
      await db.users.updateUser({ uid, attr_type: 'irc', attr_data: 'annie' });
      for (const attr_type of ['uid', 'identifier', 'bb_username', 'bb_password']) {
        await db.users.updateUser({ uid, attr_type, attr_data: 'spoof' });
      }
      await db.users.updateUser({ uid, attr_type: '__proto__', attr_data: 'proto' });
      const usdict = await db.users.getUser(uid);
      expect(usdict).toEqual({ uid, identifier: 'ann', bb_username: null, bb_password: null, git: 'ann <ann@x>', irc: 'annie', ['__proto__']: 'proto' });
      expect(Object.keys(usdict!).sort()).toEqual(['__proto__', 'bb_password', 'bb_username', 'git', 'identifier', 'irc', 'uid']);
      expect(Object.getPrototypeOf(usdict)).toBe(Object.prototype);
      expect(await db.users.getUser(uid, { no_cache: true })).toEqual(usdict);
      expect(await db.users.getUser(uid + 1000)).toBeNull();
    });

    it('getUserByUsername finds a user by bb_username, attributes included', async () => {
      await setup();
      const uid = await ann();
      await bob();
      expect(await db.users.getUserByUsername('ann')).toBeNull(); // an identifier is not a username
      await db.users.updateUser({ uid, bb_username: 'annb', bb_password: 'hash' });
      expect(await db.users.getUserByUsername('annb')).toEqual({ uid, identifier: 'ann', bb_username: 'annb', bb_password: 'hash', git: 'ann <ann@x>' });
      expect(await db.users.getUserByUsername('nobody')).toBeNull();
    });

    it('getUsers lists every user as { uid, identifier }: no user name, password hash or attributes', async () => {
      await setup();
      expect(await db.users.getUsers()).toEqual([]);
      const a = await ann();
      const b = await bob();
      await db.users.updateUser({ uid: b, bb_username: 'bob', bb_password: 'hash' });
      expect(byUid(await db.users.getUsers())).toEqual([
        { uid: a, identifier: 'ann' },
        { uid: b, identifier: 'bob' },
      ]);
    });

    it('updateUser changes only the fields given; null is "not given"', async () => {
      await setup();
      const uid = await ann();
      const other = await bob(); // bystander
      const bystander = await db.users.getUser(other);
      await db.users.updateUser({ uid, bb_username: 'ann', bb_password: 'hash' });
      await db.users.updateUser({ uid, identifier: 'Ann A.' });
      await db.users.updateUser({ uid, attr_type: 'git', attr_data: 'ann <new@x>' });
      await db.users.updateUser({ uid, attr_type: 'irc', attr_data: 'annie' });
      await db.users.updateUser({ uid, identifier: null, bb_username: null, bb_password: null, attr_type: null, attr_data: null });
      await db.users.updateUser({ uid });
      const expected = { uid, identifier: 'Ann A.', bb_username: 'ann', bb_password: 'hash', git: 'ann <new@x>', irc: 'annie' };
      expect(await db.users.getUser(uid)).toEqual(expected);
      expect(await db.users.getUserByUsername('ann')).toEqual(expected);
      expect(await db.users.identifierToUid('Ann A.')).toBe(uid);
      expect(await db.users.identifierToUid('ann')).toBeNull();
      expect(await db.users.getUser(other)).toEqual(bystander);
      // The old attribute no longer names ann, the new one does.
      expect(await db.users.findUserByAttr({ identifier: 'x', attr_type: 'git', attr_data: 'ann <new@x>' })).toBe(uid);
      expect(await db.users.findUserByAttr({ identifier: 'x', attr_type: 'git', attr_data: 'ann <ann@x>' })).not.toBe(uid);
    });

    it('updateUser sets every field at once; keeping its own identifier or username is fine', async () => {
      await setup();
      const uid = await ann();
      await db.users.updateUser({ uid, identifier: 'ann2', bb_username: 'u', bb_password: 'p', attr_type: 'irc', attr_data: 'a' });
      await db.users.updateUser({ uid, identifier: 'ann2', bb_username: 'u', bb_password: 'p2', attr_type: 'irc', attr_data: 'a' });
      expect(await db.users.getUser(uid)).toEqual({ uid, identifier: 'ann2', bb_username: 'u', bb_password: 'p2', git: 'ann <ann@x>', irc: 'a' });
    });

    it('updateUser: bb_username needs bb_password and attr_type needs attr_data; bb_password alone is ignored, as Buildbot does', async () => {
      await setup();
      const uid = await ann();
      const before = await db.users.getUser(uid);
      await expect(db.users.updateUser({ uid, bb_username: 'x' })).rejects.toThrow(InvalidArgumentError);
      await expect(db.users.updateUser({ uid, bb_username: 'x', bb_password: null })).rejects.toThrow(InvalidArgumentError);
      await expect(db.users.updateUser({ uid, identifier: 'changed', attr_type: 'irc' })).rejects.toThrow(InvalidArgumentError);
      expect(await db.users.getUser(uid)).toEqual(before);
      await db.users.updateUser({ uid, bb_password: 'orphan', attr_data: 'orphan' });
      expect(await db.users.getUser(uid)).toEqual(before);
    });

    it('updateUser to an identifier, username or attribute another user holds is refused and changes nothing', async () => {
      await setup();
      const uid = await ann();
      const other = await bob();
      await db.users.updateUser({ uid: other, bb_username: 'bob', bb_password: 'h' });
      const before = await everyone();
      const refused = [
        { uid, identifier: 'bob', attr_type: 'irc', attr_data: 'fresh' },
        { uid, bb_username: 'bob', bb_password: 'mine', identifier: 'fresh' },
        { uid, attr_type: 'git', attr_data: 'bob <bob@x>', identifier: 'fresh' },
        { uid, attr_type: 'git', attr_data: 'bob <bob@x>' },
      ];
      for (const args of refused) await expect(db.users.updateUser(args), JSON.stringify(args)).rejects.toThrow(CoordinatorError);
      expect(await everyone()).toEqual(before);
      expect(await db.users.findUserByAttr({ identifier: 'x', attr_type: 'git', attr_data: 'bob <bob@x>' })).toBe(other);
    });

    it('updateUser of a uid with no user resolves and adds nothing', async () => {
      await setup();
      const uid = await ann();
      const before = await everyone();
      await db.users.updateUser({ uid: uid + 1000, identifier: 'ghost', bb_username: 'ghost', bb_password: 'p', attr_type: 'git', attr_data: 'ghost' });
      expect(await everyone()).toEqual(before);
      expect(await db.users.identifierToUid('ghost')).toBeNull();
      expect(await db.users.getUserByUsername('ghost')).toBeNull();
      expect(await db.users.findUserByAttr({ identifier: 'ghost', attr_type: 'git', attr_data: 'ghost' })).not.toBe(uid + 1000);
    });

    it('removeUser removes the user, its attributes and its change links, and no one else', async () => {
      await setup();
      const uid = await ann();
      await db.users.updateUser({ uid, bb_username: 'ann', bb_password: 'h', attr_type: 'irc', attr_data: 'annie' });
      const other = await bob();
      const bystander = await db.users.getUser(other);
      const [mine, his] = [await db.changes.addChange({ author: 'ann', uid }), await db.changes.addChange({ author: 'bob', uid: other })];
      const change = await db.changes.getChange(mine);

      await db.users.removeUser(uid);
      expect(await db.users.getUser(uid)).toBeNull();
      expect(await db.users.getUsers()).toEqual([{ uid: other, identifier: 'bob' }]);
      expect(await db.users.identifierToUid('ann')).toBeNull();
      expect(await db.users.getUserByUsername('ann')).toBeNull();
      expect(await db.changes.getChangeUids(mine)).toEqual([]);
      expect(await db.changes.getChange(mine, { no_cache: true })).toEqual(change); // the change itself stays
      expect(await db.changes.getChangeUids(his)).toEqual([other]);
      expect(await db.users.getUser(other)).toEqual(bystander);
      // Identifier, username and attributes are free again: a new user gets them.
      const again = await ann();
      expect(again).toBeGreaterThan(other);
      expect(await db.users.getUser(again)).toEqual({ uid: again, identifier: 'ann', bb_username: null, bb_password: null, git: 'ann <ann@x>' });
      await db.users.updateUser({ uid: again, bb_username: 'ann', bb_password: 'h2', attr_type: 'irc', attr_data: 'annie' });
      expect(await db.users.findUserByAttr({ identifier: 'x', attr_type: 'irc', attr_data: 'annie' })).toBe(again);
      // Removing a uid with no user does nothing.
      await db.users.removeUser(uid);
      expect(byUid(await db.users.getUsers()).map((u) => u.uid)).toEqual([other, again]);
    });

    it('identifierToUid finds a uid by identifier, exactly', async () => {
      await setup();
      const uid = await db.users.findUserByAttr({ identifier: 'Zoë 😀', attr_type: 'git', attr_data: 'zoe' });
      expect(await db.users.identifierToUid('Zoë 😀')).toBe(uid);
      expect(await db.users.identifierToUid('Zoë')).toBeNull();
      expect(await db.users.identifierToUid('zoë 😀')).toBeNull();
      expect(await db.users.identifierToUid('')).toBeNull();
    });

    it('bad arguments are InvalidArgumentError and change nothing', async () => {
      await setup();
      const uid = await ann();
      const before = await everyone();
      const bad: [string, () => Promise<unknown>][] = [
        ['find without attr_data', () => db.users.findUserByAttr({ identifier: 'x', attr_type: 'git' } as never)],
        ['find without identifier', () => db.users.findUserByAttr({ attr_type: 'git', attr_data: 'x' } as never)],
        ['find identifier number', () => db.users.findUserByAttr({ identifier: 1, attr_type: 'git', attr_data: 'x' } as never)],
        ['find attr_data null', () => db.users.findUserByAttr({ identifier: 'x', attr_type: 'git', attr_data: null } as never)],
        ['find attr_type with a lone surrogate', () => db.users.findUserByAttr({ identifier: 'x', attr_type: '\uD800', attr_data: 'x' })],
        ['find unknown key', () => db.users.findUserByAttr({ identifier: 'x', attr_type: 'git', attr_data: 'x', uid: 1 } as never)],
        ['find positional', () => (db.users.findUserByAttr as (...a: unknown[]) => Promise<number>)('x', 'git', 'x')],
        ['getUser string', () => db.users.getUser(String(uid) as never)],
        ['getUser 0', () => db.users.getUser(0)],
        ['getUser no_cache number', () => db.users.getUser(uid, { no_cache: 1 } as never)],
        ['getUser unknown option', () => db.users.getUser(uid, { fresh: true } as never)],
        ['getUserByUsername number', () => db.users.getUserByUsername(1 as never)],
        ['getUserByUsername null', () => db.users.getUserByUsername(null as never)],
        ['update without uid', () => db.users.updateUser({ identifier: 'x' } as never)],
        ['update uid string', () => db.users.updateUser({ uid: String(uid), identifier: 'x' } as never)],
        ['update identifier number', () => db.users.updateUser({ uid, identifier: 1 } as never)],
        ['update bb_password number', () => db.users.updateUser({ uid, bb_username: 'x', bb_password: 1 } as never)],
        ['update attr_data number', () => db.users.updateUser({ uid, attr_type: 'irc', attr_data: 1 } as never)],
        ['update unknown key', () => db.users.updateUser({ uid, nickname: 'x' } as never)],
        ['update not an object', () => db.users.updateUser(uid as never)],
        ['removeUser 0', () => db.users.removeUser(0)],
        ['removeUser string', () => db.users.removeUser(String(uid) as never)],
        ['identifierToUid null', () => db.users.identifierToUid(null as never)],
        ['identifierToUid number', () => db.users.identifierToUid(uid as never)],
      ];
      for (const [name, call] of bad) await expect(call(), name).rejects.toThrow(InvalidArgumentError);
      expect(await everyone()).toEqual(before);
    });

    it.runIf(h.capabilities.permanence)('users, attributes, credentials and change links are back after reopen, and uids keep increasing', async () => {
      await setup();
      const uid = await ann();
      await db.users.updateUser({ uid, bb_username: 'ann', bb_password: 'h', attr_type: 'irc', attr_data: 'annie' });
      const other = await bob();
      const changeid = await db.changes.addChange({ uid });
      await db.users.removeUser(other);
      const before = await everyone();

      db = await fixture.reopen();
      expect(await everyone()).toEqual(before);
      expect(await db.users.getUserByUsername('ann')).toEqual(before[0]);
      expect(await db.users.identifierToUid('ann')).toBe(uid);
      expect(await db.users.identifierToUid('bob')).toBeNull();
      expect(await ann()).toBe(uid);
      expect(await db.changes.getChangeUids(changeid)).toEqual([uid]);
      expect(await bob()).toBeGreaterThan(other);
    });
  });
}
