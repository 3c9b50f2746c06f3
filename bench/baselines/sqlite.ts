import Database from 'better-sqlite3';
import type { Target } from '../targets.ts';

/**
 * What a build farm would otherwise use: Buildbot 0.8.8's tables in SQLite
 * through better-sqlite3, WAL, one transaction per call. A claim is a row of
 * `buildrequest_claims`, whose primary key is the request id, so a second
 * claim of a request fails on the constraint as Buildbot's does. Before
 * inserting, a claim also checks that the request exists and is incomplete:
 * that is the contract's rule (Buildbot 0.8.8 leaves it to the constraint),
 * so both sides refuse the same calls.
 */
export type Synchronous = 'FULL' | 'NORMAL';

export class SqliteClaims {
  readonly db: Database.Database;
  private readonly claimTx: (brid: number, masterid: number, at: number) => void;
  private readonly completeTx: (brid: number, results: number, at: number) => void;
  private readonly unclaimedOf: Database.Statement<[string]>;
  private readonly heldBy: Database.Statement<[number]>;

  constructor(file: string, synchronous: Synchronous) {
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma(`synchronous = ${synchronous}`);
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS buildrequests (
        id INTEGER PRIMARY KEY, buildsetid INTEGER NOT NULL, buildername TEXT NOT NULL, priority INTEGER NOT NULL DEFAULT 0,
        complete INTEGER NOT NULL DEFAULT 0, results INTEGER NOT NULL DEFAULT -1, submitted_at INTEGER NOT NULL, complete_at INTEGER);
      CREATE INDEX IF NOT EXISTS buildrequests_buildername ON buildrequests (buildername);
      CREATE INDEX IF NOT EXISTS buildrequests_complete ON buildrequests (complete);
      CREATE TABLE IF NOT EXISTS buildrequest_claims (brid INTEGER PRIMARY KEY, masterid INTEGER NOT NULL, claimed_at INTEGER NOT NULL);
      CREATE INDEX IF NOT EXISTS buildrequest_claims_masterid ON buildrequest_claims (masterid);`);
    const isOpen = this.db.prepare<[number]>('SELECT 1 FROM buildrequests WHERE id = ? AND complete = 0');
    const insertClaim = this.db.prepare('INSERT INTO buildrequest_claims (brid, masterid, claimed_at) VALUES (?, ?, ?)');
    const completeOne = this.db.prepare('UPDATE buildrequests SET complete = 1, results = ?, complete_at = ? WHERE id = ? AND complete = 0');
    this.claimTx = this.db.transaction((brid: number, masterid: number, at: number) => {
      if (isOpen.get(brid) === undefined) throw new Refused();
      insertClaim.run(brid, masterid, at);
    });
    this.completeTx = this.db.transaction((brid: number, results: number, at: number) => {
      if (completeOne.run(results, at, brid).changes !== 1) throw new Refused();
    });
    // Buildbot's getBuildRequests(buildername=, claimed=False): an outer join on the claims, whole rows back.
    this.unclaimedOf = this.db.prepare(`
      SELECT br.*, c.masterid, c.claimed_at FROM buildrequests br LEFT JOIN buildrequest_claims c ON c.brid = br.id
      WHERE br.buildername = ? AND br.complete = 0 AND c.claimed_at IS NULL ORDER BY br.id`);
    this.heldBy = this.db.prepare('SELECT c.brid, br.complete FROM buildrequest_claims c JOIN buildrequests br ON br.id = c.brid WHERE c.masterid = ?');
  }

  /** Adds requests 1..count (setup, one transaction): request i on builder (i - 1) % builders, `builders` to a buildset. */
  addRequests(count: number, builders: number, submittedAt = Date.now()): void {
    const insert = this.db.prepare('INSERT INTO buildrequests (id, buildsetid, buildername, submitted_at) VALUES (?, ?, ?, ?)');
    this.db.transaction(() => {
      for (let id = 1; id <= count; id++) insert.run(id, Math.ceil(id / builders), `builder-${(id - 1) % builders}`, submittedAt);
    })();
  }

  /** True if claimed; false if claimed already, complete or missing (nothing written). */
  tryClaim(brid: number, masterid: number): boolean {
    try {
      this.claimTx(brid, masterid, Date.now());
      return true;
    } catch (error) {
      if (error instanceof Refused || (error as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') return false;
      throw error;
    }
  }

  /** True if completed; false if complete already or missing (nothing written). */
  tryComplete(brid: number, results: number): boolean {
    try {
      this.completeTx(brid, results, Date.now());
      return true;
    } catch (error) {
      if (error instanceof Refused) return false;
      throw error;
    }
  }

  /** Rows as Buildbot's brdicts (dates as Date), as getBuildRequests returns them. */
  unclaimed(buildername: string) {
    return (this.unclaimedOf.all(buildername) as Row[]).map((r) => ({
      brid: r.id,
      buildsetid: r.buildsetid,
      buildername: r.buildername,
      priority: r.priority,
      claimed: r.claimed_at !== null,
      claimed_at: r.claimed_at === null ? null : new Date(r.claimed_at),
      mine: false,
      complete: r.complete === 1,
      complete_at: r.complete_at === null ? null : new Date(r.complete_at),
      results: r.results,
      submitted_at: new Date(r.submitted_at),
    }));
  }

  heldByMaster(masterid: number): { brid: number; complete: boolean }[] {
    return (this.heldBy.all(masterid) as { brid: number; complete: number }[]).map((r) => ({ brid: r.brid, complete: r.complete === 1 }));
  }

  claimedBy(brid: number): number | null {
    return (this.db.prepare('SELECT masterid FROM buildrequest_claims WHERE brid = ?').get(brid) as { masterid: number } | undefined)?.masterid ?? null;
  }

  isComplete(brid: number): boolean {
    return (this.db.prepare('SELECT complete FROM buildrequests WHERE id = ?').get(brid) as { complete: number } | undefined)?.complete === 1;
  }

  close(): void {
    this.db.close();
  }
}

class Refused extends Error {}

interface Row {
  id: number;
  buildsetid: number;
  buildername: string;
  priority: number;
  complete: number;
  results: number;
  submitted_at: number;
  complete_at: number | null;
  masterid: number | null;
  claimed_at: number | null;
}

/** The sqlite baseline as a Target: master m is masterid m + 1; calls run one at a time, as one connection does. */
export function sqliteTarget(claims: SqliteClaims): Target {
  return {
    claim: async (master, brid) => claims.tryClaim(brid, master + 1),
    async complete(_master, brid) {
      if (!claims.tryComplete(brid, 0)) throw new Error(`sqlite baseline: request ${brid} could not be completed`);
    },
    unclaimed: async (_master, buildername) => claims.unclaimed(buildername).map((br) => br.brid),
    claimedBy: async (master) => claims.heldByMaster(master + 1),
    liveActors: () => 0,
    close: async () => claims.close(),
  };
}
