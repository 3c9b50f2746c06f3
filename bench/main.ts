/**
 * Claim throughput: buildcoord against the baselines a build farm would
 * otherwise use, in one run, on one machine, on the same data.
 *
 *   npm run bench                       # everything (about 10-15 minutes)
 *   npm run bench -- --quick            # a smoke run, under a minute
 *   npm run bench -- --scenario claim --durability sync --concurrency 64
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Durability } from '../src/api.ts';
import { rawLevelCeiling, sqliteBaseline } from './baselines/run.ts';
import { chart } from './chart.ts';
import { runScenario } from './scenarios.ts';
import type { Scenario, ScenarioResult } from './scenarios.ts';
import { median } from './stats.ts';
import { bytesOnDisk, farm } from './workload.ts';
import type { Store } from './workload.ts';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    scenario: { type: 'string', multiple: true },
    durability: { type: 'string', multiple: true },
    concurrency: { type: 'string', multiple: true },
    requests: { type: 'string' },
    scale: { type: 'string', multiple: true },
    samples: { type: 'string' },
    out: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});

if (args.help) {
  console.log(`npm run bench -- [--quick] [--scenario claim|contended|poll|scale]... [--durability sync|buffered]...
  [--concurrency N]... [--requests N] [--scale N]... [--samples N] [--out DIR]`);
  process.exit(0);
}

const quick = args.quick;
const list = (given: string[] | undefined, fallback: string[]) => (given && given.length > 0 ? given.flatMap((v) => v.split(',')) : fallback);
const scenarios = list(args.scenario, ['claim', 'contended', 'poll', 'scale']);
const durabilities = list(args.durability, ['sync', 'buffered']) as Durability[];
const sweep = list(args.concurrency, quick ? ['1', '16', '64'] : ['1', '4', '16', '64', '256']).map(Number);
const requests = Number(args.requests ?? (quick ? 2_000 : 20_000));
const scales = list(args.scale, quick ? ['10000'] : ['10000', '100000', '1000000']).map(Number);
const samples = Number(args.samples ?? (quick ? 1 : 3));
// Full runs are the published figures; quick runs are smoke tests and stay out of the tree.
const outDir = args.out ?? (quick ? '.bench' : 'docs/bench');
const MASTERS = 4;
const BUILDERS = 16;
const REFERENCE = 64; // the concurrency the targets speak of
const WARM_UP = 500;
for (const [name, value] of Object.entries({ requests, samples, ...Object.fromEntries(sweep.map((c, i) => [`concurrency ${i}`, c])) })) {
  if (!Number.isSafeInteger(value) || value < 1) {
    console.error(`bench: ${name} must be a positive integer`);
    process.exit(2);
  }
}
for (const s of scenarios) if (!['claim', 'contended', 'poll', 'scale'].includes(s)) (console.error(`bench: unknown scenario ${s}`), process.exit(2));
for (const d of durabilities) if (d !== 'sync' && d !== 'buffered') (console.error(`bench: unknown durability ${d}`), process.exit(2));

const progress = (text: string) => process.stderr.write(`\r\x1b[K${text}`);

interface Row {
  scenario: string;
  store: Store;
  durability: Durability;
  concurrency: number;
  requests: number;
  claimsPerSecond: number;
  spread: number;
  completesPerSecond: number;
  claimP50: number;
  claimP99: number;
  claimMax: number;
  wins: number;
  losses: number;
  doubleWins: number;
  peakRssMB: number;
  peakHeapMB: number;
  liveActors: number;
  storeBytes: number;
  /** Claims and completes together, per second of both phases: what the raw ceiling is compared with. */
  callsPerSecond: number;
  rawCeilingPerSecond?: number;
}

/** One configuration, `samples` times on fresh stores; the median run by claims/s. */
async function measure(scenario: Scenario, store: Store, durability: Durability, concurrency: number, count: number, preload = 0): Promise<Row> {
  const runs: { result: ScenarioResult; bytes: number; raw?: number }[] = [];
  for (let i = 0; i < samples; i++) {
    progress(`${scenario} ${store} ${durability} ×${concurrency} (${count.toLocaleString('en')} requests${preload ? ` in a store of ${preload.toLocaleString('en')}` : ''}) sample ${i + 1}/${samples}`);
    const warm = Math.min(WARM_UP, count);
    const f = await farm({ store, durability, masters: MASTERS, requests: Math.max(count + warm, preload), builders: BUILDERS });
    const all = f.brids;
    f.brids = all.slice(0, warm); // warm up on requests of their own (claimed and completed), then measure on the rest
    await runScenario(f, 'claim', concurrency);
    f.brids = all.slice(warm, warm + count);
    f.recorder.recording = true;
    const result = await runScenario(f, scenario, concurrency);
    f.recorder.recording = false;
    const bytes = bytesOnDisk(f.location);
    let raw: number | undefined;
    if (store === 'leveldb' && scenario === 'claim') raw = (await rawLevelCeiling(f.recorder.batches, result.claims.calls + result.completes.calls, durability === 'sync')).perSecond;
    f.recorder.batches.length = 0;
    await f.close();
    runs.push({ result, bytes, raw });
  }
  const byRate = [...runs].sort((a, b) => a.result.claims.perSecond - b.result.claims.perSecond);
  const mid = byRate[Math.floor((byRate.length - 1) / 2)]!;
  const r = mid.result;
  return {
    scenario, store, durability, concurrency, requests: count,
    claimsPerSecond: r.claims.perSecond,
    spread: median(runs.map((x) => x.result.claims.perSecond)).spread,
    completesPerSecond: r.completes.perSecond,
    claimP50: r.claims.latency.p50, claimP99: r.claims.latency.p99, claimMax: r.claims.latency.max,
    wins: r.wins, losses: r.losses, doubleWins: r.doubleWins.length,
    peakRssMB: r.peakRss / 2 ** 20, peakHeapMB: r.peakHeap / 2 ** 20, liveActors: r.liveActors, storeBytes: mid.bytes,
    callsPerSecond: (r.claims.calls + r.completes.calls) / (r.claims.seconds + r.completes.seconds),
    rawCeilingPerSecond: mid.raw,
  };
}

/**
 * Requests per run: fewer at low concurrency (one claim per fsync is slow)
 * and for poll, whose every call reads all of a builder's unclaimed requests.
 */
const sizeFor = (scenario: Scenario, concurrency: number) => Math.min(requests, 2_000 * concurrency, scenario === 'poll' ? 4_000 : Infinity);

const rows: Row[] = [];
const started = Date.now();

// Scale first: its peak RSS should be its own, not what earlier runs left behind.
const scaleRows: Row[] = [];
if (scenarios.includes('scale')) {
  for (const size of scales) scaleRows.push(await measure('claim', 'leveldb', 'sync', REFERENCE, Math.min(size, requests), size));
}
for (const scenario of ['claim', 'contended', 'poll'] as const) {
  if (!scenarios.includes(scenario)) continue;
  for (const durability of durabilities) {
    const levels = scenario === 'claim' ? sweep : [REFERENCE];
    for (const c of levels) rows.push(await measure(scenario, 'leveldb', durability, c, sizeFor(scenario, c)));
  }
  // The actor layer alone: the same scenario on the in-memory store.
  const levels = scenario === 'claim' ? sweep : [REFERENCE];
  for (const c of levels) rows.push(await measure(scenario, 'memory', 'sync', c, sizeFor(scenario, c)));
}

const sqliteRequests = Math.min(requests, 5_000);
progress('sqlite baseline, synchronous=FULL');
const sqliteFull = sqliteBaseline(sqliteRequests, BUILDERS, MASTERS, 'FULL');
progress('sqlite baseline, synchronous=NORMAL');
const sqliteNormal = sqliteBaseline(sqliteRequests, BUILDERS, MASTERS, 'NORMAL');

progress('');

// --- report ------------------------------------------------------------------

const fmt = (n: number | undefined, digits = 0) => (n === undefined || Number.isNaN(n) ? '-' : n.toLocaleString('en', { maximumFractionDigits: digits, minimumFractionDigits: digits }));
const ratio = (a: number, b: number | undefined) => (b === undefined || b === 0 ? '-' : `${(a / b).toFixed(2)}x`);
const baselineFor = (d: Durability) => (d === 'sync' ? sqliteFull : sqliteNormal);
const memoryAt = (c: number, scenario: string) => rows.find((r) => r.store === 'memory' && r.concurrency === c && r.scenario === scenario)?.claimsPerSecond;

console.log(`\nbuildcoord claim benchmark: ${cpus().length} cpus (${cpus()[0]?.model ?? '?'}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}, ${samples} sample(s) each, ${MASTERS} masters, ${BUILDERS} builders\n`);
console.log(['scenario', 'store', 'durab.', 'in flight', 'claims/s', '±', 'completes/s', 'p50 ms', 'p99 ms', 'max ms', 'won', 'lost', '2x won', 'RSS MB', 'live', 'vs sqlite', 'vs raw level', 'vs memory'].join('\t'));
for (const r of rows) {
  console.log([
    r.scenario, r.store, r.durability, r.concurrency, fmt(r.claimsPerSecond), `${fmt(r.spread * 100)}%`, fmt(r.completesPerSecond),
    fmt(r.claimP50, 2), fmt(r.claimP99, 2), fmt(r.claimMax, 1), r.wins, r.losses, r.doubleWins, fmt(r.peakRssMB), r.liveActors,
    r.store === 'leveldb' ? ratio(r.claimsPerSecond, baselineFor(r.durability).claims.perSecond) : '-',
    r.rawCeilingPerSecond === undefined ? '-' : ratio(r.callsPerSecond, r.rawCeilingPerSecond),
    r.store === 'leveldb' ? ratio(r.claimsPerSecond, memoryAt(r.concurrency, r.scenario)) : '-',
  ].join('\t'));
}
console.log(`\nsqlite (better-sqlite3, WAL, one transaction per call, ${fmt(sqliteRequests)} requests):`);
for (const [name, b] of [['synchronous=FULL', sqliteFull], ['synchronous=NORMAL', sqliteNormal]] as const) {
  console.log(`  ${name}: ${fmt(b.claims.perSecond)} claims/s (p50 ${fmt(b.claims.latency.p50, 2)} ms, p99 ${fmt(b.claims.latency.p99, 2)} ms), ${fmt(b.completes.perSecond)} completes/s`);
}
if (scaleRows.length > 0) {
  console.log('\nscale (claim, LevelDB, sync, 64 in flight, claims of the first requests in a store of N):');
  console.log(['store size', 'claims/s', 'p99 ms', 'peak RSS MB', 'peak heap MB', 'live actors', 'store MB'].join('\t'));
  scales.forEach((size, i) => {
    const r = scaleRows[i]!;
    console.log([fmt(size), fmt(r.claimsPerSecond), fmt(r.claimP99, 2), fmt(r.peakRssMB), fmt(r.peakHeapMB), r.liveActors, fmt(r.storeBytes / 2 ** 20, 1)].join('\t'));
  });
}
const doubled = [...rows, ...scaleRows].reduce((n, r) => n + r.doubleWins, 0);
console.log(`\nrequests won twice: ${doubled}   (${((Date.now() - started) / 1000).toFixed(0)} s)`);

mkdirSync(outDir, { recursive: true });
const machine = { cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryGiB: totalmem() / 2 ** 30, node: process.version, platform: process.platform };
const options = { quick, scenarios, durabilities, sweep, requests, scales, samples, masters: MASTERS, builders: BUILDERS };
const file = quick ? 'quick.json' : 'latest.json';
writeFileSync(join(outDir, file), JSON.stringify({ date: new Date().toISOString(), machine, options, rows, scale: scaleRows, sqlite: { requests: sqliteRequests, full: sqliteFull, normal: sqliteNormal } }, null, 2));
const line = (store: Store, durability: Durability) => rows.filter((r) => r.scenario === 'claim' && r.store === store && r.durability === durability).map((r) => [r.concurrency, r.claimsPerSecond] as [number, number]);
// The ceiling is per call (claims and completes); halve it to set it beside claims/s.
const raw = rows.filter((r) => r.scenario === 'claim' && r.durability === 'sync' && r.rawCeilingPerSecond !== undefined).map((r) => [r.concurrency, r.rawCeilingPerSecond! * (r.claimsPerSecond / r.callsPerSecond) ] as [number, number]);
writeFileSync(join(outDir, quick ? 'quick.svg' : 'throughput.svg'), chart('Claims/s against claimers in flight (claim scenario)', [
  { name: 'buildcoord, sync', color: '#1f77b4', points: line('leveldb', 'sync') },
  { name: 'buildcoord, buffered', color: '#2ca02c', points: line('leveldb', 'buffered') },
  { name: 'buildcoord, in memory', color: '#9467bd', points: line('memory', 'sync') },
  { name: 'raw LevelDB, same batches', color: '#ff7f0e', points: raw },
  { name: 'sqlite FULL', color: '#d62728', points: [[1, sqliteFull.claims.perSecond] as [number, number]], dashed: true },
  { name: 'sqlite NORMAL', color: '#8c564b', points: [[1, sqliteNormal.claims.perSecond] as [number, number]], dashed: true },
].filter((s) => s.points.length > 0)));
console.log(`figures: ${join(outDir, file)}`);
if (doubled > 0) process.exit(1);
