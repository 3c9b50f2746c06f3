// LevelDB only: damage is done to copies of real stores' files on disk, and each open runs in a child process.
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCoordinator } from '../../src/api.ts';
import { CommitMark } from '../../src/persistence/leveldb/commitMark.ts';
import { addBuildsets, claimSome, emptyFacts } from './farm.ts';
import type { Facts } from './farm.ts';
import type { CaseResult } from './prober.ts';
import { fingerprint, Prober } from './prober.ts';

const root = mkdtempSync(join(tmpdir(), 'buildcoord-faults-'));
const prober = new Prober();
afterAll(async () => {
  await prober.close();
  rmSync(root, { recursive: true, force: true });
});

interface Template {
  location: string;
  facts: Facts;
}

/**
 * A real store written by the coordinator. `tables`: most of it compacted
 * into table files (a reopen replays the log into a table), the rest in
 * the write-ahead log; else all of it still in the log.
 */
async function template(name: string, tables: boolean): Promise<Template> {
  const location = join(root, name);
  const facts = emptyFacts();
  let coordinator = await openCoordinator({ location });
  let db = await coordinator.connect('m1');
  await addBuildsets(db, facts, tables ? 150 : 60, 500);
  await claimSome(db, facts);
  facts.objectid = await db.state.getObjectId('sched', 'Scheduler');
  await db.state.setState(facts.objectid, 'first', 1);
  for (let round = 1; tables && round <= 2; round++) {
    await coordinator.close();
    coordinator = await openCoordinator({ location }); // LevelDB turns the log into a table file
    db = await coordinator.connect('m1');
    await addBuildsets(db, facts, 40, 500);
    await claimSome(db, facts);
    await db.state.setState(facts.objectid, `round ${round}`, round);
  }
  await coordinator.close();
  return { location, facts };
}

let copies = 0;
/** A fresh copy of a template store to damage. */
function copy(from: Template): string {
  const location = join(root, `case-${++copies}`);
  cpSync(from.location, location, { recursive: true });
  return location;
}

const named = (location: string, pattern: RegExp) => readdirSync(location).filter((name) => pattern.test(name));
const flipByte = (path: string, offset: number) => {
  const bytes = readFileSync(path);
  bytes[offset]! ^= 0x5a;
  writeFileSync(path, bytes);
};
/** Offsets spread over a file: its first and last bytes and `count` between. */
const spread = (size: number, count: number) =>
  [...new Set([0, size - 1, ...Array.from({ length: count }, (_, i) => Math.floor(((i + 0.5) * size) / count))])].filter((o) => o >= 0 && o < size);

/**
 * The promise under test: a damaged store either fails to open with a
 * typed StorageError (the store left byte for byte as it was), or opens
 * holding every acknowledged write, sound. Never a crash, never silent loss.
 * Returns which of the two it was.
 */
async function openDamaged(location: string, facts: Facts, names: RegExp): Promise<'refused' | 'whole'> {
  const before = fingerprint(location);
  const result: CaseResult = await prober.run({ op: 'open', location, facts });
  if (process.env.FAULTS_DEBUG) console.log(location, JSON.stringify(result).slice(0, 300));
  if (result.outcome === 'refused') {
    expect(result.typed, result.message).toBe(true);
    expect(result.name, result.message).toBe('StoreDamagedError');
    expect(result.message, 'the refusal names the damaged file').toMatch(names);
    expect(fingerprint(location), 'a refused open changes nothing').toEqual(before);
    const report = await prober.run({ op: 'verify', location });
    if (report.outcome === 'report') expect(report.ok).toBe(false);
    else expect(report.outcome, JSON.stringify(report)).toBe('refused');
    expect(fingerprint(location), 'verify changes nothing').toEqual(before);
    return 'refused';
  }
  expect(result.outcome, JSON.stringify(result)).toBe('opened');
  if (result.outcome !== 'opened') throw new Error('unreachable');
  expect(result.missing).toEqual([]);
  expect(result.verifyProblems).toEqual([]);
  return 'whole';
}

let logStore: Template;
let tableStore: Template;
beforeAll(async () => {
  logStore = await template('log-template', false);
  tableStore = await template('table-template', true);
}, 120_000);

describe('damaged stores, each opened in a child process [leveldb]', () => {
  it('the templates open whole, and each holds what the suite damages', async () => {
    expect(await openDamaged(copy(logStore), logStore.facts, /none/)).toBe('whole');
    expect(await openDamaged(copy(tableStore), tableStore.facts, /none/)).toBe('whole');
    expect(named(logStore.location, /\.ldb$/)).toEqual([]);
    expect(statSync(join(logStore.location, named(logStore.location, /\.log$/)[0]!)).size).toBeGreaterThan(3 * 32768);
    expect(named(tableStore.location, /\.ldb$/).length).toBeGreaterThan(1);
  });

  it('a byte flipped anywhere in the write-ahead log: refused, naming the log, or whole', async () => {
    const [log] = named(logStore.location, /\.log$/);
    const size = statSync(join(logStore.location, log!)).size;
    const outcomes: string[] = [];
    for (const offset of spread(size, 12)) {
      const location = copy(logStore);
      flipByte(join(location, log!), offset);
      const outcome = await openDamaged(location, logStore.facts, new RegExp(`${log}|${CommitMark.FILE}`));
      outcomes.push(outcome);
      if (offset < size - 32768) expect(outcome, `flip at ${offset} of ${size}`).toBe('refused'); // valid records follow: damage in the middle
    }
    expect(outcomes.filter((o) => o === 'refused').length).toBeGreaterThan(outcomes.length / 2);
  });

  it('the write-ahead log truncated at any offset: refused, acknowledged writes are missing', async () => {
    for (const store of [logStore, tableStore]) {
      const [log] = named(store.location, /\.log$/);
      const size = statSync(join(store.location, log!)).size;
      for (const length of [0, 1, 7, ...spread(size, 8), size - 1]) {
        const location = copy(store);
        truncateSync(join(location, log!), length);
        expect(await openDamaged(location, store.facts, /lost acknowledged writes/), `truncated to ${length} of ${size}`).toBe('refused');
      }
    }
  });

  it('a byte flipped anywhere in a table file: refused, naming the table', async () => {
    for (const table of named(tableStore.location, /\.ldb$/)) {
      const size = statSync(join(tableStore.location, table)).size;
      let refused = 0;
      const offsets = spread(size, 16);
      for (const offset of offsets) {
        const location = copy(tableStore);
        flipByte(join(location, table), offset);
        if ((await openDamaged(location, tableStore.facts, new RegExp(table))) === 'refused') refused++;
      }
      expect(refused).toBe(offsets.length); // every byte is under a checksum, and the footer's padding must be zero
    }
  });

  it('a table file truncated or deleted: refused', async () => {
    const [table] = named(tableStore.location, /\.ldb$/);
    const size = statSync(join(tableStore.location, table!)).size;
    for (const length of [0, 100, Math.floor(size / 2), size - 1]) {
      const location = copy(tableStore);
      truncateSync(join(location, table!), length);
      expect(await openDamaged(location, tableStore.facts, new RegExp(table!))).toBe('refused');
    }
    const location = copy(tableStore);
    unlinkSync(join(location, table!));
    expect(await openDamaged(location, tableStore.facts, new RegExp(`${table}: missing`))).toBe('refused');
  });

  it('CURRENT deleted or garbled: refused, never a new store over the old one', async () => {
    for (const store of [logStore, tableStore]) {
      const deleted = copy(store);
      unlinkSync(join(deleted, 'CURRENT'));
      expect(await openDamaged(deleted, store.facts, /CURRENT: missing/)).toBe('refused');
      for (const text of ['', 'garbage\n', 'MANIFEST-999999\n', 'MANIFEST-000001']) {
        const garbled = copy(store);
        writeFileSync(join(garbled, 'CURRENT'), text);
        expect(await openDamaged(garbled, store.facts, /CURRENT|MANIFEST-999999: missing/), JSON.stringify(text)).toBe('refused');
      }
    }
  });

  it('MANIFEST deleted, garbled, zeroed or truncated: refused', async () => {
    for (const store of [logStore, tableStore]) {
      const [manifest] = named(store.location, /^MANIFEST-/);
      const size = statSync(join(store.location, manifest!)).size;
      const damages: ((path: string) => void)[] = [
        (path) => unlinkSync(path),
        (path) => writeFileSync(path, Buffer.alloc(64, 7)),
        (path) => writeFileSync(path, Buffer.alloc(size)),
        (path) => truncateSync(path, 0),
        (path) => flipByte(path, Math.floor(size / 2)),
      ];
      for (const damage of damages) {
        const location = copy(store);
        damage(join(location, manifest!));
        expect(await openDamaged(location, store.facts, new RegExp(manifest!))).toBe('refused');
      }
    }
  });

  it('the commit mark deleted, garbled or truncated: refused, not a silent zero', async () => {
    for (const store of [logStore, tableStore]) {
      const damages: ((path: string) => void)[] = [
        (path) => unlinkSync(path),
        (path) => flipByte(path, 30),
        (path) => truncateSync(path, 10),
        (path) => writeFileSync(path, 'not a mark'),
      ];
      for (const damage of damages) {
        const location = copy(store);
        damage(join(location, CommitMark.FILE));
        expect(await openDamaged(location, store.facts, new RegExp(CommitMark.FILE))).toBe('refused');
      }
    }
  });
});
