import { prefixRange } from '../persistence/backend.ts';
import { idOfKey, recordPrefix } from '../persistence/keys.ts';
import { readRecord, readRecords, requireRecord } from '../persistence/records.ts';
import type { ChDict, Properties } from '../types.ts';
import * as v from '../validate.ts';
import { propertiesJson } from '../validateJson.ts';
import type { Core } from './core.ts';
import { changes, users } from './model.ts';
import type { ChangeRecord } from './model.ts';

export interface AddChangeArgs {
  author?: string | null;
  files?: string[] | null;
  comments?: string | null;
  is_dir?: number;
  links?: string[] | null;
  revision?: string | null;
  when_timestamp?: Date | null;
  branch?: string | null;
  category?: string | null;
  revlink?: string | null;
  properties?: Properties;
  repository?: string;
  codebase?: string;
  project?: string;
  uid?: number | null;
}

const ADD_KEYS = [
  'author',
  'files',
  'comments',
  'is_dir',
  'links',
  'revision',
  'when_timestamp',
  'branch',
  'category',
  'revlink',
  'properties',
  'repository',
  'codebase',
  'project',
  'uid',
] as const;
const CACHE_SIZE = 100;

export class ChangesComponent {
  /** Recently read changes by changeid, as Buildbot's `chdicts` cache; changes never change. */
  private readonly cache = new Map<number, ChangeRecord>();

  constructor(private readonly core: Core) {}

  /** Adds a change; resolves to its changeid. Every argument is optional and named. */
  async addChange(args: AddChangeArgs = {}): Promise<number> {
    const a = v.keywords(args, 'addChange arguments', ADD_KEYS);
    const text = (key: string, fallback: string | null) => v.given(a, key, fallback, v.nullableString);
    const uid = v.given(a, 'uid', null, v.nullableId);
    const change: Omit<ChangeRecord, 'changeid'> = {
      author: text('author', null),
      files: v.optional(a.files, 'files', v.strings) ?? [],
      comments: v.given(a, 'comments', null, v.nullableText),
      is_dir: v.given(a, 'is_dir', 0, v.integer),
      links: v.optional(a.links, 'links', v.strings) ?? [],
      revision: text('revision', null),
      when_timestamp: v.dateOrNow(a.when_timestamp, 'when_timestamp', () => this.core.now()),
      branch: text('branch', null),
      category: text('category', null),
      revlink: text('revlink', ''),
      properties: a.properties === undefined ? '{}' : propertiesJson(a.properties, 'properties', 'Change'),
      repository: v.given(a, 'repository', '', v.string),
      codebase: v.given(a, 'codebase', '', v.string),
      project: v.given(a, 'project', '', v.string),
      uids: uid === null ? [] : [uid],
    };
    return this.core.runner.run(async (tx) => {
      if (uid !== null) await requireRecord(tx, users, uid, 'user');
      const changeid = await tx.allocateNewestId(changes.name);
      tx.putRecord(changes, changeid, { changeid, ...change });
      return changeid;
    });
  }

  /** The chdict of a change, or null; from the cache unless `no_cache`. */
  async getChange(changeid: number, options?: { no_cache?: boolean }): Promise<ChDict | null> {
    v.id(changeid, 'changeid');
    const noCache = v.optional(v.options(options, 'getChange options', ['no_cache']).no_cache, 'no_cache', v.boolean) ?? false;
    const change = (noCache ? undefined : this.cache.get(changeid)) ?? (await readRecord(this.core.reader, changes, changeid));
    if (change === undefined) return null; // not cached: the change may be added later
    this.remember(change);
    // A new dict each time, so callers may change theirs, never the cache's (a
    // structuredClone of parsed properties cost up to 150 ms for a 1 MiB value).
    return chdict(change);
  }

  /** The uids of the users who made a change, ascending. */
  async getChangeUids(changeid: number): Promise<number[]> {
    v.id(changeid, 'changeid');
    return [...((await readRecord(this.core.reader, changes, changeid))?.uids ?? [])];
  }

  /** The `count` changes with the highest changeids, ascending by changeid. */
  async getRecentChanges(count: number): Promise<ChDict[]> {
    v.count(count, 'count');
    if (count === 0) return [];
    const reader = this.core.reader;
    const keys = await reader.keys(prefixRange(recordPrefix(changes.name), { reverse: true, limit: count }));
    return (await readRecords(reader, changes, keys.map(idOfKey).reverse())).map(chdict);
  }

  /** The newest changeid, or null when there are no changes. */
  async getLatestChangeid(): Promise<number | null> {
    const [key] = await this.core.reader.keys(prefixRange(recordPrefix(changes.name), { reverse: true, limit: 1 }));
    return key === undefined ? null : idOfKey(key);
  }

  /** Puts a change last in the cache, dropping the least recently used beyond CACHE_SIZE. */
  private remember(change: ChangeRecord): void {
    this.cache.delete(change.changeid);
    this.cache.set(change.changeid, change);
    if (this.cache.size > CACHE_SIZE) this.cache.delete(this.cache.keys().next().value!);
  }
}

function chdict(c: ChangeRecord): ChDict {
  return {
    changeid: c.changeid,
    author: c.author,
    files: [...c.files],
    comments: c.comments,
    is_dir: c.is_dir,
    links: [...c.links],
    revision: c.revision,
    when_timestamp: new Date(c.when_timestamp),
    branch: c.branch,
    category: c.category,
    revlink: c.revlink,
    properties: JSON.parse(c.properties) as Properties,
    repository: c.repository,
    codebase: c.codebase,
    project: c.project,
  };
}
