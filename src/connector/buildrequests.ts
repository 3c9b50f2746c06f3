// buildrequests: spec buildbot-database.md, "buildrequests". Claims are
// transitions of each request's actor; a command over several requests
// commits all of them or, if one refuses, none.
import type { PersistedActor } from '../actors/hosted.ts';
import type { Transaction } from '../commit/transaction.ts';
import { AlreadyClaimedError, NotClaimedError } from '../errors.ts';
import { isSettled } from '../machines/buildRequest.ts';
import type { BuildRequestContext, BuildRequestEvent } from '../machines/buildRequest.ts';
import { idOfKey, recordPrefix, timePart } from '../persistence/keys.ts';
import { idsUnder, readRecord, readRecords } from '../persistence/records.ts';
import type { Reader } from '../persistence/records.ts';
import type { BrDict } from '../types.ts';
import * as v from '../validate.ts';
import { breathe, CHUNK, due } from '../breathe.ts';
import type { Core } from './core.ts';
import { buildRequestIndex, buildRequests, toDate } from './model.ts';
import { matchesSourceStamps } from './sourcestamps.ts';

type BuildRequest = PersistedActor<BuildRequestContext>;

export interface BuildRequestFilter {
  buildername?: string | null;
  complete?: boolean | null;
  claimed?: boolean | 'mine' | null;
  bsid?: number | null;
  branch?: string | null;
  repository?: string | null;
}

const FILTER_KEYS = ['buildername', 'complete', 'claimed', 'bsid', 'branch', 'repository'] as const;

export class BuildRequestsComponent {
  constructor(
    private readonly core: Core,
    private readonly masterid: number,
  ) {}

  async getBuildRequest(brid: number): Promise<BrDict | null> {
    v.id(brid, 'brid');
    const request = await readRecord(this.core.reader, buildRequests, brid);
    return request === undefined ? null : brdict(request, this.masterid);
  }

  async getBuildRequests(filter?: BuildRequestFilter): Promise<BrDict[]> {
    const f = parseFilter(filter);
    const reader = this.core.reader;
    const ids = await this.candidates(reader, f);
    const found = (await readRecords(reader, buildRequests, ids)).filter((r) => this.matches(r, f));
    const requests = f.branch === null && f.repository === null ? found : await bySourceStamps(reader, found, f);
    return requests.map((r) => brdict(r, this.masterid));
  }

  /** Claims every request for this master, or none: each must exist, be unclaimed and incomplete. */
  async claimBuildRequests(brids: number[], options?: { claimed_at?: Date | null }): Promise<void> {
    const ids = v.ids(brids, 'brids');
    const at = v.dateOrNow(v.options(options, 'claimBuildRequests options', ['claimed_at']).claimed_at, 'claimed_at', () => this.core.now());
    const event: BuildRequestEvent = { type: 'request.claim', masterid: this.masterid, at };
    return this.sendEach(ids, event, (brid, why) => new AlreadyClaimedError([brid], why));
  }

  /** Renews this master's claims, or none: each must be claimed by this master. */
  async reclaimBuildRequests(brids: number[]): Promise<void> {
    const ids = v.ids(brids, 'brids');
    const event: BuildRequestEvent = { type: 'request.reclaim', masterid: this.masterid, at: this.core.now().getTime() };
    return this.sendEach(ids, event, (brid, why) => new AlreadyClaimedError([brid], why));
  }

  /** Releases this master's claims among these requests; others' claims and missing ids are skipped. */
  async unclaimBuildRequests(brids: number[]): Promise<void> {
    const ids = v.ids(brids, 'brids');
    const event: BuildRequestEvent = { type: 'request.unclaim', masterid: this.masterid };
    return this.sendEach(ids, event, null);
  }

  /** Completes every request, or none: each must exist and be incomplete (claimed by anyone or no one). */
  async completeBuildRequests(brids: number[], results: number, options?: { complete_at?: Date | null }): Promise<void> {
    const ids = v.ids(brids, 'brids');
    v.integer(results, 'results');
    const at = v.dateOrNow(v.options(options, 'completeBuildRequests options', ['complete_at']).complete_at, 'complete_at', () => this.core.now());
    const event: BuildRequestEvent = { type: 'request.complete', results, at };
    return this.sendEach(ids, event, (brid, why) => new NotClaimedError([brid], why));
  }

  /** Releases claims older than `old` seconds on incomplete requests, whoever holds them; resolves to how many. */
  async unclaimExpiredRequests(old: number): Promise<number> {
    v.nonNegativeNumber(old, 'old');
    const claimedBefore = this.core.now().getTime() - old * 1000;
    const event: BuildRequestEvent = { type: 'request.expire', claimedBefore };
    // Any number of claims: one command, so all or nothing, that breathes between chunks.
    return this.core.runner.run(async (tx) => {
      const prefix = buildRequestIndex.claimedAt();
      const keys = await tx.keys({ gte: prefix, lt: prefix + timePart(claimedBefore) });
      return sendAll(tx, keys.map(idOfKey), event, null, this.masterid);
    });
  }

  /** Runs sendAll as one command, rehydrating the requests while it waits its turn. */
  private async sendEach(brids: readonly number[], event: BuildRequestEvent, refuse: Refuse | null): Promise<void> {
    const warm = brids.length <= CHUNK ? brids : brids.slice(0, CHUNK); // sendAll prefetches the rest chunk by chunk
    await this.core.runner.run((tx) => sendAll(tx, brids, event, refuse, this.masterid), { kind: buildRequests, ids: warm });
  }

  /** Ids worth reading: from the narrowest index the filter allows. */
  private candidates(reader: Reader, f: Filter): Promise<number[]> {
    const ascending = (ids: number[]) => ids.sort((a, b) => a - b);
    if (f.bsid !== null) return idsUnder(reader, buildRequestIndex.buildset(f.bsid));
    if (f.claimed === false) return idsUnder(reader, buildRequestIndex.unclaimed(f.buildername ?? undefined)).then(ascending);
    if (f.claimed === 'mine') return idsUnder(reader, buildRequestIndex.claimedBy(this.masterid));
    if (f.buildername !== null) return idsUnder(reader, buildRequestIndex.builder(f.buildername));
    if (f.complete === false) return idsUnder(reader, buildRequestIndex.incomplete());
    if (f.claimed === true) return idsUnder(reader, buildRequestIndex.claimedBy()).then(ascending);
    return idsUnder(reader, recordPrefix(buildRequests.name));
  }

  private matches({ value, context: c }: BuildRequest, f: Filter): boolean {
    const complete = isSettled(value);
    if (f.buildername !== null && c.buildername !== f.buildername) return false;
    if (f.bsid !== null && c.buildsetid !== f.bsid) return false;
    if (f.complete !== null && f.complete !== complete) return false;
    if (f.claimed === false) return c.claimedAt === null && !complete;
    if (f.claimed === true) return c.claimedAt !== null;
    if (f.claimed === 'mine') return c.claimedBy === this.masterid;
    return true;
  }
}

type Filter = Required<{ [K in keyof BuildRequestFilter]: Exclude<BuildRequestFilter[K], undefined> }>;

function parseFilter(filter: unknown): Filter {
  const args = filter === undefined ? {} : v.keywords(filter, 'getBuildRequests arguments', FILTER_KEYS);
  const nullable = <T>(key: string, check: (value: unknown, name: string) => T): T | null => (args[key] === undefined || args[key] === null ? null : check(args[key], key));
  return {
    buildername: nullable('buildername', v.string),
    complete: nullable('complete', v.boolean),
    claimed: nullable('claimed', (value, name) => (value === 'mine' ? 'mine' : v.boolean(value, `${name} (true, false or 'mine')`))),
    bsid: nullable('bsid', v.id),
    branch: nullable('branch', v.string),
    repository: nullable('repository', v.string),
  };
}

/** Keeps the requests whose buildset has a source stamp on the branch and repository asked for. */
async function bySourceStamps(reader: Reader, requests: BuildRequest[], f: Filter): Promise<BuildRequest[]> {
  const verdicts = new Map<number, Promise<boolean>>();
  const kept: BuildRequest[] = [];
  for (const request of requests) {
    const bsid = request.context.buildsetid;
    if (!verdicts.has(bsid)) verdicts.set(bsid, matchesSourceStamps(reader, bsid, f));
    if (await verdicts.get(bsid)) kept.push(request);
  }
  return kept;
}

type Refuse = (brid: number, why: string) => Error;

/**
 * Sends one event to each request in turn, letting the event loop turn
 * between chunks of CHUNK. A refusal (or a missing request) throws the
 * error `refuse` makes, voiding the whole command; with `refuse` null,
 * refusals are skipped. Resolves to how many moved.
 */
async function sendAll(tx: Transaction, brids: readonly number[], event: BuildRequestEvent, refuse: Refuse | null, masterid: number): Promise<number> {
  let moved = 0;
  for (let i = 0; i < brids.length; i++) {
    if (i % CHUNK === 0) {
      if (due(i)) await breathe();
      tx.prefetch(buildRequests, brids.length <= CHUNK ? brids : brids.slice(i, i + CHUNK));
    }
    const brid = brids[i]!;
    const hosted = tx.liveActor(buildRequests, brid) ?? (await tx.actor(buildRequests, brid));
    if (hosted === null) {
      if (refuse) throw refuse(brid, 'does not exist');
      continue;
    }
    if (tx.send(hosted, event) !== null) moved++;
    else if (refuse) throw refuse(brid, describe(tx.snapshot(hosted) as unknown as BuildRequest, masterid));
  }
  return moved;
}

function describe({ value, context: c }: BuildRequest, masterid: number): string {
  if (isSettled(value)) return 'is complete';
  if (c.claimedBy === null) return 'is not claimed';
  return c.claimedBy === masterid ? 'is already claimed by this master' : `is claimed by master ${c.claimedBy}`;
}

export function brdict({ value, context: c }: BuildRequest, masterid: number): BrDict {
  return {
    brid: c.brid,
    buildsetid: c.buildsetid,
    buildername: c.buildername,
    priority: c.priority,
    claimed: c.claimedAt !== null,
    claimed_at: toDate(c.claimedAt),
    mine: c.claimedBy !== null && c.claimedBy === masterid,
    complete: isSettled(value),
    complete_at: toDate(c.completeAt),
    results: c.results,
    submitted_at: new Date(c.submittedAt),
  };
}

/** Releases a vanished master's claims on incomplete requests (complete ones keep theirs, as in 0.8.8). */
export async function releaseClaimsOf(tx: Transaction, masterid: number): Promise<void> {
  await sendAll(tx, await idsUnder(tx, buildRequestIndex.claimedBy(masterid)), { type: 'master.deactivated', masterid }, null, masterid);
}
