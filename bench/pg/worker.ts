/**
 * One process of the shared-store scenario (pg/run.ts is the parent), in a
 * conversation: open the side as this process's masters and warm up
 * ('ready'), run the timed cycles when told ('go' -> 'done'), buildcoord
 * then runs the same cycles on the in-memory store ('floor' -> 'floor'),
 * close when told ('close' -> 'closed'), so every process of a sample starts
 * its timed cycles at once and the parent can read the server between the
 * steps.
 */
import { profiler } from '../profile.ts';
import type { BuildcoordApi } from '../targets.ts';
import { runCycles } from './cycles.ts';
import type { CycleResult } from './cycles.ts';
import { describeError, open, seed } from './sides.ts';
import type { PgSide } from './sides.ts';

export interface PgTask {
  kind: 'run';
  side: PgSide;
  /** The URL of the build's api.js. */
  api: string;
  /** The server, with the sample's schema. */
  url: string;
  /** This process hosts masters firstMaster..firstMaster + masters - 1 of allMasters. */
  firstMaster: number;
  masters: number;
  allMasters: number;
  /** Cycles in flight in this process; slot s is master firstMaster + s % masters. */
  slots: number;
  /** Buildbot: this process's pool size. */
  connections: number;
  /** Builders the requests are spread over (the floor's own seed). */
  builders: number;
  warmup: number[];
  timed: number[];
  /** Where to write a CPU profile of the timed cycles, or null. */
  profile: string | null;
}

/** Parent to a run worker: after 'ready', go; after 'done', floor (buildcoord) or close. */
export type PgCommand = { kind: 'go' } | { kind: 'floor' } | { kind: 'close' };

export interface PgRunResult extends CycleResult {
  /** This process's CPU (user + system) over the timed cycles, microseconds. */
  cpuUs: number;
}

export type PgReply = { kind: 'ready' } | { kind: 'done'; result: PgRunResult } | { kind: 'floor'; cpuUsPerCycle: number } | { kind: 'closed' } | { kind: 'failed'; error: string };

const send = (reply: PgReply) => new Promise<void>((resolve) => process.send!(reply, () => resolve()));
const next = () => new Promise<PgCommand>((resolve) => process.once('message', resolve));

async function run(task: PgTask, api: BuildcoordApi): Promise<void> {
  const side = await open(task.side, api, { url: task.url }, task);
  try {
    const cycles = { inFlight: task.slots, masterOf: (slot: number) => task.firstMaster + (slot % task.masters) };
    await runCycles(side, task.warmup, cycles, describeError);
    (globalThis as { gc?: () => void }).gc?.();
    await send({ kind: 'ready' });
    if ((await next()).kind !== 'go') throw new Error('expected go');
    const stopProfile = await profiler(task.profile);
    const cpu = process.cpuUsage();
    const result = await runCycles(side, task.timed, cycles, describeError);
    const used = process.cpuUsage(cpu);
    await stopProfile();
    await send({ kind: 'done', result: { ...result, cpuUs: used.user + used.system } });
    let command = await next();
    if (command.kind === 'floor') {
      await send({ kind: 'floor', cpuUsPerCycle: await floor(task, api) });
      command = await next();
    }
    if (command.kind !== 'close') throw new Error('expected close');
  } finally {
    await side.close();
  }
  await send({ kind: 'closed' });
}

/**
 * buildcoord's CPU per cycle for this process's cycles on the in-memory
 * store: what its masters cost with a store that costs nothing, and so a
 * floor under its CPU per cycle on any shared store (the shared path only
 * adds work: read sets, checks, the client). Same slots, masters and timed
 * cycles, after a warm-up of at least FLOOR_WARMUP: the in-memory path is
 * code of its own, and a floor measured cold would be too high, and the
 * ceiling drawn from it too low.
 */
/** Cycles the in-memory floor runs untimed first, whatever the scenario's warm-up (it takes well under a second). */
const FLOOR_WARMUP = 2_000;

async function floor(task: PgTask, api: BuildcoordApi): Promise<number> {
  const backend = api.memoryBackend();
  const warmup = Math.max(task.warmup.length, FLOOR_WARMUP);
  const brids = await seed('buildcoord', api, { backend }, { requests: warmup + task.timed.length, builders: task.builders, masters: task.allMasters });
  const side = await open('buildcoord', api, { backend }, task);
  try {
    const cycles = { inFlight: task.slots, masterOf: (slot: number) => task.firstMaster + (slot % task.masters) };
    await runCycles(side, brids.slice(0, warmup), cycles, describeError);
    (globalThis as { gc?: () => void }).gc?.();
    const cpu = process.cpuUsage();
    const result = await runCycles(side, brids.slice(warmup), cycles, describeError);
    const used = process.cpuUsage(cpu);
    if (result.failed > 0) throw new Error(`the in-memory floor failed: ${result.failures[0]}`);
    return (used.user + used.system) / Math.max(1, result.cycleTimes.length);
  } finally {
    await side.close();
  }
}

process.once('message', async (task: PgTask) => {
  try {
    await run(task, (await import(task.api)) as BuildcoordApi);
    process.exit(0);
  } catch (error) {
    await send({ kind: 'failed', error: describeError(error) + (error instanceof Error && error.stack ? `\n${error.stack.split('\n').slice(1, 6).join('\n')}` : '') });
    process.exit(1);
  }
});
