/**
 * The shared-store scenario's parent: claim+complete cycles over one
 * PostgreSQL by buildcoord (a coordinator per process, each hosting its own
 * masters) and by Buildbot's claim schema driven with `pg`, at the same
 * concurrency, in 1 and in N processes. Samples alternate between the sides
 * (and swap order every round), each in a fresh schema on the same server:
 * create it, seed it (here, while the processes start), warm the processes
 * up, time the cycles of all at once, read what the server counted, check
 * the store afresh from here, drop the schema.
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { maskLocation } from '../../src/persistence/postgres/location.ts';
import { PG_BUILDBOT_APPLICATION } from '../baselines/pgBuildbot.ts';
import { audit, doubleWins, latency } from '../stats.ts';
import type { Latency } from '../stats.ts';
import { withSchema } from '../../src/persistence/postgres/url.ts';
import { ServerProbe } from './server.ts';
import type { ServerCounters, ServerSettings } from './server.ts';
import { inspect, seed } from './sides.ts';
import type { PgSide } from './sides.ts';
import type { BuildcoordApi } from '../targets.ts';
import type { PgCommand, PgReply, PgRunResult, PgTask } from './worker.ts';

const WORKER = new URL('./worker.ts', import.meta.url);
/** The application_name of buildcoord's sessions (src/persistence/postgres/url.ts). */
const BUILDCOORD_APPLICATION = 'buildcoord';

export interface PgScenarioOptions {
  /** The server; whatever schema it names is ignored (each sample makes its own). */
  url: string;
  /** Process counts to run each side with. */
  processes: number[];
  /** Cycles in flight over all processes. */
  inFlight: number;
  /** Timed requests per sample (over all processes). */
  requests: number;
  /**
   * Requests each process claims and completes untimed first: every process
   * starts its timed cycles with its code compiled, as a master that has run
   * for a while would (a share of one warm-up left 4 processes timing V8's
   * compiler).
   */
  warmup: number;
  /** Masters per process. */
  masters: number;
  builders: number;
  /** Buildbot's connections over all its processes. */
  connections: number;
  samples: number;
  /** The URL of the build's api.js that workers import (and this process, to seed and to check the store). */
  api: string;
  /** node flags for the worker processes (they run .ts: tsx must be among them). */
  execArgv: string[];
  /** Where CPU profiles of buildcoord's timed cycles go, if profiling. */
  profileDir: string | null;
  /**
   * Without pg_stat_statements, commits are counted by pg_stat_database, read after this long with the sessions
   * idle, before and after the cycles (default 10.5 s: see STATS_IDLE_FLUSH_MS; less makes the count unreliable).
   */
  statsFlushMs?: number;
  /** Called as each sample starts. */
  progress?: (text: string) => void;
}

export interface PgConfig {
  side: PgSide;
  processes: number;
}

export interface StatementShare {
  query: string;
  callsPerCycle: number;
  usPerCycle: number;
}

/** One sample of one configuration. */
export interface PgSample extends PgConfig {
  round: number;
  /** The schema it ran in (dropped afterwards). */
  schema: string;
  seconds: number;
  cycles: number;
  cyclesPerSecond: number;
  /** Claim start to complete end of a won request, ms. */
  cycleLatency: Latency;
  claimLatency: Latency;
  completeLatency: Latency;
  losses: number;
  /** Calls that failed other than by a lost race, and the first of them. */
  failed: number;
  failures: string[];
  doubleWins: number[];
  /** What the store says against what the claimers saw; empty when they agree. */
  problems: string[];
  /**
   * Commits per cycle: COMMIT statements (pg_stat_statements), or without it transactions committed, read-only
   * ones too (pg_stat_database, from just before the cycles to after every process closed, less the probe's own).
   */
  commitsPerCycle: number;
  /** ROLLBACK statements per cycle, or transactions rolled back (as commits). */
  rollbacksPerCycle: number;
  commitsCounted: 'COMMIT statements' | 'transactions';
  /** Top-level statements per cycle, BEGIN and COMMIT included (pg_stat_statements); null without it. */
  statementsPerCycle: number | null;
  /** The server's CPU over the timed cycles, per cycle, µs; null if it is not on this machine. */
  pgCpuUsPerCycle: number | null;
  /** pg_stat_statements total_exec_time per cycle, µs; null without it. */
  pgStatementUsPerCycle: number | null;
  /** The statements that took most of that time. */
  topStatements: StatementShare[] | null;
  /** The worker processes' own CPU over the timed cycles, per cycle, µs. */
  clientCpuUsPerCycle: number;
  /**
   * buildcoord: the same processes' CPU per cycle for the same cycles on the in-memory store (µs), a floor under
   * clientCpuUsPerCycle on any shared store; null for Buildbot's schema.
   */
  floorCpuUsPerCycle: number | null;
  /** Each process's timed seconds (they start together; the slowest sets the figure). */
  processSeconds: number[];
  /** The machine's 1-minute load average as the sample started: others' work on the same cores slows a latency-bound side most. */
  loadAverage: number;
}

export interface PgScenarioResult {
  settings: ServerSettings;
  /** The machine: its cpus, and its 1/5/15-minute load averages as the scenario started and ended. */
  machine: { cpus: number; loadAtStart: number[]; loadAtEnd: number[] };
  configs: PgConfig[];
  /** samples[i] are configs[i]'s, one per round. */
  samples: PgSample[][];
}

/** The configurations in the order of a round: at each process count, Buildbot then buildcoord. */
export function pgConfigs(processes: readonly number[]): PgConfig[] {
  return processes.flatMap((p) => [
    { side: 'buildbot' as const, processes: p },
    { side: 'buildcoord' as const, processes: p },
  ]);
}

/** n split into `parts` near-equal counts, the larger first. */
export function shares(n: number, parts: number): number[] {
  return Array.from({ length: parts }, (_, i) => Math.floor(n / parts) + (i < n % parts ? 1 : 0));
}

/** n split in proportion to `weights` (rounded, summing to n). */
export function proportional(n: number, weights: readonly number[]): number[] {
  const whole = weights.reduce((a, b) => a + b, 0);
  let before = 0;
  let given = 0;
  return weights.map((w) => {
    before += w;
    const upTo = Math.round((n * before) / whole);
    const mine = upTo - given;
    given = upTo;
    return mine;
  });
}

/** `items` cut into consecutive pieces of the given sizes. */
export function cut<T>(items: readonly T[], sizes: readonly number[]): T[][] {
  let at = 0;
  return sizes.map((size) => items.slice(at, (at += size)));
}

/** A worker process and its replies, one at a time. */
class Worker {
  private readonly replies: PgReply[] = [];
  private waiting: ((reply: PgReply) => void) | null = null;
  private exited: string | null = null;
  readonly child: ChildProcess;

  /** Forks the process now (it loads while the sample is seeded); `start` gives it its task. */
  constructor(execArgv: string[]) {
    this.child = fork(WORKER, [], { execArgv: [...execArgv, '--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child.on('message', (reply: PgReply) => this.deliver(reply));
    this.child.on('error', (error) => this.deliver({ kind: 'failed', error: error.message }));
    this.child.on('exit', (code, signal) => {
      this.exited = `exited with ${signal ?? `code ${code}`}`;
      this.deliver({ kind: 'failed', error: `bench worker ${this.exited} before answering` });
    });
  }

  start(task: PgTask): void {
    this.child.send(task);
  }

  private deliver(reply: PgReply): void {
    if (this.waiting) {
      const waiting = this.waiting;
      this.waiting = null;
      waiting(reply);
    } else {
      this.replies.push(reply);
    }
  }

  /** The next reply, which must be of `kind`; a failure (or an early exit) rejects. */
  async next<K extends PgReply['kind']>(kind: K): Promise<Extract<PgReply, { kind: K }>> {
    const reply = this.replies.shift() ?? (await new Promise<PgReply>((resolve) => (this.waiting = resolve)));
    if (reply.kind === kind) return reply as Extract<PgReply, { kind: K }>;
    throw new Error(maskLocation(reply.kind === 'failed' ? `bench worker failed: ${reply.error}` : `bench worker answered ${reply.kind}, not ${kind}`));
  }

  send(command: PgCommand): void {
    this.child.send(command);
  }

  /** Resolves when the process has exited. */
  exit(): Promise<void> {
    if (this.exited !== null || this.child.exitCode !== null) return Promise.resolve();
    return new Promise((resolve) => this.child.once('exit', () => resolve()));
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

/** Runs every configuration `samples` times; the figures, and the server's settings. */
export async function runPgScenario(o: PgScenarioOptions): Promise<PgScenarioResult> {
  const loadAtStart = loadavg();
  const api = (await import(o.api)) as BuildcoordApi;
  const probe = await ServerProbe.connect(o.url);
  const live = new Set<Worker>();
  try {
    const settings = await probe.settings();
    const configs = pgConfigs(o.processes);
    const samples: PgSample[][] = configs.map(() => []);
    const total = configs.length * o.samples;
    let done = 0;
    for (let round = 0; round < o.samples; round++) {
      // Each round swaps who goes first at each process count, so neither side always follows the other's drop.
      const order = configs.map((_, i) => i).sort((a, b) => (round % 2 === 0 ? a - b : Math.floor(a / 2) - Math.floor(b / 2) || b - a));
      for (const i of order) {
        const config = configs[i]!;
        o.progress?.(`[${++done}/${total}] pg ${label(config)}, sample ${round + 1}/${o.samples}`);
        samples[i]!.push(await sample(o, api, probe, config, round, live));
      }
    }
    return { settings, machine: { cpus: cpus().length, loadAtStart, loadAtEnd: loadavg() }, configs, samples };
  } finally {
    for (const worker of live) worker.kill();
    await probe.close();
  }
}

export const label = (c: PgConfig) => `${c.side === 'buildcoord' ? 'buildcoord' : "Buildbot's schema"} x${c.processes} process${c.processes === 1 ? '' : 'es'}`;

async function sample(o: PgScenarioOptions, api: BuildcoordApi, probe: ServerProbe, config: PgConfig, round: number, live: Set<Worker>): Promise<PgSample> {
  const { side, processes } = config;
  const schema = `${side === 'buildcoord' ? 'bcbench' : 'bb088'}_${randomBytes(6).toString('hex')}`;
  const url = withSchema(o.url, schema);
  const allMasters = o.masters * processes;
  const slots = shares(o.inFlight, processes);
  // The processes load while the parent seeds the schema.
  const workers = slots.map(() => {
    const worker = new Worker(o.execArgv);
    live.add(worker);
    void worker.exit().then(() => live.delete(worker));
    return worker;
  });

  const loadAverage = loadavg()[0]!;
  await probe.createSchema(schema);
  try {
    const warmups = o.warmup * processes;
    const brids = await seed(side, api, { url }, { requests: warmups + o.requests, builders: o.builders, masters: allMasters });
    const warmup = cut(
      brids.slice(0, warmups),
      slots.map(() => o.warmup),
    );
    const timedBrids = brids.slice(warmups);
    // Each process gets requests in proportion to its slots, so all finish about together.
    const timed = cut(timedBrids, proportional(timedBrids.length, slots));
    const connections = shares(Math.max(o.connections, processes), processes);
    for (const [p, worker] of workers.entries()) {
      worker.start({
        kind: 'run',
        side,
        api: o.api,
        url,
        firstMaster: p * o.masters,
        masters: o.masters,
        allMasters,
        slots: slots[p]!,
        connections: connections[p]!,
        builders: o.builders,
        warmup: warmup[p]!,
        timed: timed[p]!,
        profile: o.profileDir !== null && side === 'buildcoord' ? join(o.profileDir, `pg-${side}-x${processes}-round${round + 1}-process${p + 1}.cpuprofile`) : null,
      });
    }
    await Promise.all(workers.map((w) => w.next('ready')));

    // Quiet the server: a checkpoint now rather than during the cycles. Without pg_stat_statements, wait
    // until every session's statistics have reached pg_stat_database, before and after.
    const counted = probe.statements !== null;
    await probe.checkpoint();
    if (!counted) await probe.settle([], o.statsFlushMs);
    await probe.resetStatements();
    const before = await probe.counters();
    for (const w of workers) w.send({ kind: 'go' });
    const results: PgRunResult[] = (await Promise.all(workers.map((w) => w.next('done')))).map((r) => r.result);
    const cpuAfter = (await probe.counters()).cpuUs;
    const statements = await probe.statementTimes();
    let floors: number[] | null = null;
    if (side === 'buildcoord') {
      for (const w of workers) w.send({ kind: 'floor' });
      floors = (await Promise.all(workers.map((w) => w.next('floor')))).map((r) => r.cpuUsPerCycle);
    }
    for (const w of workers) w.send({ kind: 'close' });
    await Promise.all(
      workers.map(async (w) => {
        await w.next('closed');
        await w.exit();
      }),
    );
    if (!counted) await probe.settle([BUILDCOORD_APPLICATION, PG_BUILDBOT_APPLICATION], o.statsFlushMs);
    const after = counted ? null : await probe.counters();

    // Read afresh, by a coordinator (or connections) that took no part.
    const view = await inspect(side, api, { url }, { masters: allMasters });
    return { ...figures(config, round, schema, timedBrids, results, { before, after, cpuAfter, statements }, view), floorCpuUsPerCycle: floorOf(floors, results), loadAverage };
  } finally {
    for (const worker of workers) worker.kill();
    await probe.dropSchema(schema);
  }
}

/** The processes' floors as one figure per cycle of all: each weighted by the cycles it ran. */
function floorOf(floors: readonly number[] | null, results: readonly PgRunResult[]): number | null {
  if (floors === null) return null;
  const cycles = results.map((r) => r.cycleTimes.length);
  const total = cycles.reduce((a, b) => a + b, 0);
  return total === 0 ? null : floors.reduce((sum, us, p) => sum + us * cycles[p]!, 0) / total;
}

function figures(
  config: PgConfig,
  round: number,
  schema: string,
  brids: readonly number[],
  results: readonly PgRunResult[],
  server: { before: ServerCounters; after: ServerCounters | null; cpuAfter: number | null; statements: Awaited<ReturnType<ServerProbe['statementTimes']>> },
  view: { holdings: { brid: number; complete: boolean }[][]; doubleClaims: number },
): Omit<PgSample, 'loadAverage' | 'floorCpuUsPerCycle'> {
  const all = <T>(pick: (r: PgRunResult) => readonly T[]) => results.flatMap((r) => [...pick(r)]);
  const seconds = (Math.max(...results.map((r) => r.endedAt)) - Math.min(...results.map((r) => r.startedAt))) / 1000;
  const wins = all((r) => r.wins);
  const cycleTimes = all((r) => r.cycleTimes);
  const cycles = cycleTimes.length;
  const per = (n: number) => n / Math.max(1, cycles);
  const problems = audit(brids, wins, view.holdings);
  if (view.doubleClaims > 0) problems.unshift(`${view.doubleClaims} request(s) held by two masters in the store`);
  const failed = results.reduce((sum, r) => sum + r.failed, 0);
  if (failed > 0)
    problems.unshift(
      `${failed} call(s) failed: ${all((r) => r.failures)
        .slice(0, 3)
        .join('; ')}`,
    );
  const statements = server.statements;
  const statementUs = statements?.reduce((sum, s) => sum + s.totalMs, 0);
  const calls = (pattern: RegExp) => statements!.filter((s) => pattern.test(s.query)).reduce((sum, s) => sum + s.calls, 0);
  const { before, after } = server;
  const commits = statements ? calls(/^\s*(commit|end)\b/i) : after!.xactCommit - before.xactCommit - (after!.probeQueries - before.probeQueries);
  const rollbacks = statements ? calls(/^\s*(rollback|abort)\b/i) : after!.xactRollback - before.xactRollback;
  return {
    ...config,
    round,
    schema,
    seconds,
    cycles,
    cyclesPerSecond: cycles / seconds,
    cycleLatency: latency(cycleTimes),
    claimLatency: latency(all((r) => r.claimTimes)),
    completeLatency: latency(all((r) => r.completeTimes)),
    losses: results.reduce((sum, r) => sum + r.losses, 0),
    failed,
    failures: all((r) => r.failures)
      .slice(0, 20)
      .map(maskLocation),
    doubleWins: doubleWins(wins),
    problems: problems.slice(0, 20).map(maskLocation),
    commitsPerCycle: per(commits),
    rollbacksPerCycle: per(rollbacks),
    commitsCounted: statements ? 'COMMIT statements' : 'transactions',
    statementsPerCycle: statements ? per(statements.reduce((sum, s) => sum + s.calls, 0)) : null,
    pgCpuUsPerCycle: server.cpuAfter === null || server.before.cpuUs === null ? null : per(server.cpuAfter - server.before.cpuUs),
    pgStatementUsPerCycle: statementUs === undefined ? null : per(statementUs * 1000),
    topStatements:
      statements?.slice(0, 8).map((s) => ({ query: s.query.replace(/\s+/g, ' ').slice(0, 160), callsPerCycle: per(s.calls), usPerCycle: per(s.totalMs * 1000) })) ?? null,
    clientCpuUsPerCycle: per(results.reduce((sum, r) => sum + r.cpuUs, 0)),
    processSeconds: results.map((r) => r.seconds),
  };
}
