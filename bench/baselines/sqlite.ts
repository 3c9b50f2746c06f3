import Database from 'better-sqlite3';

/**
 * The baseline a build farm would otherwise use: Buildbot's schema in
 * SQLite (better-sqlite3), one transaction per call, WAL. A claim is a row
 * in `buildrequest_claims`, whose primary key is the request id, so a
 * second claim of one request fails as Buildbot's does.
 */
export class SqliteClaims {
  private readonly db: Database.Database;
  private readonly claimOne: Database.Statement;
  private readonly isOpen: Database.Statement;
  private readonly completeOne: Database.Statement;
  private readonly claim: (brids: number[], masterid: number, at: number) => void;
  private readonly complete: (brids: number[], results: number, at: number) => void;

  constructor(file: string, synchronous: 'FULL' | 'NORMAL') {
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma(`synchronous = ${synchronous}`);
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS buildrequests (
        id INTEGER PRIMARY KEY, buildsetid INTEGER NOT NULL, buildername TEXT NOT NULL, priority INTEGER NOT NULL DEFAULT 0,
        complete INTEGER NOT NULL DEFAULT 0, results INTEGER NOT NULL DEFAULT -1, submitted_at INTEGER NOT NULL, complete_at INTEGER);
      CREATE INDEX IF NOT EXISTS buildrequests_buildername ON buildrequests (buildername);
      CREATE TABLE IF NOT EXISTS buildrequest_claims (brid INTEGER PRIMARY KEY, masterid INTEGER NOT NULL, claimed_at INTEGER NOT NULL);`);
    this.isOpen = this.db.prepare('SELECT 1 FROM buildrequests WHERE id = ? AND complete = 0');
    this.claimOne = this.db.prepare('INSERT INTO buildrequest_claims (brid, masterid, claimed_at) VALUES (?, ?, ?)');
    this.completeOne = this.db.prepare('UPDATE buildrequests SET complete = 1, results = ?, complete_at = ? WHERE id = ? AND complete = 0');
    // All or nothing, as the contract asks of every backend.
    this.claim = this.db.transaction((brids: number[], masterid: number, at: number) => {
      for (const brid of brids) {
        if (this.isOpen.get(brid) === undefined) throw new Error(`AlreadyClaimed ${brid}`);
        this.claimOne.run(brid, masterid, at);
      }
    });
    this.complete = this.db.transaction((brids: number[], results: number, at: number) => {
      for (const brid of brids) if (this.completeOne.run(results, at, brid).changes !== 1) throw new Error(`NotClaimed ${brid}`);
    });
  }

  /** Adds requests (untimed setup): builder i gets ids in round-robin. */
  addRequests(count: number, builders: number): void {
    const insert = this.db.prepare('INSERT INTO buildrequests (id, buildsetid, buildername, submitted_at) VALUES (?, ?, ?, ?)');
    this.db.transaction(() => {
      for (let id = 1; id <= count; id++) insert.run(id, Math.ceil(id / builders), `builder-${(id - 1) % builders}`, Date.now());
    })();
  }

  /** Resolves true if claimed, false if another master got there first (or it is complete or missing). */
  tryClaim(brids: number[], masterid: number): boolean {
    try {
      this.claim(brids, masterid, Date.now());
      return true;
    } catch (error) {
      if ((error as Error).message.startsWith('AlreadyClaimed') || (error as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') return false;
      throw error;
    }
  }

  tryComplete(brids: number[], results: number): boolean {
    try {
      this.complete(brids, results, Date.now());
      return true;
    } catch (error) {
      if ((error as Error).message.startsWith('NotClaimed')) return false;
      throw error;
    }
  }

  claimedBy(brid: number): number | null {
    const row = this.db.prepare('SELECT masterid FROM buildrequest_claims WHERE brid = ?').get(brid) as { masterid: number } | undefined;
    return row?.masterid ?? null;
  }

  isComplete(brid: number): boolean {
    return (this.db.prepare('SELECT complete FROM buildrequests WHERE id = ?').get(brid) as { complete: number } | undefined)?.complete === 1;
  }

  close(): void {
    this.db.close();
  }
}
