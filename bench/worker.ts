/**
 * One run in its own process, so its peak RSS is its own and nothing an
 * earlier run left (heap, caches, open stores) is measured: a seed (a
 * LevelDB store of N requests for the scale scenario, made once per size)
 * or a sample (setup, warm-up, the timed phases, the checks against the
 * store, the raw replay). The parent sends one task and gets one message back.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { batchStats, openRaw, RecordingBackend, replay } from './baselines/rawLevel.ts';
import { SqliteClaims, sqliteTarget } from './baselines/sqlite.ts';
import type { Job } from './plan.ts';
import { profiler } from './profile.ts';
import { runScenario } from './scenarios.ts';
import { audit, doubleWins, latency } from './stats.ts';
import type { Latency } from './stats.ts';
import { masterName, openBuildcoord } from './targets.ts';
import type { BuildcoordApi, Target } from './targets.ts';
import { bytesOnDisk, copyStore, seedThrough } from './workload.ts';

export type Task =
  | { kind: 'seed'; api: string; dir: string; requests: number; builders: number; masters: number }
  | { kind: 'sample'; api: string; job: Job; seedDir: string | null; workDir: string; masters: number; builders: number; profile: string | null };

export type Reply = { kind: 'progress'; done: number; of: number } | { kind: 'done'; result: Sample | null } | { kind: 'failed'; error: string };

/**
 * The figures a sample and a report row both carry. A sample's are its own
 * run's; a row's are taken over its samples, as summarize (report.ts) says.
 */
export interface Figures {
  /** Requests won per second (for claim, every call wins). */
  claimedPerSecond: number;
  /** Claim calls, won or lost, per second. */
  claimCallsPerSecond: number;
  completesPerSecond: number;
  /** Latencies per call, in ms. */
  claimLatency: Latency;
  completeLatency: Latency;
  pollLatency: Latency | null;
  pollCalls: number;
  wins: number;
  losses: number;
  /** Requests won twice. */
  doubleWins: number[];
  /** What the store says against what the claimers saw; empty when they agree. */
  problems: string[];
  liveActorsPeak: number;
  /** Where each timed phase's wall time went: in all, with a store write in flight, and what raw classic-level took for the same batches. */
  phases: Record<'claim' | 'complete', PhaseTimes>;
}

/** The same batches on raw classic-level: claims and completes per second, and its per-write latency in the claim phase. */
export interface RawFigures {
  claimedPerSecond: number;
  completesPerSecond: number;
  claimWrite: Latency;
}

export interface Sample extends Figures {
  /** The process's peak resident set (getrusage maxrss), setup included. */
  peakRss: number;
  /** The largest heapUsed seen during the timed phases (sampled every 20 ms and at their ends). */
  peakHeap: number;
  storeBytes: number;
  /** The coordinator's store writes in the timed phases. */
  writes: { claim: ReturnType<typeof batchStats>; complete: ReturnType<typeof batchStats> } | null;
  raw: RawFigures | null;
}

export interface PhaseTimes {
  seconds: number;
  storeWriteSeconds: number | null;
  rawWriteSeconds: number | null;
}

const SQLITE_FILE = 'state.sqlite';

/** The built package (the parent's snapshot of dist/): what users run. Typed as the source it is built from. */
async function builtPackage(url: string): Promise<BuildcoordApi> {
  return (await import(url)) as BuildcoordApi;
}

const range = (first: number, count: number) => Array.from({ length: count }, (_, i) => first + i);

async function seed(task: Extract<Task, { kind: 'seed' }>, progress: (done: number) => void): Promise<void> {
  const api = await builtPackage(task.api);
  const coordinator = await api.openCoordinator({ location: task.dir, durability: 'buffered' });
  const dbs = [];
  for (let m = 0; m < task.masters; m++) dbs.push(await coordinator.connect(masterName(m)));
  await seedThrough(dbs[0]!, task.requests, task.builders, progress);
  await coordinator.close();
}

/** Peak heap and live actors while the timed phases run. */
function watch(target: Target) {
  let heap = 0;
  let live = 0;
  const sample = () => {
    heap = Math.max(heap, process.memoryUsage().heapUsed);
    live = Math.max(live, target.liveActors());
  };
  sample();
  const timer = setInterval(sample, 20);
  return () => {
    clearInterval(timer);
    sample();
    return { heap, live };
  };
}

async function sample(task: Extract<Task, { kind: 'sample' }>): Promise<Sample> {
  const { job, masters, builders } = task;
  const store = join(task.workDir, 'store');
  // Sweep runs add their requests here, as a scheduler beside the masters does, so they start live;
  // scale runs open a store another process filled, as a master restarting with a backlog does.
  const seeded = task.seedDir !== null;
  let target: Target;
  let recorder: RecordingBackend | null = null;
  if (job.target === 'sqlite') {
    mkdirSync(store, { recursive: true });
    const claims = new SqliteClaims(join(store, SQLITE_FILE), job.durability === 'sync' ? 'FULL' : 'NORMAL');
    claims.addRequests(job.storeSize, builders);
    target = sqliteTarget(claims);
  } else {
    const api = await builtPackage(task.api);
    if (seeded) copyStore(task.seedDir!, store);
    recorder = new RecordingBackend(job.target === 'memory' ? api.memoryBackend() : api.levelDBBackend(store));
    recorder.phase = 'setup';
    const opened = await openBuildcoord(api, recorder, { durability: job.durability, masters });
    if (!seeded) await seedThrough(opened.dbs[0]!, job.storeSize, builders);
    target = opened.target;
  }

  // Warm-up on requests of its own, at the same concurrency; then a collection, so the timed phases start clean.
  if (recorder) recorder.phase = 'warmup';
  await runScenario(target, 'claim', job.concurrency, { brids: range(1, job.warmup), masters, builders });
  (globalThis as { gc?: () => void }).gc?.();

  const brids = range(job.warmup + 1, job.requests);
  const stopProfile = await profiler(task.profile); // the timed phases only, not setup or warm-up
  const stop = watch(target);
  const result = await runScenario(
    target,
    job.scenario,
    job.concurrency,
    { brids, masters, builders },
    {
      phase: (name) => {
        if (recorder) recorder.phase = name;
      },
    },
  );
  if (recorder) recorder.phase = null;
  const memory = stop();
  await stopProfile();
  const peakRss = process.resourceUsage().maxRSS * 1024;

  const holdings = [];
  for (let m = 0; m < masters; m++) holdings.push(await target.claimedBy(m));
  const problems = audit(brids, result.wins, holdings);
  await target.close();
  const storeBytes = job.target === 'memory' ? 0 : bytesOnDisk(store);

  let writes: Sample['writes'] = null;
  let raw: Sample['raw'] = null;
  const phases: Sample['phases'] = {
    claim: { seconds: result.claimSeconds, storeWriteSeconds: recorder?.writeSeconds.get('claim') ?? null, rawWriteSeconds: null },
    complete: { seconds: result.completeSeconds, storeWriteSeconds: recorder?.writeSeconds.get('complete') ?? null, rawWriteSeconds: null },
  };
  if (recorder) {
    const batches = (phase: string) => recorder.batches(phase);
    writes = { claim: batchStats(batches('claim')), complete: batchStats(batches('complete')) };
    if (job.replayRaw) {
      // The same starting bytes: the seed's copy, or an empty store given the setup's own batches.
      const rawStore = join(task.workDir, 'raw');
      if (seeded) copyStore(task.seedDir!, rawStore);
      const db = await openRaw(rawStore);
      const sync = job.durability === 'sync';
      await replay(db, batches('setup'), false);
      await replay(db, batches('warmup'), sync);
      const claimWrites: number[] = [];
      const claimSeconds = await replay(db, batches('claim'), sync, claimWrites);
      const completeSeconds = await replay(db, batches('complete'), sync);
      await db.close();
      raw = { claimedPerSecond: result.wins.length / claimSeconds, completesPerSecond: result.completeCalls / completeSeconds, claimWrite: latency(claimWrites) };
      phases.claim.rawWriteSeconds = claimSeconds;
      phases.complete.rawWriteSeconds = completeSeconds;
    }
  }
  return {
    claimedPerSecond: result.wins.length / result.claimSeconds,
    claimCallsPerSecond: result.claimCalls / result.claimSeconds,
    completesPerSecond: result.completeCalls / result.completeSeconds,
    claimLatency: result.claimLatency,
    completeLatency: result.completeLatency,
    pollLatency: result.pollLatency,
    pollCalls: result.pollCalls,
    wins: result.wins.length,
    losses: result.losses,
    doubleWins: doubleWins(result.wins),
    problems,
    peakRss,
    peakHeap: memory.heap,
    liveActorsPeak: memory.live,
    storeBytes,
    writes,
    raw,
    phases,
  };
}

const send = (reply: Reply) => new Promise<void>((resolve) => process.send!(reply, () => resolve()));

process.once('message', async (task: Task) => {
  try {
    if (task.kind === 'seed') {
      await seed(task, (done) => void send({ kind: 'progress', done, of: task.requests }));
      await send({ kind: 'done', result: null });
    } else {
      const result = await sample(task);
      rmSync(task.workDir, { recursive: true, force: true });
      await send({ kind: 'done', result });
    }
    process.exit(0);
  } catch (error) {
    await send({ kind: 'failed', error: (error as Error)?.stack ?? String(error) });
    process.exit(1);
  }
});
