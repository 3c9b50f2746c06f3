import { afterEach, describe, expect, it } from 'vitest';
import { CoordinatorError, InvalidArgumentError } from '../../src/api.ts';
import type { Connector, Coordinator } from '../../src/api.ts';
import type { Harness } from './harness.ts';

export default function users(h: Harness) {
  describe(`users [${h.name}]`, () => {
    let coordinator: Coordinator;
    let db: Connector;
    afterEach(() => coordinator?.close());
    const setup = async () => {
      coordinator = await h.open();
      db = await coordinator.connect('m1');
    };
    const ann = () => db.users.findUserByAttr({ identifier: 'ann', attr_type: 'git', attr_data: 'ann <ann@x>' });

    it('findUserByAttr adds a user with that attribute, then finds it by the attribute alone', async () => {
      await setup();
      const uid = await ann();
      expect(await db.users.findUserByAttr({ identifier: 'someone-else', attr_type: 'git', attr_data: 'ann <ann@x>' })).toBe(uid);
      expect(await db.users.getUser(uid)).toEqual({ uid, identifier: 'ann', bb_username: null, bb_password: null, git: 'ann <ann@x>' });
      expect(await db.users.identifierToUid('someone-else')).toBeNull();
    });

    it('findUserByAttr whose new identifier is taken is a CoordinatorError and adds nobody', async () => {
      await setup();
      await ann();
      await expect(db.users.findUserByAttr({ identifier: 'ann', attr_type: 'irc', attr_data: 'ann' })).rejects.toThrow(CoordinatorError);
      expect(await db.users.getUsers()).toHaveLength(1);
    });

    it('getUser folds attributes in, ignoring types that collide with the user keys', async () => {
      await setup();
      const uid = await ann();
      await db.users.updateUser({ uid, attr_type: 'irc', attr_data: 'annie' });
      await db.users.updateUser({ uid, attr_type: 'identifier', attr_data: 'spoof' });
      expect(await db.users.getUser(uid)).toEqual({ uid, identifier: 'ann', bb_username: null, bb_password: null, git: 'ann <ann@x>', irc: 'annie' });
      expect(await db.users.getUser(9999)).toBeNull();
    });

    it('getUsers lists partial dicts without attributes', async () => {
      await setup();
      const a = await ann();
      const b = await db.users.findUserByAttr({ identifier: 'bob', attr_type: 'git', attr_data: 'bob' });
      expect(await db.users.getUsers()).toEqual([
        { uid: a, identifier: 'ann', bb_username: null, bb_password: null },
        { uid: b, identifier: 'bob', bb_username: null, bb_password: null },
      ]);
    });

    it('updateUser changes only what is given; credentials come in pairs', async () => {
      await setup();
      const uid = await ann();
      await db.users.updateUser({ uid, bb_username: 'ann', bb_password: 'hash' });
      await db.users.updateUser({ uid, identifier: 'Ann A.' });
      await db.users.updateUser({ uid, attr_type: 'git', attr_data: 'ann <new@x>' });
      expect(await db.users.getUser(uid)).toEqual({ uid, identifier: 'Ann A.', bb_username: 'ann', bb_password: 'hash', git: 'ann <new@x>' });
      expect(await db.users.getUserByUsername('ann')).toEqual(await db.users.getUser(uid));
      expect(await db.users.getUserByUsername('nobody')).toBeNull();
      expect(await db.users.identifierToUid('Ann A.')).toBe(uid);
      expect(await db.users.identifierToUid('ann')).toBeNull();
      await expect(db.users.updateUser({ uid, bb_username: 'x' })).rejects.toThrow(InvalidArgumentError);
      await expect(db.users.updateUser({ uid, attr_type: 'irc' })).rejects.toThrow(InvalidArgumentError);
      expect((await db.users.getUser(uid))!.bb_username).toBe('ann');
    });

    it('updateUser of a missing uid resolves silently and adds nothing', async () => {
      await setup();
      await db.users.updateUser({ uid: 9999, identifier: 'ghost', attr_type: 'git', attr_data: 'ghost' });
      expect(await db.users.getUsers()).toEqual([]);
      expect(await db.users.identifierToUid('ghost')).toBeNull();
    });

    it('removeUser removes the user, its attributes and its change links', async () => {
      await setup();
      const uid = await ann();
      const changeid = await db.changes.addChange({ author: 'ann', uid });
      await db.users.removeUser(uid);
      expect(await db.users.getUser(uid)).toBeNull();
      expect(await db.changes.getChangeUids(changeid)).toEqual([]);
      expect(await db.changes.getChange(changeid)).not.toBeNull();
      // The attribute is free again: a new user is made for it.
      expect(await ann()).toBeGreaterThan(uid);
      await db.users.removeUser(9999);
    });

    it('bad arguments are InvalidArgumentError and change nothing', async () => {
      await setup();
      const uid = await ann();
      await expect(db.users.findUserByAttr({ identifier: 'x', attr_type: 'git' } as never)).rejects.toThrow(InvalidArgumentError);
      await expect(db.users.findUserByAttr({ identifier: 1, attr_type: 'git', attr_data: 'x' } as never)).rejects.toThrow(InvalidArgumentError);
      await expect(db.users.updateUser({ identifier: 'x' } as never)).rejects.toThrow(InvalidArgumentError);
      await expect(db.users.updateUser({ uid, nickname: 'x' } as never)).rejects.toThrow(InvalidArgumentError);
      await expect(db.users.getUser('1' as never)).rejects.toThrow(InvalidArgumentError);
      await expect(db.users.removeUser(0)).rejects.toThrow(InvalidArgumentError);
      await expect(db.users.identifierToUid(null as never)).rejects.toThrow(InvalidArgumentError);
      expect(await db.users.getUsers()).toHaveLength(1);
    });
  });
}
