import { CliError, EXIT } from './exit.ts';
import { TIMING } from './farm.ts';
import { untilInterrupted } from './serve.ts';
import type { StateCounts } from '../view/summary.ts';

/** What a demo run ends with, whether its masters ran in this process or in their own. */
export interface DemoEnding {
  interrupted: boolean;
  ticksRun: number;
  seconds: number;
  simulated: string;
  /** Where the store is, as it may be shown. */
  store: string;
  run: { changes: number; buildsets: number; buildsetsComplete: number; expired: number; tookOver: number; victim: string };
  requests: StateCounts & { total: number };
  masters: { name: string; active: boolean; won: number; lost: number; tookOver: number; built: number; died: boolean }[];
  doubleWins: number;
  /** Keep serving the live view until Ctrl-C. */
  hold: boolean;
  viewUrl: string;
}

/** Prints the run's summary; fails it if a request was won twice or it was interrupted; else holds the view if asked. */
export async function endDemo(e: DemoEnding): Promise<void> {
  const { run: r, requests: q } = e;
  const lines = [
    '',
    `${e.interrupted ? `interrupted at tick ${e.ticksRun} of ${TIMING.ticks}` : 'done'} in ${e.seconds.toFixed(1)} s, ${e.simulated} simulated; store ${e.store}`,
    `this run: ${r.changes} changes, ${r.buildsets} buildsets (${r.buildsetsComplete} completed), ${r.expired} claim(s) expired, ${r.tookOver} taken over from ${r.victim}`,
    `the store: ${q.total} build requests, ${q.complete} complete, ${q.claimed} claimed, ${q.unclaimed} unclaimed`,
    ...e.masters.map(
      (m) => `  ${m.name}  ${m.active ? 'active  ' : 'inactive'}  claim races won ${m.won}, lost ${m.lost}; took over ${m.tookOver}, built ${m.built}${m.died ? ' (died)' : ''}`,
    ),
    `requests won twice: ${e.doubleWins}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  if (e.doubleWins > 0) throw new CliError(`${e.doubleWins} request(s) were won by two masters at once`, EXIT.failed);
  if (e.interrupted) throw new CliError('interrupted', EXIT.interrupted);
  if (e.hold) {
    const stopped = untilInterrupted(); // listening before saying so: a Ctrl-C right after the line ends it cleanly
    process.stdout.write(`serving the live view at ${e.viewUrl} until Ctrl-C\n`);
    await stopped;
  }
}
