/** The shared-store scenario's samples to figures: one row per configuration, the ratios, the goals, the table. */
import { median } from '../stats.ts';
import type { Latency } from '../stats.ts';
import type { Goal } from '../goals.ts';
import { table } from '../report.ts';
import { label } from './run.ts';
import type { PgConfig, PgSample, PgScenarioOptions, PgScenarioResult, StatementShare } from './run.ts';

/** The ratio of buildcoord's cycles/s to Buildbot's schema's that the issue asks for. */
export const PG_GOAL_RATIO = 3;

/**
 * One configuration over its samples: cycles/s the median (and spread), each
 * latency percentile the median (max the worst), the per-cycle costs medians,
 * problems and double wins the union, top statements those of the sample
 * with the median cycles/s.
 */
export interface PgRow extends PgConfig {
  samples: number;
  cyclesPerSecond: number;
  cyclesSpread: number;
  cycleLatency: Latency;
  claimLatency: Latency;
  completeLatency: Latency;
  commitsPerCycle: number;
  rollbacksPerCycle: number;
  commitsCounted: PgSample['commitsCounted'];
  statementsPerCycle: number | null;
  pgCpuUsPerCycle: number | null;
  pgStatementUsPerCycle: number | null;
  clientCpuUsPerCycle: number;
  floorCpuUsPerCycle: number | null;
  losses: number;
  doubleWins: number[];
  problems: string[];
  topStatements: StatementShare[] | null;
  perSample: { round: number; cyclesPerSecond: number; cycleP99: number; pgCpuUsPerCycle: number | null; processSeconds: number[]; loadAverage: number }[];
}

const mid = (values: readonly number[]) => median(values).median;
const midOrNull = (values: readonly (number | null)[]) => (values.some((v) => v === null) ? null : mid(values as number[]));

function medianLatency(runs: readonly Latency[]): Latency {
  return { p50: mid(runs.map((l) => l.p50)), p99: mid(runs.map((l) => l.p99)), max: Math.max(...runs.map((l) => l.max)) };
}

export function summarizePg(config: PgConfig, samples: readonly PgSample[]): PgRow {
  const byRate = [...samples].sort((a, b) => a.cyclesPerSecond - b.cyclesPerSecond);
  const middle = byRate[Math.floor((byRate.length - 1) / 2)]!;
  const rate = median(samples.map((s) => s.cyclesPerSecond));
  return {
    ...config,
    samples: samples.length,
    cyclesPerSecond: rate.median,
    cyclesSpread: rate.spread,
    cycleLatency: medianLatency(samples.map((s) => s.cycleLatency)),
    claimLatency: medianLatency(samples.map((s) => s.claimLatency)),
    completeLatency: medianLatency(samples.map((s) => s.completeLatency)),
    commitsPerCycle: mid(samples.map((s) => s.commitsPerCycle)),
    rollbacksPerCycle: mid(samples.map((s) => s.rollbacksPerCycle)),
    commitsCounted: middle.commitsCounted,
    statementsPerCycle: midOrNull(samples.map((s) => s.statementsPerCycle)),
    pgCpuUsPerCycle: midOrNull(samples.map((s) => s.pgCpuUsPerCycle)),
    pgStatementUsPerCycle: midOrNull(samples.map((s) => s.pgStatementUsPerCycle)),
    clientCpuUsPerCycle: mid(samples.map((s) => s.clientCpuUsPerCycle)),
    floorCpuUsPerCycle: midOrNull(samples.map((s) => s.floorCpuUsPerCycle)),
    losses: samples.reduce((sum, s) => sum + s.losses, 0),
    doubleWins: [...new Set(samples.flatMap((s) => s.doubleWins))].sort((a, b) => a - b),
    problems: [...new Set(samples.flatMap((s) => s.problems))].slice(0, 20),
    topStatements: middle.topStatements,
    perSample: samples.map((s) => ({
      round: s.round,
      cyclesPerSecond: s.cyclesPerSecond,
      cycleP99: s.cycleLatency.p99,
      pgCpuUsPerCycle: s.pgCpuUsPerCycle,
      processSeconds: s.processSeconds,
      loadAverage: s.loadAverage,
    })),
  };
}

export interface PgComparison {
  processes: number;
  /** buildcoord's median cycles/s over Buildbot's schema's. */
  ratio: number;
  /** Round by round (the two sides' samples of one round ran back to back), and the higher load average of the two as they started. */
  byRound: number[];
  loadByRound: number[];
  /** Buildbot's PostgreSQL CPU per cycle over buildcoord's: how much further a bigger server carries buildcoord. */
  pgCpuRatio: number | null;
  /**
   * The most cycles/s buildcoord could reach here if its PostgreSQL client cost nothing (ceilingOf), and that
   * over Buildbot's schema's cycles/s. Null without the figures it needs.
   */
  ceiling: { cyclesPerSecond: number; ratio: number } | null;
}

/**
 * An upper bound on buildcoord's cycles/s on this machine, were its
 * PostgreSQL client free: its masters need at least `floorUs` of CPU per
 * cycle (the in-memory store's figure) on one JavaScript thread per
 * process, and the server `pgCpuUs`, all on `cpus` cores. So the lower of
 * processes / floor and cpus / (server + floor). Null without both figures.
 */
export function ceilingOf(o: { cpus: number; processes: number; pgCpuUs: number | null; floorUs: number | null }): number | null {
  if (o.pgCpuUs === null || o.floorUs === null || o.floorUs <= 0) return null;
  return Math.min((o.processes * 1e6) / o.floorUs, (o.cpus * 1e6) / (o.pgCpuUs + o.floorUs));
}

export function comparisons(result: PgScenarioResult): { rows: PgRow[]; compared: PgComparison[] } {
  const rows = result.configs.map((c, i) => summarizePg(c, result.samples[i]!));
  const compared: PgComparison[] = [];
  for (const processes of [...new Set(rows.map((r) => r.processes))]) {
    const find = (side: PgConfig['side']) => result.configs.findIndex((c) => c.side === side && c.processes === processes);
    const bc = find('buildcoord');
    const bb = find('buildbot');
    if (bc === -1 || bb === -1) continue;
    const byRound = result.samples[bc]!.map((s, i) => s.cyclesPerSecond / result.samples[bb]![i]!.cyclesPerSecond);
    const cpu = (i: number) => rows[i]!.pgCpuUsPerCycle;
    const ceiling = ceilingOf({ cpus: result.machine.cpus, processes, pgCpuUs: cpu(bc), floorUs: rows[bc]!.floorCpuUsPerCycle });
    compared.push({
      processes,
      ratio: rows[bc]!.cyclesPerSecond / rows[bb]!.cyclesPerSecond,
      byRound,
      loadByRound: result.samples[bc]!.map((s, i) => Math.max(s.loadAverage, result.samples[bb]![i]!.loadAverage)),
      pgCpuRatio: cpu(bc) === null || cpu(bb) === null ? null : cpu(bb)! / cpu(bc)!,
      ceiling: ceiling === null ? null : { cyclesPerSecond: ceiling, ratio: ceiling / rows[bb]!.cyclesPerSecond },
    });
  }
  return { rows, compared };
}

const num = (n: number | null | undefined, digits = 0) =>
  n === undefined || n === null || !Number.isFinite(n) ? '-' : n.toLocaleString('en', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const times = (n: number) => (Number.isFinite(n) ? `${n.toFixed(2)}x` : '-');

/** The goals of the shared-store issue, against this run. */
export function pgGoals(rows: readonly PgRow[], compared: readonly PgComparison[], o: Pick<PgScenarioOptions, 'inFlight'>): Goal[] {
  const out: Goal[] = compared.map((c) => {
    const side = (s: PgConfig['side']) => rows.find((r) => r.side === s && r.processes === c.processes)!;
    return {
      goal: `>= ${PG_GOAL_RATIO}x Buildbot's claim schema on the same PostgreSQL, claim+complete cycles/s (${o.inFlight} in flight, ${c.processes} process${c.processes === 1 ? '' : 'es'})`,
      value:
        `${times(c.ratio)} (buildcoord ${num(side('buildcoord').cyclesPerSecond)} cycles/s, Buildbot's schema ${num(side('buildbot').cyclesPerSecond)}; by round ${c.byRound.map(times).join(', ')})` +
        (c.ceiling === null ? '' : `; ceiling on these cores ${times(c.ceiling.ratio)}`),
      met: c.ratio >= PG_GOAL_RATIO,
    };
  });
  const bad = rows.filter((r) => r.side === 'buildcoord' && (r.doubleWins.length > 0 || r.problems.length > 0));
  const checked = rows.filter((r) => r.side === 'buildcoord');
  out.push({
    goal: 'no request claimed twice on the shared store; the store agrees with what the claimers saw',
    value:
      checked.length === 0
        ? 'not run'
        : bad.length === 0
          ? `${checked.reduce((n, r) => n + r.samples, 0)} samples checked`
          : `${bad.map((r) => label(r)).join(', ')}: ${bad[0]!.problems[0] ?? `won twice: ${bad[0]!.doubleWins.slice(0, 10).join(', ')}`}`,
    met: checked.length === 0 ? null : bad.length === 0,
  });
  return out;
}

export function renderPg(result: PgScenarioResult, o: PgScenarioOptions, shownUrl: string): { text: string; rows: PgRow[]; compared: PgComparison[]; goals: Goal[] } {
  const { rows, compared } = comparisons(result);
  const goals = pgGoals(rows, compared, o);
  const s = result.settings;
  const out: string[] = [];
  out.push(
    `pg: claim+complete cycles over one PostgreSQL (${shownUrl}; PostgreSQL ${s.serverVersion}, fsync ${s.fsync}, synchronous_commit ${s.synchronousCommit}, shared_buffers ${s.sharedBuffers})`,
  );
  const load = (l: readonly number[]) => l.map((x) => x.toFixed(1)).join('/');
  out.push(
    `  ${result.machine.cpus} cpus, load average ${load(result.machine.loadAtStart)} at the start and ${load(result.machine.loadAtEnd)} at the end (1/5/15 min): other work on these cores slows most the side that waits on round trips`,
  );
  out.push(
    `  ${num(o.requests)} requests per sample after ${num(o.warmup)} warm-up in each process, ${o.inFlight} in flight over all processes, ${o.masters} masters per process; Buildbot's schema with ${o.connections} connections in all;`,
  );
  const counted = rows.some((r) => r.commitsCounted === 'transactions')
    ? 'transactions committed (pg_stat_database, read-only ones too: no pg_stat_statements here)'
    : 'COMMIT statements (pg_stat_statements)';
  out.push(`  median of ${o.samples} sample(s), each in a fresh schema, sides alternating. cycle: claim start to complete end (ms);`);
  out.push(`  per cycle: commits: ${counted}; rollbacks: the same of ROLLBACK; statements: round trips, BEGIN and COMMIT included;`);
  out.push("  PG CPU: the server's processes' CPU (/proc, µs); exec: pg_stat_statements execution time (µs); client CPU: the bench processes' own (µs).");
  const header = [
    'processes',
    'target',
    'cycles/s',
    '±',
    'cycle p50',
    'p99',
    'max ms',
    'claim p50',
    'p99 ms',
    'commits',
    'rollbacks',
    'statements',
    'PG CPU',
    'exec',
    'client CPU',
    'lost',
    'checked',
  ];
  const body = [...rows]
    .sort((a, b) => a.processes - b.processes || (a.side === 'buildbot' ? 0 : 1) - (b.side === 'buildbot' ? 0 : 1))
    .map((r) => [
      String(r.processes),
      r.side === 'buildcoord' ? 'buildcoord' : "Buildbot's schema",
      num(r.cyclesPerSecond),
      `${Math.round(r.cyclesSpread * 100)}%`,
      num(r.cycleLatency.p50, 2),
      num(r.cycleLatency.p99, 2),
      num(r.cycleLatency.max, 1),
      num(r.claimLatency.p50, 2),
      num(r.claimLatency.p99, 2),
      num(r.commitsPerCycle, 3),
      num(r.rollbacksPerCycle, 3),
      num(r.statementsPerCycle, 2),
      num(r.pgCpuUsPerCycle),
      num(r.pgStatementUsPerCycle),
      num(r.clientCpuUsPerCycle),
      num(r.losses),
      r.doubleWins.length === 0 && r.problems.length === 0 ? 'ok' : 'FAILED',
    ]);
  out.push(table(header, body));
  for (const c of compared) {
    out.push(
      `  ${c.processes} process${c.processes === 1 ? '' : 'es'}: buildcoord / Buildbot's schema = ${times(c.ratio)} cycles/s (by round: ${c.byRound.map((r, i) => `${times(r)} at load ${c.loadByRound[i]!.toFixed(1)}`).join(', ')})` +
        (c.pgCpuRatio === null ? '' : `; Buildbot's schema uses ${times(c.pgCpuRatio)} buildcoord's PostgreSQL CPU per cycle`),
    );
    const cpu = (side: PgConfig['side']) => rows.find((r) => r.side === side && r.processes === c.processes)?.pgCpuUsPerCycle ?? null;
    const bc = cpu('buildcoord');
    const bb = cpu('buildbot');
    // What carries to a bigger host: cycles a PostgreSQL core can serve at this CPU per cycle (no other bound assumed).
    if (bc !== null && bb !== null && bc > 0 && bb > 0) {
      out.push(`    PostgreSQL CPU per cycle: buildcoord ${num(bc)} µs, Buildbot's schema ${num(bb)} µs: one server core serves ~${num(1e6 / bc)} vs ~${num(1e6 / bb)} cycles/s`);
    }
    const floor = rows.find((r) => r.side === 'buildcoord' && r.processes === c.processes)?.floorCpuUsPerCycle ?? null;
    if (c.ceiling !== null) {
      out.push(
        `    ceiling here: the same masters on the in-memory store use ${num(floor)} µs per cycle, so with a PostgreSQL client that cost nothing at most ` +
          `min(${c.processes} thread${c.processes === 1 ? '' : 's'} / ${num(floor)} µs, ${result.machine.cpus} cpus / (${num(bc)} + ${num(floor)} µs)) = ~${num(c.ceiling.cyclesPerSecond)} cycles/s, ${times(c.ceiling.ratio)} Buildbot's schema`,
      );
    }
  }
  for (const r of rows) {
    if (r.topStatements === null || r.topStatements.length === 0) continue;
    out.push(`  top statements, ${label(r)} (calls and µs per cycle, median sample):`);
    for (const st of r.topStatements.slice(0, 5)) out.push(`    ${num(st.callsPerCycle, 2).padStart(6)} ${num(st.usPerCycle).padStart(6)}  ${st.query.slice(0, 110)}`);
  }
  return { text: out.join('\n'), rows, compared, goals };
}
