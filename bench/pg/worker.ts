/**
 * One process of the shared-store scenario (pg/run.ts is the parent), in a
 * conversation: open the side as this process's masters and warm up
 * ('ready'), run the timed cycles when told ('go' -> 'done'), close when
 * told ('close' -> 'closed'), so every process of a sample starts its timed
 * cycles at once and the parent can read the server between the steps.
 */
import { profiler } from '../profile.ts';
import type { BuildcoordApi } from '../targets.ts';
import { runCycles } from './cycles.ts';
import type { CycleResult } from './cycles.ts';
import { describeError, open } from './sides.ts';
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
  warmup: number[];
  timed: number[];
  /** Where to write a CPU profile of the timed cycles, or null. */
  profile: string | null;
}

/** Parent to a run worker, after 'ready' and after 'done'. */
export type PgCommand = { kind: 'go' } | { kind: 'close' };

export interface PgRunResult extends CycleResult {
  /** This process's CPU (user + system) over the timed cycles, microseconds. */
  cpuUs: number;
}

export type PgReply = { kind: 'ready' } | { kind: 'done'; result: PgRunResult } | { kind: 'closed' } | { kind: 'failed'; error: string };

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
    if ((await next()).kind !== 'close') throw new Error('expected close');
  } finally {
    await side.close();
  }
  await send({ kind: 'closed' });
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
