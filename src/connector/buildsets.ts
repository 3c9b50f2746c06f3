// buildsets: spec buildbot-database.md, "buildsets". Adding a buildset
// spawns one build-request actor per builder, in the same commit.
import { InvalidArgumentError, KeyError } from '../errors.ts';
import { prefixRange } from '../persistence/backend.ts';
import { idOfKey, recordPrefix } from '../persistence/keys.ts';
import { idsUnder, readRecord, readRecords, requireRecord } from '../persistence/records.ts';
import type { Reader } from '../persistence/records.ts';
import type { BsDict, Properties } from '../types.ts';
import * as v from '../validate.ts';
import { propertiesJson } from '../validateJson.ts';
import { breathe, due } from '../breathe.ts';
import type { Core } from './core.ts';
import { buildRequests, buildsetIndex, buildsets, sourceStampSets, toDate } from './model.ts';
import type { BuildsetRecord } from './model.ts';
import { matchesSourceStamps } from './sourcestamps.ts';

export interface AddBuildsetArgs {
  sourcestampsetid: number;
  reason: string;
  properties: Properties;
  builderNames: string[];
  external_idstring?: string | null;
}

export interface RecentBuildsetsOptions {
  branch?: string | null;
  repository?: string | null;
  complete?: boolean | null;
}

const ADD_KEYS = ['sourcestampsetid', 'reason', 'properties', 'builderNames', 'external_idstring'] as const;
const SCAN_CHUNK = 256;

export class BuildsetsComponent {
  constructor(private readonly core: Core) {}

  /** Adds a buildset and one build request per builder; resolves to `[bsid, { buildername: brid }]`. */
  async addBuildset(args: AddBuildsetArgs): Promise<[number, Record<string, number>]> {
    const a = v.keywords(args, 'addBuildset arguments', ADD_KEYS, ['sourcestampsetid', 'reason', 'properties', 'builderNames']);
    const sourcestampsetid = v.id(a.sourcestampsetid, 'sourcestampsetid');
    const reason = v.string(a.reason, 'reason');
    const properties = propertiesJson(a.properties, 'properties');
    const builderNames = builderList(a.builderNames);
    const external_idstring = v.given(a, 'external_idstring', null, v.nullableString);
    const submittedAt = this.core.now().getTime();
    return this.core.runner.run(async (tx) => {
      await requireRecord(tx, sourceStampSets, sourcestampsetid, 'sourcestampset');
      const bsid = await tx.allocateId(buildsets.name);
      tx.putRecord(buildsets, bsid, {
        bsid,
        external_idstring,
        reason,
        sourcestampsetid,
        submitted_at: submittedAt,
        complete: false,
        complete_at: null,
        results: -1,
        properties,
      });
      const brids: Record<string, number> = {};
      const ids = await tx.allocateIds(buildRequests.name, builderNames.length);
      for (const [i, buildername] of builderNames.entries()) {
        if (due(i)) await breathe();
        const brid = ids[i]!;
        tx.spawn(buildRequests, brid, { brid, buildsetid: bsid, buildername, priority: 0, submittedAt });
        brids[buildername] = brid;
      }
      return [bsid, brids] as [number, Record<string, number>];
    });
  }

  /** Marks an incomplete buildset complete; KeyError if it is missing or already complete. */
  async completeBuildset(bsid: number, results: number, options?: { complete_at?: Date | null }): Promise<void> {
    v.id(bsid, 'bsid');
    v.integer(results, 'results');
    const opts = v.options(options, 'completeBuildset options', ['complete_at']);
    const at = v.dateOrNow(opts.complete_at, 'complete_at', () => this.core.now());
    return this.core.runner.run(async (tx) => {
      const buildset = await readRecord(tx, buildsets, bsid);
      if (buildset === undefined) throw new KeyError(`buildset ${bsid} does not exist`);
      if (buildset.complete) throw new KeyError(`buildset ${bsid} is already complete`);
      tx.putRecord(buildsets, bsid, { ...buildset, complete: true, complete_at: at, results }, buildset);
    });
  }

  async getBuildset(bsid: number): Promise<BsDict | null> {
    v.id(bsid, 'bsid');
    const buildset = await readRecord(this.core.reader, buildsets, bsid);
    return buildset === undefined ? null : bsdict(buildset);
  }

  async getBuildsets(options?: { complete?: boolean | null }): Promise<BsDict[]> {
    const complete = v.optional(v.options(options, 'getBuildsets options', ['complete']).complete, 'complete', v.boolean);
    const reader = this.core.reader;
    const ids = await idsUnder(reader, complete === false ? buildsetIndex.incomplete() : recordPrefix(buildsets.name));
    const found = await readRecords(reader, buildsets, ids);
    return found.filter((bs) => complete === null || bs.complete === complete).map(bsdict);
  }

  /** The `count` most recently submitted buildsets that match, oldest first. */
  async getRecentBuildsets(count: number, options?: RecentBuildsetsOptions): Promise<BsDict[]> {
    v.count(count, 'count');
    const opts = v.options(options, 'getRecentBuildsets options', ['branch', 'repository', 'complete']);
    const want = {
      branch: v.given(opts, 'branch', null, v.nullableString),
      repository: v.given(opts, 'repository', null, v.nullableString),
      complete: v.optional(opts.complete, 'complete', v.boolean),
    };
    const found: BuildsetRecord[] = [];
    for await (const buildset of newestFirst(this.core.reader)) {
      if (found.length >= count) break;
      if (want.complete !== null && buildset.complete !== want.complete) continue;
      if ((want.branch !== null || want.repository !== null) && !(await matchesSourceStamps(this.core.reader, buildset.bsid, want))) continue;
      found.push(buildset);
    }
    return found.reverse().map(bsdict);
  }

  /** The properties given to addBuildset; `{}` for a buildset that does not exist. */
  async getBuildsetProperties(buildsetid: number): Promise<Properties> {
    v.id(buildsetid, 'buildsetid');
    const buildset = await readRecord(this.core.reader, buildsets, buildsetid);
    return buildset === undefined ? {} : (JSON.parse(buildset.properties) as Properties);
  }
}

/** Buildsets from the most recently submitted back, read a chunk at a time. */
async function* newestFirst(reader: Reader): AsyncGenerator<BuildsetRecord> {
  const range = prefixRange(buildsetIndex.submitted(), { reverse: true, limit: SCAN_CHUNK });
  for (;;) {
    const keys = await reader.keys(range);
    yield* await readRecords(reader, buildsets, keys.map(idOfKey));
    if (keys.length < SCAN_CHUNK) return;
    range.lt = keys[keys.length - 1]!;
  }
}

function builderList(value: unknown): string[] {
  const names = v.strings(value, 'builderNames', 'buildersPerBuildset');
  const seen = new Set<string>();
  const repeated = names.find((name) => seen.size === seen.add(name).size);
  if (repeated !== undefined) throw new InvalidArgumentError(`builderNames names ${v.quote(repeated)} twice`);
  return names;
}

function bsdict(bs: BuildsetRecord): BsDict {
  return {
    bsid: bs.bsid,
    external_idstring: bs.external_idstring,
    reason: bs.reason,
    sourcestampsetid: bs.sourcestampsetid,
    submitted_at: new Date(bs.submitted_at),
    complete: bs.complete,
    complete_at: toDate(bs.complete_at),
    results: bs.results,
  };
}
