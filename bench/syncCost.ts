/**
 * What one durable write costs on this machine, one at a time, for the
 * stores the claim benchmark compares: why LevelDB's sync write loses to
 * SQLite's commit at one call in flight, and what buildcoord's commit mark
 * adds to it. Each probe runs in turn, several rounds, in a directory
 * beside the checkout (the disk the benchmark uses); medians are printed.
 *
 *   node --import tsx bench/syncCost.ts [--writes N] [--rounds N]
 */
import { closeSync, constants, fdatasyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { write } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { ClassicLevel } from 'classic-level';

const writeAt = promisify(write);
const args = process.argv.slice(2);
const flag = (name: string, fallback: number) => {
  const i = args.indexOf(name);
  return i < 0 ? fallback : Number(args[i + 1]);
};
const WRITES = flag('--writes', 1000);
const ROUNDS = flag('--rounds', 5);
const root = mkdtempSync(join(fileURLToPath(new URL('../', import.meta.url)), '.bench-sync-'));
const value = new Uint8Array(200).fill(7);

type Probe = { name: string; run: (i: number) => Promise<void> | void };

async function main(): Promise<void> {
  const level = new ClassicLevel<string, Uint8Array>(join(root, 'level'), { keyEncoding: 'utf8', valueEncoding: 'view' });
  await level.open();
  const mark = openSync(join(root, 'mark'), constants.O_RDWR | constants.O_CREAT | constants.O_DSYNC);
  const markBytes = Buffer.alloc(48, 'm');
  const levelWrite = (i: number) =>
    level
      .batch()
      .put(`r/br/${i}`, value)
      .put(`i/br.claim/${i}`, value)
      .del(`i/br.unclaimed/${i}`)
      .write({ sync: true } as object);
  const sqlite = new Database(join(root, 'sqlite.db'));
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = FULL');
  sqlite.exec('CREATE TABLE claims (brid INTEGER PRIMARY KEY, masterid INTEGER, claimed_at INTEGER)');
  const insert = sqlite.prepare('INSERT INTO claims VALUES (?, 1, 2)');
  const appended = openSync(join(root, 'appended'), 'w');
  const inPlace = openSync(join(root, 'in-place'), 'w');
  writeSync(inPlace, Buffer.alloc(4096 * 64));
  fdatasyncSync(inPlace);
  const block = Buffer.alloc(4096, 1);
  let base = 0;

  const probes: Probe[] = [
    { name: 'classic-level write, sync (3 keys)', run: (i) => levelWrite(base + i) },
    { name: '... with the commit mark beside it (O_DSYNC)', run: (i) => Promise.all([levelWrite(base + i), writeAt(mark, markBytes, 0, 48, 0)]).then(() => {}) },
    { name: 'better-sqlite3 insert, WAL, synchronous=FULL', run: (i) => void insert.run(base + i) },
    {
      name: 'fdatasync after a 4 KB append (file grows)',
      run: () => {
        writeSync(appended, block);
        fdatasyncSync(appended);
      },
    },
    {
      name: 'fdatasync after a 4 KB overwrite in place',
      run: (i) => {
        writeSync(inPlace, block, 0, 4096, (i % 64) * 4096);
        fdatasyncSync(inPlace);
      },
    },
  ];
  const results = probes.map(() => [] as number[]);
  for (let round = 0; round < ROUNDS; round++) {
    for (const [p, probe] of probes.entries()) {
      const started = performance.now();
      for (let i = 0; i < WRITES; i++) await probe.run(i);
      results[p]!.push(((performance.now() - started) * 1000) / WRITES);
    }
    base += WRITES;
  }
  console.log(`one durable write at a time, median of ${ROUNDS} rounds of ${WRITES}, in ${root}:`);
  for (const [p, probe] of probes.entries()) {
    const sorted = results[p]!.sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)]!;
    console.log(`  ${probe.name.padEnd(48)} ${median.toFixed(0).padStart(5)} us  (${Math.round(1e6 / median).toLocaleString('en')}/s)`);
  }
  await level.close();
  sqlite.close();
  for (const fd of [mark, appended, inPlace]) closeSync(fd);
}

try {
  await main();
} finally {
  rmSync(root, { recursive: true, force: true });
}
