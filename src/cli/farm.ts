import { AlreadyClaimedError, ChangeSourceAlreadyClaimedError, KeyError } from '../errors.ts';
import type { Connector } from '../connector/connector.ts';

/**
 * The demo's simulated build farm, one tick at a time on a simulated clock:
 * a change source polled by the master that owns it, a scheduler on the
 * same master turning each change into a buildset for several builders,
 * masters racing to claim requests, heartbeating (reclaiming) the ones they
 * build and completing them, and a janitor that expires stale claims and
 * marks silent masters inactive. One master dies partway; nothing tells the
 * store, so its claims are released only by expiry, and its change source
 * only once it is marked inactive.
 */

/** Time as the coordinator sees it; the demo advances it rather than waiting. */
export class SimulatedClock {
  constructor(private ms: number) {}
  readonly now = (): Date => new Date(this.ms);
  advance(seconds: number): void {
    this.ms += seconds * 1000;
  }
  /** Moves to `ms` (epoch ms) if it is later: the time a farm's other processes start from. */
  moveTo(ms: number): void {
    this.ms = Math.max(this.ms, ms);
  }
  /** Moves forward to `date` if it is later (a store from an earlier run may be ahead of the wall clock). */
  catchUp(date: Date): void {
    this.ms = Math.max(this.ms, date.getTime() + 1000);
  }
}

/** Every timing of the story, in ticks and simulated seconds. */
export const TIMING = {
  ticks: 200,
  secondsPerTick: 10,
  /** A claim not renewed for this long is released by the janitor (unclaimExpiredRequests). */
  claimExpirySeconds: 120,
  /** A master silent this long is marked inactive by the janitor. */
  masterTimeoutSeconds: 300,
  /** Masters reclaim their running requests and refresh last_active every this many ticks. */
  heartbeatTicks: 3,
  janitorTicks: 3,
  changeEveryTicks: 2,
  /** The victim dies at this tick, and no changes come after `lastChangeTick`. */
  deathTick: 70,
  lastChangeTick: 150,
  slotsPerMaster: 3,
  buildTicks: [2, 8] as const,
} as const;

/** Told when the change source goes quiet, at `TIMING.lastChangeTick`. */
export const QUIET = 'the change source goes quiet: no more changes, the masters drain the queue';

export const BUILDERS = ['linux', 'macos', 'windows', 'arm64', 'docs'];
const AUTHORS = ['ada', 'grace', 'linus', 'barbara', 'ken', 'margaret'];
const REPOSITORY = 'git://example.org/app.git';

export interface SimMaster {
  name: string;
  db: Connector;
  alive: boolean;
  /** Requests it is building: brid -> its build and the tick it ends. */
  running: Map<number, { bid: number; bsid: number; endsAt: number }>;
  won: number;
  lost: number;
  tookOver: number;
  built: number;
  buildNumber: number;
}

export interface FarmCounts {
  changes: number;
  buildsets: number;
  buildsetsComplete: number;
  /** Claims won on requests that another master had held before and did not release itself. */
  tookOver: number;
  expired: number;
  /** Claims won on a request some other master held with no release in between: must stay 0. */
  doubleWins: number;
}

/** A deterministic random source (mulberry32), so a seed replays the same farm. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class Farm {
  readonly counts: FarmCounts = { changes: 0, buildsets: 0, buildsetsComplete: 0, tookOver: 0, expired: 0, doubleWins: 0 };
  /** Who holds each claim, as the farm saw it won; cleared when released. */
  private readonly holder = new Map<number, string>();
  /** Claims of dead masters that the store has not released yet. */
  private readonly orphaned = new Set<number>();
  tick = 0;

  /**
   * `victim` dies at `TIMING.deathTick`; null for a farm that is one
   * master's part of a bigger one, in a process of its own (the demo on a
   * shared store), whose death comes from outside and whose story is told
   * by the process that runs them all.
   */
  constructor(
    readonly masters: SimMaster[],
    readonly victim: SimMaster | null,
    private readonly changesourceid: number,
    private readonly schedulerid: number,
    private readonly clock: SimulatedClock,
    private readonly random: () => number,
    private readonly story: (text: string) => void,
  ) {}

  /** The feed's word that a request was released without its holder asking (expiry, deactivation). */
  released(brid: number): void {
    this.holder.delete(brid);
  }

  /**
   * One tick: the clock moves, every live master works, concurrently, so
   * their claims race. The first live master runs the janitor, unless
   * `janitor` says whether this farm's does (one part of a bigger farm).
   */
  async step(options: { janitor?: boolean } = {}): Promise<void> {
    this.tick++;
    this.clock.advance(TIMING.secondsPerTick);
    if (this.victim !== null && this.tick === TIMING.deathTick) this.kill(this.victim);
    if (this.victim !== null && this.tick === TIMING.lastChangeTick) this.story(QUIET);
    const live = this.masters.filter((m) => m.alive);
    await Promise.all(live.map((m) => this.work(m, options.janitor ?? m === live[0])));
  }

  private kill(master: SimMaster): void {
    master.alive = false;
    for (const brid of master.running.keys()) this.orphaned.add(brid);
    this.story(`${master.name} dies holding ${master.running.size} claim(s); nothing tells the store, so they stay claimed until they expire (${TIMING.claimExpirySeconds} s)`);
    master.running.clear();
  }

  private async work(m: SimMaster, janitor: boolean): Promise<void> {
    const beat = this.tick % TIMING.heartbeatTicks === 0;
    if (beat) await m.db.masters.setMasterState(m.db.masterid, true); // refreshes last_active
    await this.finishBuilds(m);
    if (beat) await this.heartbeat(m);
    if (janitor && this.tick % TIMING.janitorTicks === 0) await this.janitor(m);
    await this.pollChangeSource(m);
    await this.claimWork(m);
  }

  private async finishBuilds(m: SimMaster): Promise<void> {
    for (const [brid, build] of m.running) {
      if (build.endsAt > this.tick) continue;
      m.running.delete(brid);
      const results = this.random() < 0.1 ? 2 : 0; // FAILURE or SUCCESS
      await m.db.builds.finishBuilds([build.bid]);
      await m.db.buildrequests.completeBuildRequests([brid], results);
      this.holder.delete(brid);
      m.built++;
      const set = await m.db.buildrequests.getBuildRequests({ bsid: build.bsid });
      if (set.every((br) => br.complete)) {
        try {
          await m.db.buildsets.completeBuildset(build.bsid, Math.max(...set.map((br) => br.results)));
          this.counts.buildsetsComplete++;
        } catch (error) {
          if (!(error instanceof KeyError)) throw error; // another master completed it first
        }
      }
    }
  }

  /** Renews this master's claims; one that was lost (expired and taken) is dropped. */
  private async heartbeat(m: SimMaster): Promise<void> {
    const brids = [...m.running.keys()];
    if (brids.length === 0) return;
    try {
      await m.db.buildrequests.reclaimBuildRequests(brids);
    } catch (error) {
      if (!(error instanceof AlreadyClaimedError)) throw error;
      for (const brid of brids) {
        await m.db.buildrequests.reclaimBuildRequests([brid]).catch((e: unknown) => {
          if (!(e instanceof AlreadyClaimedError)) throw e;
          m.running.delete(brid);
          this.story(`${m.name} lost its claim on request ${brid}`);
        });
      }
    }
  }

  private async janitor(m: SimMaster): Promise<void> {
    const expired = await m.db.buildrequests.unclaimExpiredRequests(TIMING.claimExpirySeconds);
    if (expired > 0) {
      this.counts.expired += expired;
      this.story(`${m.name}'s janitor: ${expired} claim(s) older than ${TIMING.claimExpirySeconds} s expired and are up for grabs`);
    }
    const silentSince = this.clock.now().getTime() - TIMING.masterTimeoutSeconds * 1000;
    for (const other of await m.db.masters.getMasters()) {
      if (!other.active || other.last_active.getTime() >= silentSince) continue;
      await m.db.masters.setMasterState(other.id, false);
      this.story(`${m.name}'s janitor: ${other.name} silent for over ${TIMING.masterTimeoutSeconds} s, marked inactive (its claims and change sources are released)`);
    }
  }

  /** The change source runs on one master; a live one takes it over once its owner is inactive. */
  private async pollChangeSource(m: SimMaster): Promise<void> {
    const source = await m.db.changesources.getChangeSource(this.changesourceid);
    if (source === null) return;
    if (source.masterid === null) {
      try {
        await m.db.changesources.setChangeSourceMaster(this.changesourceid, m.db.masterid);
        this.story(`${m.name} takes over change source ${source.name}`);
      } catch (error) {
        if (!(error instanceof ChangeSourceAlreadyClaimedError)) throw error;
        return; // another master was quicker
      }
    } else if (source.masterid !== m.db.masterid) {
      return;
    }
    if (this.tick >= TIMING.lastChangeTick || this.tick % TIMING.changeEveryTicks !== 0) return;
    await this.newChange(m);
  }

  /** A change, and the scheduler's buildset for it: one request per builder it touches. */
  private async newChange(m: SimMaster): Promise<void> {
    const author = AUTHORS[Math.floor(this.random() * AUTHORS.length)]!;
    const revision = Math.floor(this.random() * 2 ** 32)
      .toString(16)
      .padStart(8, '0');
    const changeid = await m.db.changes.addChange({
      author,
      files: ['src/main.c'],
      comments: `change from ${author}`,
      revision,
      branch: 'main',
      repository: REPOSITORY,
      project: 'app',
    });
    this.counts.changes++;
    await m.db.schedulers.classifyChanges(this.schedulerid, { [changeid]: true });
    const builders = BUILDERS.filter(() => this.random() < 0.6);
    if (builders.length === 0) builders.push(BUILDERS[0]!);
    const sss = await m.db.sourcestampsets.addSourceStampSet();
    await m.db.sourcestamps.addSourceStamp({ branch: 'main', revision, repository: REPOSITORY, project: 'app', sourcestampsetid: sss, changeids: [changeid] });
    await m.db.buildsets.addBuildset({ sourcestampsetid: sss, reason: `change ${changeid} by ${author}`, properties: { owner: [author, 'Scheduler'] }, builderNames: builders });
    await m.db.schedulers.flushChangeClassifications(this.schedulerid, { less_than: changeid + 1 });
    this.counts.buildsets++;
  }

  /** Races the other masters for the oldest unclaimed requests until its slots are full. */
  private async claimWork(m: SimMaster): Promise<void> {
    const free = TIMING.slotsPerMaster - m.running.size;
    if (free <= 0) return;
    const unclaimed = await m.db.buildrequests.getBuildRequests({ claimed: false, complete: false });
    const candidates = unclaimed.slice(0, free + 2).sort(() => this.random() - 0.5);
    let started = 0;
    for (const br of candidates) {
      if (started === free) break;
      try {
        await m.db.buildrequests.claimBuildRequests([br.brid]);
      } catch (error) {
        if (!(error instanceof AlreadyClaimedError)) throw error;
        m.lost++;
        continue;
      }
      if (this.holder.has(br.brid)) this.counts.doubleWins++;
      this.holder.set(br.brid, m.name);
      if (this.orphaned.delete(br.brid)) {
        m.tookOver++;
        this.counts.tookOver++;
      }
      m.won++;
      started++;
      const bid = await m.db.builds.addBuild(br.brid, ++m.buildNumber);
      const [low, high] = TIMING.buildTicks;
      m.running.set(br.brid, { bid, bsid: br.buildsetid, endsAt: this.tick + low + Math.floor(this.random() * (high - low + 1)) });
    }
  }

  /** Requests a dead master held and the store still shows as claimed. */
  get orphanedClaims(): number {
    return this.orphaned.size;
  }
}
