/**
 * Child process of the full-disk suite: runs a farm on a store on a small
 * file system (a tmpfs the test mounted), fills the file system while the
 * farm writes, frees it, keeps writing in the same coordinator, then
 * reopens the store and checks every acknowledged write. Prints one JSON
 * line (DiskFullReport).
 *
 *   node --import tsx test/faults/diskFull.ts MOUNT sync|buffered log|flush
 */
import { closeSync, fstatSync, ftruncateSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { openCoordinator, StorageError, verify } from '../../src/api.ts';
import type { Connector, Durability } from '../../src/api.ts';
import { addBuildset, claimSome, emptyFacts, missingFacts } from './farm.ts';
import type { Facts } from './farm.ts';

export interface DiskFullReport {
  /** Calls acknowledged before, during and after the full disk. */
  acknowledged: number;
  /** Calls refused while the disk was full, all of them StorageError. */
  refused: number;
  /** Refusals of any other kind: each is a failure of the promise. */
  untyped: string[];
  firstRefusal: string;
  /** Whether the coordinator took writes again after space was freed, without a restart. */
  recovered: boolean;
  /** What the same coordinator's reads (its polls answered from memory included) disagree with, after the disk came back. */
  missingBeforeReopen: string[];
  missing: string[];
  verifyProblems: string[];
}

const [mount, durability, phase] = process.argv.slice(2) as [string, Durability, 'log' | 'flush'];
const location = join(mount, 'store');
const filler = join(mount, 'filler');
const facts: Facts = emptyFacts();
const report: DiskFullReport = { acknowledged: 0, refused: 0, untyped: [], firstRefusal: '', recovered: false, missingBeforeReopen: [], missing: [], verifyProblems: [] };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Fills the file system, then gives back `leave` bytes (tmpfs counts whole pages). */
function fill(leave: number): void {
  const fd = openSync(filler, 'a');
  const chunk = Buffer.alloc(64 * 1024, 1);
  try {
    for (let size = chunk.length; size >= 512; size = size >> 1) {
      for (;;) {
        try {
          writeSync(fd, chunk, 0, size);
        } catch {
          break; // ENOSPC at this size: try smaller pieces
        }
      }
    }
    if (leave > 0) ftruncateSync(fd, Math.max(0, fstatSync(fd).size - leave));
  } finally {
    closeSync(fd);
  }
}

/** One write call: a buildset; counts its answer. Resolves whether it was acknowledged. */
async function write(db: Connector, sss: number, i: number, reasonBytes: number): Promise<boolean> {
  try {
    await addBuildset(db, facts, sss, i, reasonBytes);
    report.acknowledged++;
    return true;
  } catch (error) {
    if (error instanceof StorageError) {
      report.refused++;
      report.firstRefusal ||= error.message;
    } else {
      report.untyped.push(String(error));
    }
    return false;
  }
}

const coordinator = await openCoordinator({ location, durability });
const db = await coordinator.connect('m1');
const sss = await db.sourcestampsets.addSourceStampSet();
let n = 0;
// Before: a healthy farm. For 'flush', nearly a full memtable (LevelDB's 4 MiB write buffer), so the fill lands during its flush.
const before = phase === 'flush' ? 180 : 20;
for (let i = 0; i < before; i++) await write(db, sss, n++, phase === 'flush' ? 20_000 : 500);
await claimSome(db, facts);
await db.buildrequests.getBuildRequests({ claimed: false }); // polls now come from the index held in memory

// The disk fills: for 'log', all of it; for 'flush', all but room for the log, none for the table a flush writes.
fill(phase === 'flush' ? 2048 * 1024 : 0);
/** A claim while the disk is full: refused (it must not be taken as held), or acknowledged (recorded). */
async function tryClaim(): Promise<void> {
  const fact = facts.requests.find((r) => r.claimedBy === null && !r.complete);
  if (fact === undefined) return;
  try {
    await db.buildrequests.claimBuildRequests([fact.brid]);
    fact.claimedBy = db.masterid;
  } catch (error) {
    if (!(error instanceof StorageError)) report.untyped.push(String(error));
  }
}
for (let failures = 0, i = 0; failures < 5 && i < 400; i++) {
  if (!(await write(db, sss, n++, phase === 'flush' ? 20_000 : 500))) {
    failures++;
    await tryClaim();
  }
  // Time for a flush the write started to fail in the background before the log can fill: the room left is 2 MiB, the table 4.
  if (phase === 'flush') await sleep(20);
}

// Space is freed; the same coordinator must take writes again.
rmSync(filler);
for (let i = 0; i < 200 && !report.recovered; i++) {
  report.recovered = await write(db, sss, n++, 500);
  if (!report.recovered) await sleep(50);
}
if (report.recovered) {
  report.missingBeforeReopen = await missingFacts(db, facts); // the claims refused while full included
  for (let i = 0; i < 20; i++) await write(db, sss, n++, 500);
  await claimSome(db, facts);
  report.missingBeforeReopen.push(...(await missingFacts(db, facts)));
}
await coordinator.close();

// The next open holds every acknowledged write.
const reopened = await openCoordinator({ location });
report.missing = await missingFacts(await reopened.connect('m1'), facts);
await reopened.close();
report.verifyProblems = (await verify(location)).problems.map((p) => `${p.key}: ${p.problem}`);
process.stdout.write(`${JSON.stringify(report)}\n`);
