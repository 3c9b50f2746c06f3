import type { ActorKind, PersistedActor } from '../actors/hosted.ts';
import { buildRequestMachine, isSettled } from '../machines/buildRequest.ts';
import type { BuildRequestContext } from '../machines/buildRequest.ts';
import { changeSourceMachine } from '../machines/changeSource.ts';
import type { ChangeSourceContext } from '../machines/changeSource.ts';
import { idPart, indexKey, stringPart, timePart } from '../persistence/keys.ts';
import type { RecordKind } from '../persistence/records.ts';
import type { ChDict } from '../types.ts';

/**
 * The schema: every kind of record and the index entries derived from it,
 * in one place, as Buildbot's model.py has its tables. Times are epoch ms.
 * An index entry's key ends in the id of the record it points at.
 */

// --- build requests: actors --------------------------------------------

type BuildRequest = PersistedActor<BuildRequestContext>;

export const buildRequestIndex = {
  /** Every request of a builder. */
  builder: (name: string) => indexKey('br.builder', stringPart(name)),
  /** Every request of a buildset. */
  buildset: (bsid: number) => indexKey('br.buildset', idPart(bsid)),
  /** Unclaimed and incomplete, by builder: what masters poll for. */
  unclaimed: (name?: string) => indexKey('br.unclaimed', name === undefined ? '' : stringPart(name)),
  /** Claimed (complete or not), by master. */
  claimedBy: (masterid?: number) => indexKey('br.claim', masterid === undefined ? '' : idPart(masterid)),
  /** Claimed and incomplete, by claim time: what expiry scans. */
  claimedAt: () => indexKey('br.claimedAt'),
  incomplete: () => indexKey('br.incomplete'),
};

/** Indexes a store of our own keeps in memory (see ResidentIndex): what masters poll. */
export const residentIndexes = [buildRequestIndex.unclaimed()];

export const buildRequests: ActorKind<BuildRequestContext> = {
  name: 'br',
  machine: buildRequestMachine,
  settled: isSettled,
  indexes({ value, context: c }: BuildRequest) {
    const id = idPart(c.brid);
    const keys = [buildRequestIndex.builder(c.buildername) + id, buildRequestIndex.buildset(c.buildsetid) + id];
    if (c.claimedBy !== null) keys.push(buildRequestIndex.claimedBy(c.claimedBy) + id);
    if (!isSettled(value)) {
      keys.push(buildRequestIndex.incomplete() + id);
      if (c.claimedAt === null) keys.push(buildRequestIndex.unclaimed(c.buildername) + id);
      else keys.push(buildRequestIndex.claimedAt() + timePart(c.claimedAt) + id);
    }
    return keys;
  },
};

// --- change sources: actors ----------------------------------------------

export const changeSourceIndex = {
  name: (name: string) => indexKey('cs.name', stringPart(name)),
  master: (masterid?: number) => indexKey('cs.master', masterid === undefined ? '' : idPart(masterid)),
};

export const changeSources: ActorKind<ChangeSourceContext> = {
  name: 'cs',
  machine: changeSourceMachine,
  settled: () => false, // a change source changes hands for as long as it exists
  indexes({ context: c }: PersistedActor<ChangeSourceContext>) {
    const keys = [changeSourceIndex.name(c.name) + idPart(c.id)];
    if (c.masterid !== null) keys.push(changeSourceIndex.master(c.masterid) + idPart(c.id));
    return keys;
  },
};

// --- masters ---------------------------------------------------------------

export interface MasterRecord {
  id: number;
  name: string;
  active: boolean;
  last_active: number;
}

export const masterIndex = {
  name: (name: string) => indexKey('master.name', stringPart(name)),
};

export const masters: RecordKind<MasterRecord> = {
  name: 'master',
  indexes: (m) => [masterIndex.name(m.name) + idPart(m.id)],
};

// --- buildsets -------------------------------------------------------------

export interface BuildsetRecord {
  bsid: number;
  external_idstring: string | null;
  reason: string;
  sourcestampsetid: number;
  submitted_at: number;
  complete: boolean;
  complete_at: number | null;
  results: number;
  /** `{ name: [value, source] }` as JSON text, so it round-trips as JSON does. */
  properties: string;
}

export const buildsetIndex = {
  /** By submission time, then id: getRecentBuildsets walks it backwards. */
  submitted: () => indexKey('bs.submitted'),
  incomplete: () => indexKey('bs.incomplete'),
};

export const buildsets: RecordKind<BuildsetRecord> = {
  name: 'bs',
  indexes(bs) {
    const keys = [buildsetIndex.submitted() + timePart(bs.submitted_at) + idPart(bs.bsid)];
    if (!bs.complete) keys.push(buildsetIndex.incomplete() + idPart(bs.bsid));
    return keys;
  },
};

// --- source stamps and their sets -----------------------------------------

export interface PatchRecord {
  body: string | Uint8Array;
  level: number | null;
  author: string | null;
  comment: string | null;
  subdir: string | null;
}

export interface SourceStampRecord {
  ssid: number;
  sourcestampsetid: number;
  branch: string | null;
  revision: string | null;
  repository: string;
  project: string;
  codebase: string;
  patch: PatchRecord | null;
  changeids: number[];
}

export const sourceStampIndex = {
  set: (sourcestampsetid: number) => indexKey('ss.set', idPart(sourcestampsetid)),
};

export const sourceStamps: RecordKind<SourceStampRecord> = {
  name: 'ss',
  indexes: (ss) => [sourceStampIndex.set(ss.sourcestampsetid) + idPart(ss.ssid)],
};

export interface SourceStampSetRecord {
  id: number;
}

export const sourceStampSets: RecordKind<SourceStampSetRecord> = {
  name: 'sss',
  indexes: () => [],
};

// --- builds ------------------------------------------------------------------

export interface BuildRecord {
  bid: number;
  number: number;
  brid: number;
  start_time: number;
  finish_time: number | null;
}

export const buildIndex = {
  request: (brid: number) => indexKey('build.request', idPart(brid)),
};

export const builds: RecordKind<BuildRecord> = {
  name: 'build',
  indexes: (b) => [buildIndex.request(b.brid) + idPart(b.bid)],
};

// --- changes -------------------------------------------------------------------

/** A change as its dictionary has it, but with the instant in epoch ms and properties as JSON text. */
export interface ChangeRecord extends Omit<ChDict, 'when_timestamp' | 'properties'> {
  when_timestamp: number;
  /** `{ name: [value, 'Change'] }` as JSON text. */
  properties: string;
  /** The users who made it (Buildbot's change_users), ascending. */
  uids: number[];
}

export const changeIndex = {
  user: (uid: number) => indexKey('change.user', idPart(uid)),
};

export const changes: RecordKind<ChangeRecord> = {
  name: 'change',
  indexes: (c) => c.uids.map((uid) => changeIndex.user(uid) + idPart(c.changeid)),
};

// --- schedulers' change classifications ---------------------------------------

/** One scheduler's classifications, by changeid; the record id is the scheduler's objectid. */
export interface ClassificationsRecord {
  objectid: number;
  important: Record<string, boolean>;
}

export const classifications: RecordKind<ClassificationsRecord> = {
  name: 'classif',
  indexes: () => [],
  keyedBy: 'object',
};

// --- state: objects and their values ---------------------------------------------

export interface ObjectRecord {
  id: number;
  name: string;
  class_name: string;
}

export const objectIndex = {
  name: (name: string, className: string) => indexKey('object.name', stringPart(name), stringPart(className)),
};

export const objects: RecordKind<ObjectRecord> = {
  name: 'object',
  indexes: (o) => [objectIndex.name(o.name, o.class_name) + idPart(o.id)],
};

export interface StateRecord {
  id: number;
  objectid: number;
  name: string;
  /** The value as JSON text, so it round-trips as JSON does. */
  value: string;
}

export const stateIndex = {
  /** The value named `name` of an object, or (without a name) all of its values. */
  of: (objectid: number, name?: string) => indexKey('state.of', idPart(objectid), name === undefined ? '' : stringPart(name)),
};

export const states: RecordKind<StateRecord> = {
  name: 'state',
  indexes: (st) => [stateIndex.of(st.objectid, st.name) + idPart(st.id)],
};

// --- users and their attributes ------------------------------------------------

export interface UserRecord {
  uid: number;
  identifier: string;
  bb_username: string | null;
  bb_password: string | null;
}

export const userIndex = {
  identifier: (identifier: string) => indexKey('user.identifier', stringPart(identifier)),
  username: (username: string) => indexKey('user.username', stringPart(username)),
};

export const users: RecordKind<UserRecord> = {
  name: 'user',
  indexes(u) {
    const keys = [userIndex.identifier(u.identifier) + idPart(u.uid)];
    if (u.bb_username !== null) keys.push(userIndex.username(u.bb_username) + idPart(u.uid));
    return keys;
  },
};

export interface UserAttrRecord {
  id: number;
  uid: number;
  attr_type: string;
  attr_data: string;
}

export const userAttrIndex = {
  /** Who has this attribute: findUserByAttr's lookup. */
  value: (type: string, data: string) => indexKey('userattr.value', stringPart(type), stringPart(data)),
  /** A user's attributes, or (with a type) the one of that type. */
  user: (uid: number, type?: string) => indexKey('userattr.user', idPart(uid), type === undefined ? '' : stringPart(type)),
};

export const userAttrs: RecordKind<UserAttrRecord> = {
  name: 'userattr',
  indexes: (a) => [userAttrIndex.value(a.attr_type, a.attr_data) + idPart(a.id), userAttrIndex.user(a.uid, a.attr_type) + idPart(a.id)],
};

// --- conversions -------------------------------------------------------------

export function toDate(ms: number | null): Date | null {
  return ms === null ? null : new Date(ms);
}
