import { resolve } from 'node:path';
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import type { InspectionEvent, Observer } from 'xstate';
import { openCoordinator } from '../coordinator.ts';
import type { Coordinator } from '../coordinator.ts';
import { isSharedLocation, LOCATION_FORMS } from '../persistence/stores.ts';
import { createLiveFeed, fanOut } from '../view/feed.ts';
import { DEFAULT_HOST } from '../view/hosts.ts';
import { startInspectorServer } from '../view/inspector.ts';
import { startLiveView } from '../view/server.ts';
import type { LiveView } from '../view/server.ts';
import { parseHost, parsePort, parseSeconds, wholeNumber } from './args.ts';
import { Farm, SimulatedClock, TIMING, seededRandom } from './farm.ts';
import type { SimMaster } from './farm.ts';
import { checkHost, listenError, listeningOn } from './serve.ts';
import { endDemo } from './demoEnd.ts';
import { countStates } from '../view/summary.ts';
import { storeError } from './store.ts';
import { CHANGE_SOURCE } from './demoMaster.ts';
import { runSharedDemo } from './demoShared.ts';

export interface DemoOptions {
  location: string;
  duration: number;
  port: number;
  /** Where the live view and the inspector server listen. */
  host: string;
  inspect?: boolean;
  inspectPort: number;
  hold?: boolean;
  seed: number;
}

export const MASTER_NAMES = ['master-a', 'master-b', 'master-c'];

/** What the progress display shows of a master. */
export interface MasterStatus {
  name: string;
  alive: boolean;
  running: { readonly size: number };
  won: number;
  lost: number;
  tookOver: number;
  built: number;
}

/**
 * The Stately inspector: a local server for its page (ours, on `host`:
 * @statelyai/inspect's own listens on every interface), and a WebSocket
 * inspector that reports to it. Other processes report to `wsUrl`.
 */
export async function startStatelyInspector(host: string, port: number): Promise<{ inspect: Observer<InspectionEvent>; wsUrl: string; url: string; stop(): Promise<void> }> {
  const server = await startInspectorServer({ host, port }).catch((error: unknown) => {
    throw listenError(error, { host, port, option: '--inspect-port' });
  });
  const { createWebSocketInspector } = await import('@statelyai/inspect');
  // Connects on the first event: a process that reports nothing itself (the demo on a shared store) opens nothing.
  let inspector: ReturnType<typeof createWebSocketInspector> | null = null;
  return {
    inspect: {
      next: (event) => (inspector ??= createWebSocketInspector({ url: server.wsUrl })).inspect.next?.(event),
    },
    wsUrl: server.wsUrl,
    url: server.url,
    async stop() {
      inspector?.stop();
      await server.close();
    },
  };
}

/** Progress on stderr when it is a terminal: a bar for the requests, a line per master. */
export function progressDisplay(masters: readonly MasterStatus[]) {
  if (!process.stderr.isTTY) return null;
  const bars = new cliProgress.MultiBar(
    {
      hideCursor: true,
      clearOnComplete: false,
      stopOnComplete: false,
      forceRedraw: true,
      barsize: 20,
      format: ' requests {bar} {value}/{total} done, {claimed} claimed, {unclaimed} queued  sim {sim}',
    },
    cliProgress.Presets.shades_classic,
  );
  const overall = bars.create(1, 0, { claimed: 0, unclaimed: 0, sim: '' });
  const lines = masters.map((m) =>
    bars.create(1, 0, { name: m.name }, { format: ' {name} {status} building {running}, built {built}, won {won}, lost {lost}, took over {tookOver}' }),
  );
  return {
    log: (text: string) => bars.log(`${text}\n`),
    update(counts: { total: number; complete: number; claimed: number; unclaimed: number }, sim: string) {
      overall.setTotal(Math.max(1, counts.total));
      overall.update(counts.complete, { claimed: counts.claimed, unclaimed: counts.unclaimed, sim });
      for (const [i, m] of masters.entries()) {
        lines[i]!.update(0, { name: m.name, status: m.alive ? 'alive' : 'DEAD ', running: m.running.size, built: m.built, won: m.won, lost: m.lost, tookOver: m.tookOver });
      }
    },
    stop: () => bars.stop(),
  };
}

/**
 * The demo: a simulated build farm of three masters on the embedded LevelDB
 * store, in this process, watched live; on a PostgreSQL URL, each master in
 * a process of its own (runSharedDemo). Returns when the run (and `--hold`)
 * is over.
 */
export async function runDemo(options: DemoOptions): Promise<void> {
  if (isSharedLocation(options.location)) return runSharedDemo(options);
  const clock = new SimulatedClock(Date.now());
  let simStart = 0;
  /** Simulated time since the run began, h:mm:ss. */
  const simTime = () => new Date(clock.now().getTime() - simStart).toISOString().slice(12, 19);
  const feed = createLiveFeed({ now: clock.now, keep: 300 });
  // A --host this machine cannot listen on fails here, before the store is touched.
  await checkHost(options.host);
  const stately = options.inspect ? await startStatelyInspector(options.host, options.inspectPort) : null;
  let coordinator: Coordinator;
  try {
    coordinator = await openCoordinator({ location: options.location, now: clock.now, inspect: fanOut(feed.inspect, stately?.inspect) });
  } catch (error) {
    await stately?.stop();
    throw storeError(options.location, error);
  }
  let view: LiveView | null = null;
  let display: ReturnType<typeof progressDisplay> = null;
  let interrupted = false;
  let removeInterrupt = () => {};
  const say = (text: string) => (display ? display.log(text) : process.stdout.write(`${text}\n`));
  try {
    const dbs = [];
    for (const name of MASTER_NAMES) dbs.push(await coordinator.connect(name));
    const [first] = dbs;

    // A store from an earlier run may be ahead of the wall clock: simulated time never goes back.
    const requests = await first!.buildrequests.getBuildRequests();
    for (const m of await first!.masters.getMasters()) clock.catchUp(m.last_active);
    for (const br of requests) for (const t of [br.claimed_at, br.complete_at, br.submitted_at]) if (t) clock.catchUp(t);
    for (const db of dbs) await db.masters.setMasterState(db.masterid, true);
    simStart = clock.now().getTime();

    const masters: SimMaster[] = dbs.map((db, i) => ({ name: MASTER_NAMES[i]!, db, alive: true, running: new Map(), won: 0, lost: 0, tookOver: 0, built: 0, buildNumber: 0 }));
    const changesourceid = await first!.changesources.findChangeSourceId(CHANGE_SOURCE);
    let owner = (await first!.changesources.getChangeSource(changesourceid))!.masterid;
    if (owner === null) {
      await masters[2]!.db.changesources.setChangeSourceMaster(changesourceid, masters[2]!.db.masterid);
      owner = masters[2]!.db.masterid;
    }
    // The master that dies is the one running the change source, so both takeovers show.
    const victim = masters.find((m) => m.db.masterid === owner) ?? masters[2]!;
    const schedulerid = await first!.state.getObjectId('all-builders', 'SingleBranchScheduler');
    const farm = new Farm(masters, victim, changesourceid, schedulerid, clock, seededRandom(options.seed), say);
    feed.subscribe((t) => {
      if (t.kind === 'buildrequest' && t.from === 'claimed' && t.to === 'unclaimed') farm.released(t.id);
    });

    view = await startLiveView(first!, { host: options.host, port: options.port, feed, now: clock.now, title: 'buildcoord demo' }).catch((error: unknown) => {
      throw listenError(error, { host: options.host, port: options.port });
    });
    say(`buildcoord demo: 3 masters on the LevelDB store at ${resolve(options.location)}`);
    say(`live view: ${view.url}${listeningOn(options.host)}`);
    if (stately) say(`Stately inspector: ${stately.url}${listeningOn(options.host)} (the inspector page itself loads from stately.ai)`);
    const leftover = requests.filter((br) => br.claimed && !br.complete).length;
    if (leftover > 0) say(`${leftover} claim(s) left from an earlier run: nobody builds them, so they will expire`);
    say(`${victim.name} runs change source ${CHANGE_SOURCE} and will die at simulated ${TIMING.deathTick * TIMING.secondsPerTick} s`);

    display = progressDisplay(masters);
    // Ctrl-C ends the run early but cleanly: the summary, the cursor back, the store closed. A second one kills.
    const interrupt = () => void (interrupted = true);
    process.once('SIGINT', interrupt).once('SIGTERM', interrupt);
    removeInterrupt = () => process.off('SIGINT', interrupt).off('SIGTERM', interrupt);
    const started = performance.now();
    const tickMs = (options.duration * 1000) / TIMING.ticks;
    let nextReport = TIMING.ticks / 8;
    for (let tick = 1; tick <= TIMING.ticks && !interrupted; tick++) {
      await farm.step();
      const all = await first!.buildrequests.getBuildRequests();
      const counts = {
        total: all.length,
        complete: all.filter((br) => br.complete).length,
        claimed: all.filter((br) => br.claimed && !br.complete).length,
        unclaimed: all.filter((br) => !br.claimed && !br.complete).length,
      };
      if (display) display.update(counts, simTime());
      else if (tick >= nextReport) {
        say(`[sim ${simTime()}] ${counts.complete}/${counts.total} requests complete, ${counts.claimed} claimed, ${counts.unclaimed} unclaimed`);
        nextReport = tick + TIMING.ticks / 8;
      }
      // Pace the ticks over --duration; simulated time does not depend on it.
      const wait = started + tick * tickMs - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    display?.stop();
    display = null;
    removeInterrupt();

    const seconds = (performance.now() - started) / 1000;
    const all = await first!.buildrequests.getBuildRequests();
    const mastersNow = await first!.masters.getMasters();
    const c = farm.counts;
    await endDemo({
      interrupted,
      ticksRun: farm.tick,
      seconds,
      simulated: simTime(),
      store: resolve(options.location),
      run: { ...c, victim: victim.name },
      requests: { total: all.length, ...countStates(all) },
      masters: masters.map((m) => ({ ...m, active: mastersNow.find((r) => r.id === m.db.masterid)?.active === true, died: !m.alive })),
      doubleWins: c.doubleWins,
      hold: options.hold === true,
      viewUrl: view.url,
    });
  } finally {
    display?.stop();
    removeInterrupt();
    await view?.close();
    await coordinator.close();
    await stately?.stop();
  }
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('run a simulated build farm on the embedded LevelDB store (or a PostgreSQL one, a process per master), with the live view')
    .option('-d, --duration <seconds>', 'how long the run takes, in real seconds', parseSeconds, 20)
    .option('-l, --location <dir>', `the store: ${LOCATION_FORMS}; an earlier run there is continued`, './state')
    .option('-p, --port <n>', 'live view port (0: any free port)', parsePort, 0)
    .option('--host <host>', 'address the live view and the inspector server listen on (0.0.0.0: every interface)', parseHost, DEFAULT_HOST)
    .option('--inspect', "also report every actor to the Stately inspector (@statelyai/inspect's local server)")
    .option('--inspect-port <n>', 'port of the Stately inspector server', wholeNumber(1, 65_535), 8080)
    .option('--hold', 'keep serving the live view after the run, until Ctrl-C')
    .option('--seed <n>', 'random seed of the simulation', wholeNumber(0, 2 ** 32 - 1), 1)
    .addHelpText(
      'after',
      `
Three masters share one store. A change source, run by one master, yields
changes; a scheduler on the same master makes a buildset for several builders
per change; the masters race to claim requests, reclaim (heartbeat) the ones
they build, and complete them. Partway, the master running the change source
dies: its claims expire (after ${TIMING.claimExpirySeconds} simulated s) and are taken over, then it
is marked inactive and another master takes over the change source. Time is
simulated (${TIMING.secondsPerTick} s per tick, ${TIMING.ticks} ticks), so expiry needs no waiting.

The live view URL is printed at the start. With --inspect, the Stately
inspector server listens on --inspect-port and its page loads the inspector
UI from stately.ai, so that part needs internet; the live view does not.
Both listen on 127.0.0.1, this machine only; --host 0.0.0.0 (or one
interface's address) lets anyone who can reach that address watch. The store
directory is locked while the demo runs.

With --location postgresql://..., each master runs in an OS process of its
own, on its own coordinator, all on that store, as Buildbot's masters share
one database; the dying master's process is killed outright. This process
serves the live view of the whole store. The URL's password is never shown.`,
    )
    .action(async (options: DemoOptions) => {
      await runDemo(options);
    });
}
