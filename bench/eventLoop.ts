/**
 * How long does the largest legal call of each kind hold the event loop?
 * Runs every call at the limits of src/validate.ts (LIMITS), on the
 * in-memory store and on LevelDB ('sync'), with a setImmediate ticker that
 * records the longest gap between two of its turns: the longest stretch in
 * which nothing else (timers, I/O, other callers' reads) could run. Also
 * the bulk releases that no input bounds: unclaimExpiredRequests and
 * setMasterState(m, false) over many claims.
 *
 *   npx tsx bench/eventLoop.ts                  # both stores, 5 runs each after a warm-up
 *   npx tsx bench/eventLoop.ts --runs 10 --bulk 1000,10000,50000 --store memory
 *
 * Prints a markdown table (docs/limits.md has one). Timing only: nothing is
 * asserted, since the machine's noise is not the code's.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { openCoordinator } from '../src/api.ts';
import type { Connector, Coordinator } from '../src/api.ts';
import { LIMITS } from '../src/validate.ts';

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    bulk: { type: 'string', default: '1000,10000,50000' },
    store: { type: 'string', default: 'memory,leveldb' },
  },
});
const RUNS = Number(args.runs);
const BULK = args.bulk.split(',').map(Number);
const STORES = args.store.split(',') as ('memory' | 'leveldb')[];

interface Sample {
  /** Wall time of the call. */
  total: number;
  /** The longest gap between two turns of a setImmediate ticker during it. */
  block: number;
}

/** Runs `call` while a setImmediate ticker records the longest gap between its turns. */
async function measure(call: () => Promise<unknown>): Promise<Sample> {
  let last = performance.now();
  let block = 0;
  let running = true;
  const tick = () => {
    const now = performance.now();
    block = Math.max(block, now - last);
    last = now;
    if (running) setImmediate(tick);
  };
  setImmediate(tick);
  const start = performance.now();
  await call();
  const end = performance.now();
  running = false;
  return { total: end - start, block: Math.max(block, end - last) };
}

// --- values at the limits --------------------------------------------------

/** Characters that cost the most per character as UTF-8 and to scan: two-byte strings, 9 bytes per 4 characters. */
const WIDE = 'ü中😀';
function wide(length: number, salt = ''): string {
  const body = WIDE.repeat(Math.ceil(length / WIDE.length)).slice(0, length - salt.length);
  return salt + (/[\uD800-\uDBFF]$/.test(body) ? `${body.slice(0, -1)}x` : body);
}

/**
 * The costliest JSON value within the limits: LIMITS.jsonItems values, all
 * `{}` (the shape that costs most to walk, parse and copy) but one wide
 * string that fills the text to exactly `bytes`.
 */
function maxJson(items = LIMITS.jsonItems, bytes = LIMITS.valueBytes): unknown[] {
  const objects = Array.from({ length: items - 2 }, () => ({})); // the array and the string are the other two
  const left = bytes - Buffer.byteLength(JSON.stringify([...objects, '']));
  const text = wide(Math.floor(left / 9) * 4); // 9 bytes as UTF-8 for every 4 characters
  return [...objects, text + 'x'.repeat(left - Buffer.byteLength(text))];
}

/** Properties `{ p: [maxJson, source] }` whose JSON text is exactly at both limits. */
function maxProperties(source: string): Record<string, [unknown, string]> {
  const overhead = Buffer.byteLength(JSON.stringify({ p: [null, source] })) - 'null'.length;
  return { p: [maxJson(LIMITS.jsonItems - 3, LIMITS.valueBytes - overhead), source] }; // the object, pair and source are three values
}

const names = (count: number, prefix: string) => {
  const each = Math.floor(LIMITS.listChars / count);
  return Array.from({ length: count }, (_, i) => wide(each, `${prefix}${i}-`));
};

/** addChange's arguments with every string, list and the properties at their limits. */
const widestChange = () => ({
  author: wide(LIMITS.stringLength),
  revision: wide(LIMITS.stringLength),
  branch: wide(LIMITS.stringLength),
  category: wide(LIMITS.stringLength),
  revlink: wide(LIMITS.stringLength),
  repository: wide(LIMITS.stringLength),
  codebase: wide(LIMITS.stringLength),
  project: wide(LIMITS.stringLength),
  comments: wide(LIMITS.textLength),
  files: names(LIMITS.listLength, 'f'),
  links: names(LIMITS.listLength, 'l'),
  properties: maxProperties('Change'),
});

// --- scenarios ----------------------------------------------------------------

interface Store {
  coordinator: Coordinator;
  db: Connector;
  close(): Promise<void>;
}

async function open(kind: 'memory' | 'leveldb', options: { maxLiveActors?: number } = {}): Promise<Store> {
  const root = kind === 'leveldb' ? mkdtempSync(join(tmpdir(), 'buildcoord-eventloop-')) : null;
  const coordinator = await openCoordinator({ ...options, ...(root === null ? {} : { location: join(root, 'store') }) });
  const db = await coordinator.connect('m1');
  return {
    coordinator,
    db,
    async close() {
      await coordinator.close();
      if (root !== null) rmSync(root, { recursive: true, force: true });
    },
  };
}

/** A new buildset of LIMITS.buildersPerBuildset short builder names; resolves to its brids. */
async function requests(db: Connector, count = LIMITS.buildersPerBuildset): Promise<number[]> {
  const sss = await db.sourcestampsets.addSourceStampSet();
  const brids: number[] = [];
  for (let i = 0; i < count; i += LIMITS.buildersPerBuildset) {
    const builderNames = Array.from({ length: Math.min(LIMITS.buildersPerBuildset, count - i) }, (_, j) => `b${i + j}`);
    const [, map] = await db.buildsets.addBuildset({ sourcestampsetid: sss, reason: 'r', properties: {}, builderNames });
    brids.push(...Object.values(map));
  }
  return brids;
}

type Scenario = [name: string, run: (db: Connector, store: Store) => Promise<() => Promise<unknown>>];

const ids = LIMITS.idsPerCall;

const scenarios: Scenario[] = [
  [
    `claimBuildRequests of ${ids} ids`,
    async (db) => {
      const brids = (await requests(db)).slice(0, ids);
      return () => db.buildrequests.claimBuildRequests(brids);
    },
  ],
  [
    `claimBuildRequests of ${ids} ids, none live (maxLiveActors 1)`,
    async (_, store) => {
      const db = await store.coordinator.connect('cold');
      const brids = (await requests(db)).slice(0, ids);
      return () => db.buildrequests.claimBuildRequests(brids);
    },
  ],
  [
    `reclaimBuildRequests of ${ids} ids`,
    async (db) => {
      const brids = (await requests(db)).slice(0, ids);
      await db.buildrequests.claimBuildRequests(brids);
      return () => db.buildrequests.reclaimBuildRequests(brids);
    },
  ],
  [
    `unclaimBuildRequests of ${ids} ids`,
    async (db) => {
      const brids = (await requests(db)).slice(0, ids);
      await db.buildrequests.claimBuildRequests(brids);
      return () => db.buildrequests.unclaimBuildRequests(brids);
    },
  ],
  [
    `completeBuildRequests of ${ids} ids`,
    async (db) => {
      const brids = (await requests(db)).slice(0, ids);
      await db.buildrequests.claimBuildRequests(brids);
      return () => db.buildrequests.completeBuildRequests(brids, 0);
    },
  ],
  [
    `finishBuilds of ${ids} ids`,
    async (db) => {
      const brids = (await requests(db)).slice(0, ids);
      const bids: number[] = [];
      for (const brid of brids) bids.push(await db.builds.addBuild(brid, 1));
      return () => db.builds.finishBuilds(bids);
    },
  ],
  [
    `addBuildset: ${LIMITS.buildersPerBuildset} builders (${LIMITS.listChars} chars), reason, properties at the limits`,
    async (db) => {
      const sss = await db.sourcestampsets.addSourceStampSet();
      const args = {
        sourcestampsetid: sss,
        reason: wide(LIMITS.stringLength),
        external_idstring: wide(LIMITS.stringLength),
        properties: maxProperties('Scheduler'),
        builderNames: names(LIMITS.buildersPerBuildset, `${Math.random()}`),
      };
      return () => db.buildsets.addBuildset(args);
    },
  ],
  [
    `getBuildsetProperties of the costliest JSON within the limits`,
    async (db) => {
      const sss = await db.sourcestampsets.addSourceStampSet();
      const [bsid] = await db.buildsets.addBuildset({ sourcestampsetid: sss, reason: 'r', properties: maxProperties('Scheduler'), builderNames: [] });
      return () => db.buildsets.getBuildsetProperties(bsid);
    },
  ],
  [
    'addChange: every string, list and properties at the limits',
    async (db) => {
      const args = widestChange();
      return () => db.changes.addChange(args);
    },
  ],
  [
    'getChange (no_cache) of that change',
    async (db) => {
      const changeid = await db.changes.addChange(widestChange());
      return () => db.changes.getChange(changeid, { no_cache: true });
    },
  ],
  [
    `addSourceStamp: ${ids} changeids, patch and strings at the limits`,
    async (db) => {
      const changeids: number[] = [];
      for (let i = 0; i < ids; i++) changeids.push(await db.changes.addChange({}));
      const sss = await db.sourcestampsets.addSourceStampSet();
      const args = {
        sourcestampsetid: sss,
        branch: wide(LIMITS.stringLength),
        revision: wide(LIMITS.stringLength),
        repository: wide(LIMITS.stringLength),
        project: wide(LIMITS.stringLength),
        codebase: wide(LIMITS.stringLength),
        patch_body: wide(LIMITS.textLength),
        patch_level: 1,
        patch_author: wide(LIMITS.stringLength),
        patch_comment: wide(LIMITS.textLength),
        patch_subdir: wide(LIMITS.stringLength),
        changeids,
      };
      return () => db.sourcestamps.addSourceStamp(args);
    },
  ],
  [
    `classifyChanges of ${ids} changeids`,
    async (db) => {
      const changeids: number[] = [];
      for (let i = 0; i < ids; i++) changeids.push(await db.changes.addChange({}));
      const objectid = await db.state.getObjectId(`s${Math.random()}`, 'Scheduler');
      const given = Object.fromEntries(changeids.map((id) => [id, true]));
      return () => db.schedulers.classifyChanges(objectid, given);
    },
  ],
  [
    `setState of the costliest JSON within the limits`,
    async (db) => {
      const objectid = await db.state.getObjectId(`o${Math.random()}`, 'C');
      const value = maxJson();
      return () => db.state.setState(objectid, wide(LIMITS.stringLength), value);
    },
  ],
  [
    `getState of the costliest JSON within the limits`,
    async (db) => {
      const objectid = await db.state.getObjectId(`o${Math.random()}`, 'C');
      await db.state.setState(objectid, 'v', maxJson());
      return () => db.state.getState(objectid, 'v');
    },
  ],
  [
    `findUserByAttr: attr_data of ${LIMITS.valueBytes} bytes`,
    async (db) => {
      const args = {
        identifier: wide(LIMITS.stringLength, `${Math.random()}`),
        attr_type: wide(LIMITS.stringLength),
        attr_data: wide(Math.floor((LIMITS.valueBytes * 4) / 9), `${Math.random()}`),
      };
      return () => db.users.findUserByAttr(args);
    },
  ],
  [
    'claimBuildRequests of 10,000,000 ids (refused)',
    async (db) => {
      const brids = new Array<number>(10_000_000).fill(1);
      return () => db.buildrequests.claimBuildRequests(brids).catch(() => {});
    },
  ],
];

/** Bulk releases that no input bounds: `count` claims of one master at once. */
function bulk(count: number): Scenario[] {
  return [
    [
      `unclaimExpiredRequests releasing ${count} claims`,
      async (db) => {
        const brids = await requests(db, count);
        for (let i = 0; i < brids.length; i += ids) await db.buildrequests.claimBuildRequests(brids.slice(i, i + ids), { claimed_at: new Date(0) });
        return () => db.buildrequests.unclaimExpiredRequests(60);
      },
    ],
    [
      `setMasterState(m, false) releasing ${count} claims`,
      async (_, store) => {
        const db = await store.coordinator.connect(`m${Math.random()}`);
        const brids = await requests(db, count);
        for (let i = 0; i < brids.length; i += ids) await db.buildrequests.claimBuildRequests(brids.slice(i, i + ids));
        return () => db.masters.setMasterState(db.masterid, false);
      },
    ],
  ];
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (x: number) => x.toFixed(1);

console.log(`node ${process.version}, ${RUNS} runs after one warm-up; block = longest gap between two turns of a setImmediate ticker\n`);
console.log('| call | store | block, median (ms) | block, worst (ms) | total, median (ms) |');
console.log('| --- | --- | ---: | ---: | ---: |');
for (const [name, prepare] of [...scenarios, ...BULK.flatMap(bulk)]) {
  for (const kind of STORES) {
    const samples: Sample[] = [];
    // Bulk scenarios are slow to set up: fewer runs, one store each.
    const runs = name.includes('releasing') ? Math.min(RUNS, 3) : RUNS;
    for (let run = 0; run <= runs; run++) {
      const store = await open(kind, name.includes('none live') ? { maxLiveActors: 1 } : {});
      const call = await prepare(store.db, store);
      const sample = await measure(call);
      if (run > 0 || runs === 0) samples.push(sample); // the first run warms up
      await store.close();
    }
    console.log(
      `| ${name} | ${kind} | ${ms(median(samples.map((s) => s.block)))} | ${ms(Math.max(...samples.map((s) => s.block)))} | ${ms(median(samples.map((s) => s.total)))} |`,
    );
  }
}
