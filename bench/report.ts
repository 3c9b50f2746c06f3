/** Samples to figures: one row per configuration, the table and the JSON. */
import { cpus, loadavg, totalmem } from 'node:os';
import type { Job, Options } from './plan.ts';
import { median } from './stats.ts';
import type { Latency } from './stats.ts';
import type { Figures, RawFigures, Sample } from './worker.ts';
import type { GoalSet } from './goals.ts';

const MB = 2 ** 20;

/**
 * One configuration over its samples. Of the shared figures: claims/s and
 * completes/s are the median, each latency percentile the median (max the
 * worst), doubleWins and problems the union (problems: the first 20),
 * liveActorsPeak the largest, the rest (phases included) those of the sample
 * with the median claims/s.
 */
export interface Row extends Job, Figures {
  samples: number;
  /** (max - min) / median of claimedPerSecond over the samples. */
  claimedSpread: number;
  completesSpread: number;
  /** The largest over the samples. */
  peakRssMB: number;
  peakHeapMB: number;
  storeMB: number;
  /** Calls answered per store write: the group commit at work. */
  callsPerWrite: { claim: number; complete: number } | null;
  /** Medians over the samples. */
  raw: (RawFigures & { claimedSpread: number }) | null;
  perSample: { claimedPerSecond: number; completesPerSecond: number; claimP99: number; peakRssMB: number }[];
}

export function summarize(job: Job, samples: readonly Sample[]): Row {
  const byRate = [...samples].sort((a, b) => a.claimedPerSecond - b.claimedPerSecond);
  const mid = byRate[Math.floor((byRate.length - 1) / 2)]!;
  const claimed = median(samples.map((s) => s.claimedPerSecond));
  const completes = median(samples.map((s) => s.completesPerSecond));
  const raws = samples.flatMap((s) => (s.raw ? [s.raw] : []));
  return {
    ...job,
    samples: samples.length,
    claimedPerSecond: claimed.median,
    claimedSpread: claimed.spread,
    claimCallsPerSecond: mid.claimCallsPerSecond,
    completesPerSecond: completes.median,
    completesSpread: completes.spread,
    claimLatency: medianLatency(samples.map((s) => s.claimLatency)),
    completeLatency: medianLatency(samples.map((s) => s.completeLatency)),
    pollLatency: mid.pollLatency === null ? null : medianLatency(samples.flatMap((s) => (s.pollLatency ? [s.pollLatency] : []))),
    pollCalls: mid.pollCalls,
    wins: mid.wins,
    losses: mid.losses,
    doubleWins: [...new Set(samples.flatMap((s) => s.doubleWins))].sort((a, b) => a - b),
    problems: [...new Set(samples.flatMap((s) => s.problems))].slice(0, 20),
    peakRssMB: Math.max(...samples.map((s) => s.peakRss)) / MB,
    peakHeapMB: Math.max(...samples.map((s) => s.peakHeap)) / MB,
    liveActorsPeak: Math.max(...samples.map((s) => s.liveActorsPeak)),
    storeMB: mid.storeBytes / MB,
    callsPerWrite: mid.writes ? { claim: mid.wins / Math.max(1, mid.writes.claim.batches), complete: mid.wins / Math.max(1, mid.writes.complete.batches) } : null,
    phases: mid.phases,
    raw:
      raws.length === 0
        ? null
        : {
            claimedPerSecond: median(raws.map((r) => r.claimedPerSecond)).median,
            completesPerSecond: median(raws.map((r) => r.completesPerSecond)).median,
            claimedSpread: median(raws.map((r) => r.claimedPerSecond)).spread,
            claimWrite: medianLatency(raws.map((r) => r.claimWrite)),
          },
    perSample: samples.map((s) => ({ claimedPerSecond: s.claimedPerSecond, completesPerSecond: s.completesPerSecond, claimP99: s.claimLatency.p99, peakRssMB: s.peakRss / MB })),
  };
}

/** Latency over repeated runs: the median of each percentile, and the worst max. */
function medianLatency(runs: readonly Latency[]): Latency {
  return {
    p50: median(runs.map((l) => l.p50)).median,
    p99: median(runs.map((l) => l.p99)).median,
    max: Math.max(...runs.map((l) => l.max)),
  };
}

/** The row to compare a buildcoord row with: sqlite at the matching durability, or the in-memory coordinator. */
export function baselineOf(rows: readonly Row[], row: Row, target: 'sqlite' | 'memory'): Row | undefined {
  return rows.find(
    (r) =>
      r.target === target &&
      r.group === row.group &&
      r.scenario === row.scenario &&
      r.concurrency === row.concurrency &&
      r.storeSize === row.storeSize &&
      (target === 'memory' || r.durability === row.durability),
  );
}

export interface Ratios {
  sqlite: { claimed: number; completes: number; claimP99: number } | null;
  raw: { claimed: number; completes: number } | null;
  memory: { claimed: number; completes: number } | null;
}

/** Each buildcoord figure divided by its baseline's (above 1: buildcoord is faster, or for p99 slower). */
export function ratios(rows: readonly Row[], row: Row): Ratios {
  const sqlite = baselineOf(rows, row, 'sqlite');
  const memory = baselineOf(rows, row, 'memory');
  return {
    sqlite: sqlite
      ? {
          claimed: row.claimedPerSecond / sqlite.claimedPerSecond,
          completes: row.completesPerSecond / sqlite.completesPerSecond,
          claimP99: row.claimLatency.p99 / sqlite.claimLatency.p99,
        }
      : null,
    raw: row.raw ? { claimed: row.claimedPerSecond / row.raw.claimedPerSecond, completes: row.completesPerSecond / row.raw.completesPerSecond } : null,
    memory: memory ? { claimed: row.claimedPerSecond / memory.claimedPerSecond, completes: row.completesPerSecond / memory.completesPerSecond } : null,
  };
}

// --- the terminal table --------------------------------------------------------

const num = (n: number | undefined | null, digits = 0) =>
  n === undefined || n === null || !Number.isFinite(n) ? '-' : n.toLocaleString('en', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const pct = (n: number) => (Number.isFinite(n) ? `${Math.round(n * 100)}%` : '-');
const share = (part: number | null, whole: number) => (part === null ? '-' : pct(part / whole));
const times = (n: number | undefined) => (n === undefined || !Number.isFinite(n) ? '-' : `${n >= 10 ? n.toFixed(0) : n.toFixed(2)}x`);

/** Pads columns; text left, numbers right. */
export function table(header: readonly string[], body: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => (r[i] ?? '').length)));
  const numeric = header.map((_, i) => body.every((r) => /^[-\d,.%x/ ]*$/.test(r[i] ?? '')));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}

function label(row: Row): string {
  if (row.target === 'memory') return 'buildcoord, in memory';
  if (row.target === 'sqlite') return `sqlite ${row.durability === 'sync' ? 'FULL' : 'NORMAL'}`;
  return `buildcoord ${row.durability}`;
}

/** The rows of one section: at each concurrency, buildcoord then its raw ceiling and sqlite per durability, then memory. */
function section(rows: readonly Row[], all: readonly Row[], poll: boolean, byStoreSize: boolean): string {
  const header = [
    byStoreSize ? 'store' : 'in flight',
    'target',
    'claimed/s',
    '±',
    'completes/s',
    '±',
    'claim p50',
    'p99',
    'max ms',
    ...(poll ? ['poll p50', 'p99 ms'] : []),
    'lost',
    'in write',
    'RSS MB',
    'heap MB',
    'live',
    'store MB',
    'vs sqlite',
    'vs raw',
    'vs memory',
  ];
  const body: string[][] = [];
  const order = (r: Row) => (r.target === 'memory' ? 9 : (r.durability === 'sync' ? 0 : 4) + (r.target === 'buildcoord' ? 0 : 2));
  const sorted = [...rows].sort((a, b) => a.storeSize - b.storeSize || a.concurrency - b.concurrency || order(a) - order(b));
  for (const r of sorted) {
    const first = byStoreSize ? num(r.storeSize) : String(r.concurrency);
    const ratio = r.target === 'buildcoord' ? ratios(all, r) : null;
    const pair = (x: { claimed: number; completes: number } | null | undefined) => (x ? `${times(x.claimed)}/${times(x.completes)}` : '-');
    body.push([
      first,
      label(r),
      num(r.claimedPerSecond),
      pct(r.claimedSpread),
      num(r.completesPerSecond),
      pct(r.completesSpread),
      num(r.claimLatency.p50, 2),
      num(r.claimLatency.p99, 2),
      num(r.claimLatency.max, 1),
      ...(poll ? [num(r.pollLatency?.p50, 2), num(r.pollLatency?.p99, 2)] : []),
      num(r.losses),
      share(r.phases.claim.storeWriteSeconds, r.phases.claim.seconds),
      num(r.peakRssMB),
      num(r.peakHeapMB),
      num(r.liveActorsPeak),
      r.target === 'memory' ? '-' : num(r.storeMB, 1),
      pair(ratio?.sqlite),
      pair(ratio?.raw),
      pair(ratio?.memory),
    ]);
    if (r.raw) {
      body.push([
        first,
        `  raw classic-level ${r.durability}`,
        num(r.raw.claimedPerSecond),
        pct(r.raw.claimedSpread),
        num(r.raw.completesPerSecond),
        '',
        '',
        '',
        '',
        ...(poll ? ['', ''] : []),
        '',
        share(r.phases.claim.rawWriteSeconds, r.phases.claim.seconds),
        '',
        '',
        '',
        '',
        '',
        '',
        '',
      ]);
    }
  }
  return table(header, body);
}

export function renderTable(rows: readonly Row[], goalsMet: readonly GoalSet[], o: Options): string {
  const out: string[] = [];
  const c = cpus();
  out.push(`buildcoord claim benchmark: ${c.length} cpus (${c[0]?.model ?? '?'}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}`);
  out.push(
    `${o.masters} masters, ${o.builders} builders; median of ${o.samples} sample(s), each in a fresh process on a fresh copy of the store, after ${num(o.warmup)} warm-up requests.`,
  );
  out.push('claimed/s: requests won per second; completes/s: completions per second; ± : spread (max - min) over the samples / median;');
  out.push('latency per call in ms; in write: share of the claim phase with a store write in flight (raw rows: what raw classic-level took for the same batches);');
  out.push("RSS: peak resident set of the run's process; live: peak live actors; vs X: buildcoord / X, claims/completes.");
  if (o.quick) out.push('--quick: sizes too small for a warm JIT or stable figures; this run checks that the harness works, not how fast anything is.');
  for (const scenario of ['claim', 'contended', 'poll'] as const) {
    const mine = rows.filter((r) => r.group === 'sweep' && r.scenario === scenario);
    if (mine.length === 0) continue;
    const r0 = mine[0]!;
    const what = {
      claim: `${num(r0.requests)} requests per run, each claimed by one claimer, then completed`,
      contended: `${num(r0.requests)} requests per run; every master tries every request, losers move on`,
      poll: `${num(r0.requests)} requests in the store; claimers poll getBuildRequests({ buildername, claimed: false }) before each claim`,
    }[scenario];
    out.push('', `${scenario}: ${what}`, section(mine, rows, scenario === 'poll', false));
  }
  const scale = rows.filter((r) => r.group === 'scale');
  if (scale.length > 0) {
    out.push(
      '',
      `scale: ${num(scale[0]!.requests)} requests claimed and completed (${scale[0]!.concurrency} in flight, ${scale[0]!.durability}) in a store of N requests`,
      section(scale, rows, false, true),
    );
  }
  for (const set of goalsMet) {
    out.push('', `goals (${set.of}):`);
    for (const g of set.goals) out.push(`  ${g.met === null ? 'n/a ' : g.met ? 'MET ' : 'MISS'}  ${g.goal}: ${g.value}`);
  }
  return out.join('\n');
}

// --- the JSON --------------------------------------------------------------------

export function machine() {
  const c = cpus();
  return {
    cpus: c.length,
    cpuModel: c[0]?.model ?? null,
    memoryGiB: Number((totalmem() / 2 ** 30).toFixed(1)),
    node: process.version,
    platform: process.platform,
    arch: process.arch,
    loadAverage: loadavg(),
  };
}

export function document(
  rows: readonly Row[],
  goalsMet: readonly GoalSet[],
  o: Options,
  extra: { argv: readonly string[]; seconds: number; machineAtStart: ReturnType<typeof machine>; build: { commit: string | null; uncommittedSrc: string[] | null } },
) {
  return {
    benchmark: 'buildcoord claim benchmark (bench/main.ts)',
    date: new Date().toISOString(),
    command: ['npm run bench', ...(extra.argv.length > 0 ? ['--', ...extra.argv] : [])].join(' '),
    seconds: Math.round(extra.seconds),
    machine: { ...extra.machineAtStart, loadAverageAtEnd: loadavg() },
    /** What was measured: dist/ as built from this commit plus these uncommitted src/ files. */
    build: extra.build,
    options: o,
    definitions: {
      claimedPerSecond: 'requests won per second of the claim phase (the phase ends when the last claimer is answered)',
      claimCallsPerSecond: 'claim calls, won or lost, per second',
      completesPerSecond: 'completeBuildRequests calls per second of the complete phase',
      latency: 'milliseconds around each awaited call (performance.now); p50/p99 nearest rank; of the sample with the median claims/s',
      spread: '(max - min) / median over the samples',
      peakRssMB: "getrusage maxrss of the run's process (setup and warm-up included), largest over the samples",
      peakHeapMB: 'largest heapUsed sampled every 20 ms during the timed phases',
      raw: 'the same batches the coordinator wrote in the run, replayed one write at a time on raw classic-level, on a copy of the same seed',
      sqlite: 'better-sqlite3, WAL, one transaction per call; sync runs use synchronous=FULL, buffered runs NORMAL',
      memory: 'buildcoord on the in-memory backend (the actor layer without a disk), loaded with the same seed',
      callsPerWrite: 'calls answered per store write: the group commit',
      phases: "seconds of each timed phase, of them with a store write in flight (Backend.write, one at a time), and raw classic-level's time for the same batches",
    },
    goals: goalsMet,
    rows: rows.map((r) => ({ ...r, ratios: r.target === 'buildcoord' ? ratios(rows, r) : null })),
  };
}
