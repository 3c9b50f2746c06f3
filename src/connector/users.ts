// users: spec buildbot-database.md, "users". A user has an identifier,
// optional credentials, and attributes keyed by type (one per type).
import type { Transaction } from '../commit/transaction.ts';
import { InvalidArgumentError } from '../errors.ts';
import { recordPrefix } from '../persistence/keys.ts';
import { firstIdUnder, idsUnder, readRecord, readRecords } from '../persistence/records.ts';
import type { Reader } from '../persistence/records.ts';
import type { UsDict, UserSummary } from '../types.ts';
import * as v from '../validate.ts';
import { breathe, due } from '../breathe.ts';
import type { Core } from './core.ts';
import { changeIndex, changes, userAttrIndex, userAttrs, userIndex, users } from './model.ts';
import type { UserRecord } from './model.ts';

export interface FindUserByAttrArgs {
  identifier: string;
  attr_type: string;
  attr_data: string;
}

export interface UpdateUserArgs {
  uid: number;
  identifier?: string | null;
  bb_username?: string | null;
  bb_password?: string | null;
  attr_type?: string | null;
  attr_data?: string | null;
}

const USER_KEYS = ['uid', 'identifier', 'bb_username', 'bb_password'];

export class UsersComponent {
  constructor(private readonly core: Core) {}

  /** The user with this attribute, or a new one named `identifier` that has it; resolves to its uid. */
  async findUserByAttr(args: FindUserByAttrArgs): Promise<number> {
    const a = v.keywords(args, 'findUserByAttr arguments', ['identifier', 'attr_type', 'attr_data'], ['identifier', 'attr_type', 'attr_data']);
    const identifier = v.string(a.identifier, 'identifier');
    const attr_type = v.string(a.attr_type, 'attr_type');
    const attr_data = v.dataString(a.attr_data, 'attr_data');
    return this.core.runner.run(async (tx) => {
      const attrId = await firstIdUnder(tx, userAttrIndex.value(attr_type, attr_data));
      if (attrId !== undefined) return (await readRecord(tx, userAttrs, attrId))!.uid;
      await refuseTaken(tx, 'identifier', identifier, userIndex.identifier(identifier));
      const uid = await tx.allocateId(users.name);
      tx.putRecord(users, uid, { uid, identifier, bb_username: null, bb_password: null });
      const id = await tx.allocateId(userAttrs.name);
      tx.putRecord(userAttrs, id, { id, uid, attr_type, attr_data });
      return uid;
    });
  }

  /**
   * The usdict of a user, attributes included, or null. Users are read
   * fresh every time, so `no_cache` (accepted as the spec names it) changes nothing.
   */
  async getUser(uid: number, options?: { no_cache?: boolean }): Promise<UsDict | null> {
    v.id(uid, 'uid');
    v.optional(v.options(options, 'getUser options', ['no_cache']).no_cache, 'no_cache', v.boolean);
    return fullDict(this.core.reader, await readRecord(this.core.reader, users, uid));
  }

  async getUserByUsername(username: string): Promise<UsDict | null> {
    v.string(username, 'username');
    const reader = this.core.reader;
    const uid = await firstIdUnder(reader, userIndex.username(username));
    return uid === undefined ? null : fullDict(reader, await readRecord(reader, users, uid));
  }

  /** Every user, without attributes. */
  /** Every user as `{ uid, identifier }`: Buildbot 0.8.8's rows, with no user name or password hash in a list. */
  async getUsers(): Promise<UserSummary[]> {
    const reader = this.core.reader;
    return (await readRecords(reader, users, await idsUnder(reader, recordPrefix(users.name)))).map(({ uid, identifier }) => ({ uid, identifier }));
  }

  /**
   * Changes only the fields given. bb_username needs bb_password, and
   * attr_type needs attr_data. A uid with no user is silently ignored.
   */
  async updateUser(args: UpdateUserArgs): Promise<void> {
    const a = v.keywords(args, 'updateUser arguments', ['uid', 'identifier', 'bb_username', 'bb_password', 'attr_type', 'attr_data'], ['uid']);
    const uid = v.id(a.uid, 'uid');
    const field = (key: string, check: (value: unknown, name: string) => string = v.string) => v.optional(a[key], key, check);
    const [identifier, bb_username, bb_password, attr_type, attr_data] = [
      field('identifier'),
      field('bb_username'),
      field('bb_password'),
      field('attr_type'),
      field('attr_data', v.dataString),
    ];
    if (bb_username !== null && bb_password === null) throw new InvalidArgumentError('bb_username needs bb_password');
    if (attr_type !== null && attr_data === null) throw new InvalidArgumentError('attr_type needs attr_data');
    await this.core.runner.run(async (tx) => {
      const user = await readRecord(tx, users, uid);
      if (user === undefined) return;
      const next: UserRecord = { ...user };
      if (identifier !== null) {
        await refuseTaken(tx, 'identifier', identifier, userIndex.identifier(identifier), uid);
        next.identifier = identifier;
      }
      if (bb_username !== null) {
        await refuseTaken(tx, 'bb_username', bb_username, userIndex.username(bb_username), uid);
        Object.assign(next, { bb_username, bb_password });
      }
      tx.putRecord(users, uid, next, user);
      if (attr_type !== null) {
        const attrId = await firstIdUnder(tx, userAttrIndex.user(uid, attr_type));
        // (attr_type, attr_data) names one user, as Buildbot's unique users_info_attrs index has it.
        const holder = await firstIdUnder(tx, userAttrIndex.value(attr_type, attr_data!));
        if (holder !== undefined && holder !== attrId) {
          const owner = (await readRecord(tx, userAttrs, holder))!.uid;
          throw new InvalidArgumentError(`${v.clip(attr_type)} ${v.quote(attr_data!)} already belongs to user ${owner}`);
        }
        const previous = attrId === undefined ? undefined : await readRecord(tx, userAttrs, attrId);
        const id = attrId ?? (await tx.allocateId(userAttrs.name));
        tx.putRecord(userAttrs, id, { id, uid, attr_type, attr_data: attr_data! }, previous);
      }
    });
  }

  /** Removes a user, its attributes, and its links to changes. */
  async removeUser(uid: number): Promise<void> {
    v.id(uid, 'uid');
    await this.core.runner.run(async (tx) => {
      const user = await readRecord(tx, users, uid);
      if (user === undefined) return;
      tx.deleteRecord(users, uid, user);
      for (const id of await idsUnder(tx, userAttrIndex.user(uid))) tx.deleteRecord(userAttrs, id, (await readRecord(tx, userAttrs, id))!);
      // A user may have made any number of changes: one command, breathing between chunks.
      for (const [i, changeid] of (await idsUnder(tx, changeIndex.user(uid))).entries()) {
        if (due(i)) await breathe();
        const change = (await readRecord(tx, changes, changeid))!;
        tx.putRecord(changes, changeid, { ...change, uids: change.uids.filter((u) => u !== uid) }, change);
      }
    });
  }

  async identifierToUid(identifier: string): Promise<number | null> {
    v.string(identifier, 'identifier');
    return (await firstIdUnder(this.core.reader, userIndex.identifier(identifier))) ?? null;
  }
}

/** Refuses a value of a unique user index that a user other than `own` already holds. */
async function refuseTaken(tx: Transaction, field: string, value: string, index: string, own?: number): Promise<void> {
  const holder = await firstIdUnder(tx, index);
  if (holder !== undefined && holder !== own) throw new InvalidArgumentError(`${field} ${v.quote(value)} already belongs to user ${holder}`);
}

function partialDict(u: UserRecord): UsDict {
  return { uid: u.uid, identifier: u.identifier, bb_username: u.bb_username, bb_password: u.bb_password };
}

/** A usdict with attributes folded in; types that collide with the user's own keys are ignored. */
async function fullDict(reader: Reader, user: UserRecord | undefined): Promise<UsDict | null> {
  if (user === undefined) return null;
  const dict = partialDict(user);
  const attrs = await readRecords(reader, userAttrs, await idsUnder(reader, userAttrIndex.user(user.uid)));
  for (const { attr_type, attr_data } of attrs) {
    if (!USER_KEYS.includes(attr_type)) Object.defineProperty(dict, attr_type, { value: attr_data, enumerable: true, writable: true, configurable: true });
  }
  return dict;
}
