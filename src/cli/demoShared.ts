/**
 * The demo on a shared (PostgreSQL) store: each master runs in an OS
 * process of its own (demoMaster.ts), on its own coordinator, all on the
 * same URL, as Buildbot's masters share one database. This process hosts no
 * master: it drives the ticks, kills the victim's process outright when its
 * time comes, audits the claims the masters report, and serves the live
 * view of the whole store (its transitions read from the store).
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { maskLocation } from '../persistence/stores.ts';
import type { SharedBackend } from '../persistence/shared/contract.ts';
import { createStoreFeed } from '../view/storeFeed.ts';
import type { StoreFeed } from '../view/storeFeed.ts';
import { startLiveView } from '../view/server.ts';
import type { LiveView } from '../view/server.ts';
import { MASTER_NAMES, progressDisplay, startStatelyInspector } from './demo.ts';
import type { DemoOptions, MasterStatus } from './demo.ts';
import { CHANGE_SOURCE } from './demoMaster.ts';
import type { FromMaster, Opened, SetUp, TickReport, ToMaster } from './demoMaster.ts';
import { CliError, EXIT } from './exit.ts';
import { QUIET, SimulatedClock, TIMING } from './farm.ts';
import type { FarmCounts } from './farm.ts';
import { checkHost, listenError, listeningOn } from './serve.ts';
import { endDemo } from './demoEnd.ts';
import { openReadOnly, sharedStore } from './store.ts';
import type { ReadOnlyStore } from './store.ts';

/** The master's process, as the demo forks it: from the sources (tsx) or the build alike. */
const MASTER_SCRIPT = fileURLToPath(new URL(`./demoMaster${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url));
/** How often the live view reads the store for transitions. */
const FEED_POLL_MS = 250;
/** How long a master's process has to end once told to stop (or terminated), before it is killed. */
const EXIT_GRACE_MS = 10_000;
/** A claim renewed this many ticks ago or fewer cannot have expired: its owner's janitor-free window. */
const EXPIRY_TICKS = TIMING.claimExpirySeconds / TIMING.secondsPerTick;

type Request = ToMaster extends infer T ? (T extends { id: number } ? Omit<T, 'id'> : never) : never;

/** One master's process, and what the demo knows of it. */
class MasterChild implements MasterStatus {
  alive = true;
  masterid = 0;
  running = new Set<number>();
  won = 0;
  lost = 0;
  tookOver = 0;
  built = 0;
  counts: FarmCounts | null = null;
  /** Set once this process is expected to end (stopped or killed by the demo). */
  ending = false;
  private readonly child: ChildProcess;
  private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  private nextId = 0;
  private stderr = '';
  readonly exited: Promise<void>;

  constructor(
    readonly name: string,
    say: (text: string) => void,
  ) {
    // stdout ignored: a master speaks through the channel ('say'); stderr kept for when it fails.
    this.child = fork(MASTER_SCRIPT, [], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'], env: { ...process.env, FORCE_COLOR: '0' } });
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr = (this.stderr + chunk).slice(-4_000);
    });
    this.child.on('message', (message: FromMaster) => {
      if ('type' in message) return say(message.text);
      const waiter = this.pending.get(message.id);
      this.pending.delete(message.id);
      if (message.ok) waiter?.resolve(message.result);
      else waiter?.reject(new CliError(`${this.name}: ${message.message}`, EXIT.failed));
    });
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.alive = false;
        const why = this.ending
          ? `${this.name}'s process has ended`
          : `${this.name}'s process (pid ${this.child.pid}) ended unexpectedly (${signal ?? `exit code ${code}`})${this.stderr.trim() ? `:\n${maskLocation(this.stderr.trim())}` : ''}`;
        for (const waiter of this.pending.values()) waiter.reject(new CliError(why, EXIT.failed));
        this.pending.clear();
        resolve();
      });
    });
    this.child.once('error', () => {}); // a failed fork also ends in 'exit'
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  call<T>(request: Request): Promise<T> {
    if (!this.alive) return Promise.reject(new CliError(`${this.name}'s process has ended`, EXIT.failed));
    const id = ++this.nextId;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.child.send({ ...request, id } satisfies ToMaster, (error) => {
        if (error && this.pending.delete(id)) reject(new CliError(`${this.name}: cannot reach its process: ${error.message}`, EXIT.failed));
      });
    });
  }

  /** Kills the process at once, as a machine dies: nothing is closed, nothing tells the store. */
  async kill(): Promise<void> {
    this.ending = true;
    this.child.kill('SIGKILL');
    await this.exited;
  }

  /** Asks the process to close its coordinator and end; kills it if it does not within the grace time. */
  async stop(): Promise<void> {
    if (!this.alive) return;
    this.ending = true;
    const stopped = this.call<FarmCounts | null>({ type: 'stop' }).then(
      (counts) => void (this.counts = counts ?? this.counts),
      () => {},
    );
    await this.endWithin(stopped);
  }

  /** Ends a process whose demo failed: SIGTERM, then SIGKILL after the grace time. */
  async terminate(): Promise<void> {
    if (!this.alive) return;
    this.ending = true;
    this.child.kill('SIGTERM');
    await this.endWithin(Promise.resolve());
  }

  private async endWithin(first: Promise<void>): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), EXIT_GRACE_MS)));
    const outcome = await Promise.race([first.then(() => this.exited).then(() => 'ended' as const), late]);
    clearTimeout(timer);
    if (outcome === 'late') {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }
}

/**
 * Who holds which claim, as the masters report them, to catch a request
 * won by two masters at once across processes. A win of a request another
 * live master holds is a double win unless that claim may have expired:
 * renewed more than the expiry ago (a janitor run in between may release
 * it). A dead master's claims are orphaned: winning one is a takeover.
 */
class ClaimAudit {
  private readonly holder = new Map<number, { master: MasterChild; renewed: number }>();
  private readonly orphaned = new Set<number>();
  doubleWins = 0;
  tookOver = 0;

  report(tick: number, reports: [MasterChild, TickReport][]): void {
    // Wins first, one by one, so that two wins of one request in the same tick are caught too.
    for (const [master, report] of reports) {
      for (const brid of report.won) {
        const held = this.holder.get(brid);
        if (held && held.master !== master && held.master.alive && tick - held.renewed <= EXPIRY_TICKS) this.doubleWins++;
        if (this.orphaned.delete(brid)) {
          master.tookOver++;
          this.tookOver++;
        }
        this.holder.set(brid, { master, renewed: tick });
      }
    }
    for (const [master, report] of reports) {
      const held = new Set(report.held);
      for (const [brid, claim] of this.holder) {
        if (claim.master !== master) continue;
        if (!held.has(brid))
          this.holder.delete(brid); // built, or found lost at a heartbeat
        else if (tick % TIMING.heartbeatTicks === 0) claim.renewed = tick; // reclaimed this tick
      }
      master.running = held;
      master.built = report.built;
      master.won = report.wonRaces;
      master.lost = report.lostRaces;
      master.counts = report.counts;
    }
  }

  /** A master died: its claims stay in the store until they expire, and whoever wins one takes it over. */
  died(master: MasterChild): number {
    let count = 0;
    for (const [brid, claim] of this.holder) {
      if (claim.master !== master) continue;
      this.holder.delete(brid);
      this.orphaned.add(brid);
      count++;
    }
    master.running = new Set();
    return count;
  }
}

/** Counts of the store's build requests, from one snapshot. */
async function requestCounts(store: ReadOnlyStore) {
  const all = await store.read((connectors) => connectors().buildrequests.getBuildRequests());
  return {
    total: all.length,
    complete: all.filter((br) => br.complete).length,
    claimed: all.filter((br) => br.claimed && !br.complete).length,
    unclaimed: all.filter((br) => !br.claimed && !br.complete).length,
  };
}

/**
 * The demo with every master in a process of its own, on the PostgreSQL
 * store at `options.location`. Returns when the run (and `--hold`) is over.
 */
export async function runSharedDemo(options: DemoOptions): Promise<void> {
  const shown = maskLocation(options.location);
  const clock = new SimulatedClock(Date.now());
  let simStart = 0;
  const simTime = () => new Date(clock.now().getTime() - simStart).toISOString().slice(12, 19);
  await checkHost(options.host);
  const stately = options.inspect ? await startStatelyInspector(options.host, options.inspectPort) : null;
  let store: ReadOnlyStore | null = null;
  const masters: MasterChild[] = [];
  let feed: StoreFeed | null = null;
  let view: LiveView | null = null;
  let display: ReturnType<typeof progressDisplay> = null;
  let interrupted = false;
  let removeInterrupt = () => {};
  const say = (text: string) => (display ? display.log(text) : process.stdout.write(`${text}\n`));
  try {
    // The parent reads only; opening makes the store's schema on a first run.
    store = await openReadOnly(options.location, { create: true });
    const shared = sharedStore(store) as SharedBackend;

    for (const name of MASTER_NAMES) masters.push(new MasterChild(name, say));
    const opened = await Promise.all(
      masters.map((m, i) => m.call<Opened>({ type: 'open', location: options.location, name: m.name, seed: options.seed + i, ...(stately ? { inspectUrl: stately.wsUrl } : {}) })),
    );
    for (const [i, { masterid }] of opened.entries()) masters[i]!.masterid = masterid;
    // The change source and the scheduler: found (or made) by one master after another.
    let setUp: SetUp | null = null;
    for (const m of masters) setUp = await m.call<SetUp>({ type: 'setup' });
    const { changesourceid, schedulerid } = setUp!;

    // A store from an earlier run may be ahead of the wall clock: simulated time never goes back.
    const before = await store.read(async (connectors) => {
      const db = connectors();
      return {
        requests: await db.buildrequests.getBuildRequests(),
        masters: await db.masters.getMasters(),
        source: await db.changesources.getChangeSource(changesourceid),
      };
    });
    for (const m of before.masters) clock.catchUp(m.last_active);
    for (const br of before.requests) for (const t of [br.claimed_at, br.complete_at, br.submitted_at]) if (t) clock.catchUp(t);
    simStart = clock.now().getTime();
    let owner = before.source?.masterid ?? null;
    if (owner === null) {
      await masters[2]!.call({ type: 'takeSource', changesourceid });
      owner = masters[2]!.masterid;
    }
    // The master that dies is the one running the change source, so both takeovers show.
    const victim = masters.find((m) => m.masterid === owner) ?? masters[2]!;
    await Promise.all(masters.map((m) => m.call({ type: 'start', simStart, changesourceid, schedulerid })));

    feed = createStoreFeed(shared, { now: clock.now, keep: 300, intervalMs: FEED_POLL_MS });
    const reading = store;
    view = await startLiveView(store.connector(), {
      host: options.host,
      port: options.port,
      feed,
      reads: (read) => reading.read((connectors) => read(connectors())),
      now: clock.now,
      title: 'buildcoord demo',
    }).catch((error: unknown) => {
      throw listenError(error, { host: options.host, port: options.port });
    });
    say(`buildcoord demo: 3 masters, each in a process of its own (pids ${masters.map((m) => m.pid).join(', ')}), on the PostgreSQL store at ${shown}`);
    say(`live view: ${view.url}${listeningOn(options.host)}`);
    if (stately) say(`Stately inspector: ${stately.url}${listeningOn(options.host)} (the inspector page itself loads from stately.ai)`);
    const leftover = before.requests.filter((br) => br.claimed && !br.complete).length;
    if (leftover > 0) say(`${leftover} claim(s) left from an earlier run: nobody builds them, so they will expire`);
    say(`${victim.name} runs change source ${CHANGE_SOURCE}; its process will be killed at simulated ${TIMING.deathTick * TIMING.secondsPerTick} s`);

    display = progressDisplay(masters);
    const interrupt = () => void (interrupted = true);
    process.once('SIGINT', interrupt).once('SIGTERM', interrupt);
    removeInterrupt = () => process.off('SIGINT', interrupt).off('SIGTERM', interrupt);
    const audit = new ClaimAudit();
    const started = performance.now();
    const tickMs = (options.duration * 1000) / TIMING.ticks;
    let nextReport = TIMING.ticks / 8;
    let tick = 0;
    for (tick = 1; tick <= TIMING.ticks && !interrupted; tick++) {
      clock.advance(TIMING.secondsPerTick);
      if (tick === TIMING.deathTick) {
        const held = audit.died(victim);
        await victim.kill();
        say(
          `${victim.name} dies holding ${held} claim(s): its process is killed, nothing tells the store, so they stay claimed until they expire (${TIMING.claimExpirySeconds} s)`,
        );
      }
      if (tick === TIMING.lastChangeTick) say(QUIET);
      const live = masters.filter((m) => m.alive);
      const reports = await Promise.all(live.map((m, i) => m.call<TickReport>({ type: 'tick', tick, janitor: i === 0 })));
      audit.report(
        tick,
        live.map((m, i) => [m, reports[i]!]),
      );
      if (display || tick >= nextReport) {
        const counts = await requestCounts(store);
        if (display) display.update(counts, simTime());
        else {
          say(`[sim ${simTime()}] ${counts.complete}/${counts.total} requests complete, ${counts.claimed} claimed, ${counts.unclaimed} unclaimed`);
          nextReport = tick + TIMING.ticks / 8;
        }
      }
      const wait = started + tick * tickMs - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    const ticksRun = tick - 1;
    display?.stop();
    display = null;
    removeInterrupt();
    await Promise.all(masters.map((m) => m.stop()));
    await feed.poll().catch(() => {}); // the last steps, for the page

    const seconds = (performance.now() - started) / 1000;
    const counts = await requestCounts(store);
    const mastersNow = await store.read((connectors) => connectors().masters.getMasters());
    const sum = (key: keyof FarmCounts) => masters.reduce((total, m) => total + (m.counts?.[key] ?? 0), 0);
    await endDemo({
      interrupted,
      ticksRun,
      seconds,
      simulated: simTime(),
      store: shown,
      run: {
        changes: sum('changes'),
        buildsets: sum('buildsets'),
        buildsetsComplete: sum('buildsetsComplete'),
        expired: sum('expired'),
        tookOver: audit.tookOver,
        victim: victim.name,
      },
      requests: counts,
      masters: masters.map((m) => ({
        ...m,
        active: mastersNow.find((r) => r.id === m.masterid)?.active === true,
        died: m === victim && ticksRun >= TIMING.deathTick,
      })),
      doubleWins: audit.doubleWins,
      hold: options.hold === true,
      viewUrl: view.url,
    });
  } finally {
    display?.stop();
    removeInterrupt();
    await Promise.all(masters.map((m) => m.terminate()));
    await view?.close();
    await feed?.close();
    await store?.close();
    await stately?.stop();
  }
}
