/** The benchmark's options (flags and defaults) and the list of runs they make. */
import { parseArgs } from 'node:util';
import { isSharedLocation, maskLocation } from '../src/persistence/stores.ts';
import { SCENARIOS } from './scenarios.ts';
import type { Scenario } from './scenarios.ts';

export type Durability = 'sync' | 'buffered';
/** buildcoord on LevelDB, buildcoord on the in-memory backend, or the sqlite baseline. */
export type TargetKind = 'buildcoord' | 'memory' | 'sqlite';
export type Baseline = 'sqlite' | 'raw' | 'memory';

export interface Options {
  quick: boolean;
  scenarios: Scenario[];
  scale: boolean;
  durabilities: Durability[];
  concurrency: number[];
  baselines: Baseline[];
  /** Timed requests per run of claim and contended. */
  requests: number;
  /** Requests in the store for poll (every one is polled for). */
  pollRequests: number;
  /** Requests claimed and completed, untimed, before each timed phase. */
  warmup: number;
  /** Store sizes of the scale scenario, and the requests timed at each. */
  scales: number[];
  scaleRequests: number;
  scaleConcurrency: number;
  samples: number;
  masters: number;
  builders: number;
  /** Where the JSON and SVG go; null: docs/bench for a default full run, .bench otherwise. */
  out: string | null;
  profile: boolean;
  help: boolean;
  /** The PostgreSQL server of the pg scenario (--store, else BUILDCOORD_BENCH_PG), or null. May carry a password: show it masked. */
  store: string | null;
  /** Run the pg scenario (it was chosen, and there is a server). */
  pg: boolean;
  /** The pg scenario was left out of a run that would have had it, for want of a server: say so. */
  pgSkipped: boolean;
  /** Process counts of each side in the pg scenario. */
  pgProcesses: number[];
  /** Cycles in flight over all processes, timed and warm-up requests per sample, Buildbot's connections over all processes. */
  pgInFlight: number;
  pgRequests: number;
  pgWarmup: number;
  pgConnections: number;
}

/** Where the pg scenario's server comes from when --store is not given. */
export const PG_VARIABLE = 'BUILDCOORD_BENCH_PG';

export class UsageError extends Error {}

export const USAGE = `npm run bench -- [options]

  --quick                 a smoke run: small sizes, one sample, under a minute
  --scenario LIST         claim,contended,poll,scale,pg (default: all; pg only with a server)
  --durability LIST       sync,buffered (default: both)
  --concurrency LIST      claimers in flight over all masters (default 1,4,16,64,256; quick 64)
  --baseline LIST         sqlite,raw,memory, or none (default: all)
  --requests N            timed requests per claim/contended run (default 8000; quick 1000)
  --poll-requests N       requests polled for per poll run (default 2000; quick 500)
  --warmup N              requests claimed and completed untimed first (default 2000; quick 200)
  --scale LIST            store sizes for scale (default 10000,100000,1000000; quick 10000)
  --scale-requests N      timed requests at each store size (default 5000; quick 1000)
  --scale-concurrency N   claimers in flight for scale (default 64)
  --samples N             runs of each configuration, median reported (default 3; quick 1)
  --masters N             masters sharing the store (default 4; pg: per process)
  --builders N            builders the requests are spread over (default 16)
  --out DIR               where the JSON and SVG go (default docs/bench for a full default run, else .bench)
  --profile               write a CPU profile of every run's timed phases to DIR/profiles (.cpuprofile)
  --store URL             PostgreSQL server for the pg scenario (postgresql://user@host/db; default $${PG_VARIABLE}):
                          buildcoord's shared store against Buildbot's claim schema, claim+complete cycles;
                          each sample makes a schema of its own and drops it
  --pg-processes LIST     processes of each side in the pg scenario (default 1,4)
  --pg-in-flight N        cycles in flight over all processes (default 64)
  --pg-requests N         timed requests per pg sample, over all processes (default 8000; quick 400)
  --pg-warmup N           requests each process claims and completes untimed first (default 3000; quick 100)
  --pg-connections N      Buildbot's schema: connections over all its processes (default 16)
  --help`;

export function parseOptions(argv: readonly string[], env: Readonly<Record<string, string | undefined>> = process.env): Options {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      options: {
        quick: { type: 'boolean' },
        scenario: { type: 'string', multiple: true },
        durability: { type: 'string', multiple: true },
        concurrency: { type: 'string', multiple: true },
        baseline: { type: 'string', multiple: true },
        requests: { type: 'string' },
        'poll-requests': { type: 'string' },
        warmup: { type: 'string' },
        scale: { type: 'string', multiple: true },
        'scale-requests': { type: 'string' },
        'scale-concurrency': { type: 'string' },
        samples: { type: 'string' },
        masters: { type: 'string' },
        builders: { type: 'string' },
        out: { type: 'string' },
        profile: { type: 'boolean' },
        help: { type: 'boolean' },
        store: { type: 'string' },
        'pg-processes': { type: 'string', multiple: true },
        'pg-in-flight': { type: 'string' },
        'pg-requests': { type: 'string' },
        'pg-warmup': { type: 'string' },
        'pg-connections': { type: 'string' },
      },
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const quick = values.quick ?? false;
  const list = (given: string[] | undefined) =>
    given
      ?.flatMap((v) => v.split(','))
      .map((v) => v.trim())
      .filter((v) => v !== '');
  const count = (name: string, given: string | undefined, fallback: number, min = 1) => {
    if (given === undefined) return fallback;
    const n = Number(given.replace(/_/g, ''));
    if (!Number.isSafeInteger(n) || n < min) throw new UsageError(`--${name} must be an integer >= ${min}, not ${JSON.stringify(given)}`);
    return n;
  };
  const oneOf = <T extends string>(name: string, given: string[] | undefined, allowed: readonly T[], fallback: readonly T[]): T[] => {
    const chosen = list(given) ?? [...fallback];
    for (const v of chosen) if (!allowed.includes(v as T)) throw new UsageError(`--${name}: unknown ${JSON.stringify(v)} (one of ${allowed.join(', ')})`);
    return [...new Set(chosen)] as T[];
  };
  const numbers = (name: string, given: string[] | undefined, fallback: number[]) =>
    [...new Set((list(given) ?? fallback.map(String)).map((v) => count(name, v, 0)))].sort((a, b) => a - b);

  const scenarioNames = oneOf('scenario', values.scenario, [...SCENARIOS, 'scale', 'pg'], [...SCENARIOS, 'scale', 'pg']);
  const fromEnv = env[PG_VARIABLE]?.trim();
  const store = values.store ?? (fromEnv === undefined || fromEnv === '' ? null : fromEnv);
  if (store !== null && !isSharedLocation(store)) {
    // Not echoed: what is not a PostgreSQL URL cannot be masked as one.
    throw new UsageError(`${values.store !== undefined ? '--store' : PG_VARIABLE} must be a PostgreSQL URL (postgresql://user@host/db or postgres://...)`);
  }
  const pgChosen = scenarioNames.includes('pg');
  if (pgChosen && store === null && values.scenario !== undefined) throw new UsageError(`the pg scenario needs a server: --store URL or ${PG_VARIABLE}`);
  if (!pgChosen && values.store !== undefined) throw new UsageError('--store is for the pg scenario, which --scenario leaves out');
  const baselineNames = list(values.baseline)?.join(',') === 'none' ? [] : oneOf<Baseline>('baseline', values.baseline, ['sqlite', 'raw', 'memory'], ['sqlite', 'raw', 'memory']);
  const options: Options = {
    quick,
    scenarios: SCENARIOS.filter((s) => scenarioNames.includes(s)),
    scale: scenarioNames.includes('scale'),
    durabilities: oneOf<Durability>('durability', values.durability, ['sync', 'buffered'], ['sync', 'buffered']),
    concurrency: numbers('concurrency', values.concurrency, quick ? [64] : [1, 4, 16, 64, 256]),
    baselines: baselineNames,
    requests: count('requests', values.requests, quick ? 1_000 : 8_000),
    pollRequests: count('poll-requests', values['poll-requests'], quick ? 500 : 2_000),
    // 2,000: V8 is still optimizing the claim path after 1,000 (29 functions recompiled in the timed phase, 7 after 2,000);
    // and 2,000 + 8,000 timed fits the default bound of 10,000 live actors, so every timed request is live.
    warmup: count('warmup', values.warmup, quick ? 200 : 2_000, 0),
    scales: numbers('scale', values.scale, quick ? [10_000] : [10_000, 100_000, 1_000_000]),
    scaleRequests: count('scale-requests', values['scale-requests'], quick ? 1_000 : 5_000),
    scaleConcurrency: count('scale-concurrency', values['scale-concurrency'], 64),
    samples: count('samples', values.samples, quick ? 1 : 3),
    masters: count('masters', values.masters, 4),
    builders: count('builders', values.builders, 16),
    out: values.out ?? null,
    profile: values.profile ?? false,
    help: values.help ?? false,
    store,
    pg: pgChosen && store !== null,
    pgSkipped: pgChosen && store === null,
    pgProcesses: numbers('pg-processes', values['pg-processes'], [1, 4]),
    pgInFlight: count('pg-in-flight', values['pg-in-flight'], 64),
    pgRequests: count('pg-requests', values['pg-requests'], quick ? 400 : 8_000),
    pgWarmup: count('pg-warmup', values['pg-warmup'], quick ? 100 : 3_000, 0),
    pgConnections: count('pg-connections', values['pg-connections'], 16),
  };
  for (const p of options.pg ? options.pgProcesses : []) {
    if (p > options.pgInFlight) throw new UsageError(`--pg-processes ${p} is more than --pg-in-flight ${options.pgInFlight}: every process needs a claimer`);
  }
  for (const size of options.scale ? options.scales : []) {
    if (size < options.warmup + options.scaleRequests) {
      throw new UsageError(`--scale ${size} is smaller than --warmup plus --scale-requests (${options.warmup + options.scaleRequests})`);
    }
  }
  return options;
}

/** Whether the run is the published one: every default, full size, no profiler (a --store for the pg scenario aside). */
export function isDefaultFullRun(argv: readonly string[]): boolean {
  const rest = argv.filter((arg, i) => arg !== '--store' && !arg.startsWith('--store=') && argv[i - 1] !== '--store');
  return rest.length === 0;
}

/** The options as they may be shown or written: the server's password masked. */
export function shownOptions(o: Options): Options {
  return { ...o, store: o.store === null ? null : maskLocation(o.store) };
}

/** One configuration, run `samples` times. */
export interface Job {
  /** A stable name, e.g. "claim buildcoord sync x64". */
  key: string;
  group: 'sweep' | 'scale';
  scenario: Scenario;
  target: TargetKind;
  /** For sqlite: sync is synchronous=FULL, buffered is NORMAL. The in-memory target runs as sync. */
  durability: Durability;
  concurrency: number;
  /** Requests in the store at the start: ids 1..storeSize. */
  storeSize: number;
  /** Requests 1..warmup are claimed and completed untimed first. */
  warmup: number;
  /** Requests warmup+1..warmup+requests are the timed work. */
  requests: number;
  /** Replay the run's batches on raw classic-level (the storage ceiling). */
  replayRaw: boolean;
}

export function plan(o: Options): Job[] {
  const jobs: Job[] = [];
  const add = (job: Omit<Job, 'key'>) => {
    const label = job.target === 'memory' ? 'memory' : job.target === 'sqlite' ? `sqlite ${job.durability === 'sync' ? 'FULL' : 'NORMAL'}` : `buildcoord ${job.durability}`;
    const size = job.group === 'scale' ? ` in ${job.storeSize.toLocaleString('en')}` : '';
    jobs.push({ key: `${job.scenario}${job.group === 'scale' ? ' (scale)' : ''} ${label} x${job.concurrency}${size}`, ...job });
  };
  const replayRaw = o.baselines.includes('raw');
  for (const scenario of o.scenarios) {
    // Contention needs a claimer on every master.
    const levels = scenario === 'contended' ? o.concurrency.filter((c) => c >= o.masters) : o.concurrency;
    const requests = scenario === 'poll' ? o.pollRequests : o.requests;
    const shape = { group: 'sweep' as const, scenario, warmup: o.warmup, requests, storeSize: o.warmup + requests };
    for (const concurrency of levels) {
      for (const durability of o.durabilities) {
        add({ ...shape, target: 'buildcoord', durability, concurrency, replayRaw });
        if (o.baselines.includes('sqlite')) add({ ...shape, target: 'sqlite', durability, concurrency, replayRaw: false });
      }
      if (o.baselines.includes('memory')) add({ ...shape, target: 'memory', durability: 'sync', concurrency, replayRaw: false });
    }
  }
  if (o.scale) {
    const durability: Durability = o.durabilities.includes('sync') ? 'sync' : o.durabilities[0]!;
    for (const storeSize of o.scales) {
      const shape = { group: 'scale' as const, scenario: 'claim' as const, durability, concurrency: o.scaleConcurrency, storeSize, warmup: o.warmup, requests: o.scaleRequests };
      add({ ...shape, target: 'buildcoord', replayRaw });
      if (o.baselines.includes('sqlite')) add({ ...shape, target: 'sqlite', replayRaw: false });
    }
  }
  return jobs;
}
