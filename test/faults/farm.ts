/**
 * A small build farm's acknowledged history, for the fault suites: it adds
 * buildsets, claims and completes some of their requests, and records what
 * each answered call established, so that after a fault (a damaged file, a
 * full disk) a reopened store can be checked for every acknowledged write.
 */
import type { Connector } from '../../src/api.ts';

/** What acknowledged calls established about one build request. */
export interface RequestFact {
  brid: number;
  bsid: number;
  buildername: string;
  /** The master whose claim was acknowledged last, or null. */
  claimedBy: number | null;
  complete: boolean;
}

export interface Facts {
  requests: RequestFact[];
  /** setState values acknowledged, by state name. */
  states: Record<string, number>;
  objectid: number;
}

/** Builder names and a reason padded to `reasonBytes`, so a test can size the store's writes. */
export async function addBuildsets(db: Connector, facts: Facts, count: number, reasonBytes = 200): Promise<void> {
  const sss = await db.sourcestampsets.addSourceStampSet();
  for (let i = 0; i < count; i++) await addBuildset(db, facts, sss, i, reasonBytes);
}

export async function addBuildset(db: Connector, facts: Facts, sss: number, i: number, reasonBytes = 200): Promise<void> {
  const reason = `push ${i} ${noise(i, reasonBytes)}`;
  const [bsid, brids] = await db.buildsets.addBuildset({ sourcestampsetid: sss, reason, properties: { n: [i, 'test'] }, builderNames: ['linux', 'mac'] });
  for (const [buildername, brid] of Object.entries(brids)) facts.requests.push({ brid, bsid, buildername, claimedBy: null, complete: false });
}

/** Claims every second unclaimed request for `db`'s master and completes every fourth; records what was acknowledged. */
export async function claimSome(db: Connector, facts: Facts): Promise<void> {
  const open = facts.requests.filter((r) => r.claimedBy === null && !r.complete);
  for (let i = 0; i < open.length; i += 2) {
    const fact = open[i]!;
    await db.buildrequests.claimBuildRequests([fact.brid]);
    fact.claimedBy = db.masterid;
    if (i % 4 === 0) {
      await db.buildrequests.completeBuildRequests([fact.brid], 0);
      fact.complete = true;
    }
  }
}

/** `length` letters that do not compress (LevelDB snappy-compresses its tables), the same for the same `seed`. */
function noise(seed: number, length: number): string {
  let x = (seed + 1) * 2654435761;
  let out = '';
  for (let i = 0; i < length; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    out += String.fromCharCode(97 + ((x >> 16) % 26));
  }
  return out;
}

export function emptyFacts(): Facts {
  return { requests: [], states: {}, objectid: 0 };
}

/** Every way the store disagrees with the facts: an empty list when it holds every acknowledged write. */
export async function missingFacts(db: Connector, facts: Facts): Promise<string[]> {
  const missing: string[] = [];
  const unclaimed = new Set((await db.buildrequests.getBuildRequests({ claimed: false })).map((r) => r.brid));
  for (const fact of facts.requests) {
    const br = await db.buildrequests.getBuildRequest(fact.brid);
    if (br === null) {
      missing.push(`build request ${fact.brid} is gone`);
      continue;
    }
    if (br.buildsetid !== fact.bsid || br.buildername !== fact.buildername) missing.push(`build request ${fact.brid} changed: ${JSON.stringify(br)}`);
    if (br.complete !== fact.complete) missing.push(`build request ${fact.brid} complete=${br.complete}, acknowledged ${fact.complete}`);
    if (!fact.complete && br.claimed !== (fact.claimedBy !== null)) missing.push(`build request ${fact.brid} claimed=${br.claimed}, acknowledged ${fact.claimedBy !== null}`);
    const listed = unclaimed.has(fact.brid);
    if (listed !== (fact.claimedBy === null && !fact.complete)) missing.push(`build request ${fact.brid} ${listed ? 'is' : 'is not'} listed as unclaimed`);
  }
  for (const [name, value] of Object.entries(facts.states)) {
    const stored = await db.state.getState(facts.objectid, name, { default: null });
    if (stored !== value) missing.push(`state ${name} is ${JSON.stringify(stored)}, acknowledged ${value}`);
  }
  return missing;
}
