/**
 * One master of the demo on a shared (PostgreSQL) store, in a process of its
 * own: the demo forks one per master (demoShared.ts) and drives each over
 * the IPC channel, a tick at a time, so that their claims race across
 * processes as Buildbot's masters' do. The store's URL comes over the
 * channel, never on the command line, where `ps` would show its password.
 */
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { openCoordinator } from '../coordinator.ts';
import type { Coordinator } from '../coordinator.ts';
import type { Connector } from '../connector/connector.ts';
import { maskLocation } from '../persistence/stores.ts';
import { Farm, SimulatedClock, seededRandom } from './farm.ts';
import type { FarmCounts, SimMaster } from './farm.ts';

export const CHANGE_SOURCE = 'git-poller';
export const SCHEDULER: [string, string] = ['all-builders', 'SingleBranchScheduler'];

/** What a master's process reports after each tick. */
export interface TickReport {
  /** Requests it builds now (its claims, as it believes them). */
  held: number[];
  /** Requests it won this tick. */
  won: number[];
  built: number;
  wonRaces: number;
  lostRaces: number;
  counts: FarmCounts;
}

/** The demo's requests to a master's process; each is answered once, by `id`. */
export type ToMaster = { id: number } & (
  | { type: 'open'; location: string; name: string; seed: number; inspectUrl?: string }
  | { type: 'setup' }
  | { type: 'takeSource'; changesourceid: number }
  | { type: 'start'; simStart: number; changesourceid: number; schedulerid: number }
  | { type: 'tick'; tick: number; janitor: boolean }
  | { type: 'stop' }
);

export type FromMaster = { id: number; ok: true; result: unknown } | { id: number; ok: false; message: string } | { type: 'say'; text: string };

/** What `open` answers. */
export interface Opened {
  masterid: number;
}

/** What `setup` answers. */
export interface SetUp {
  changesourceid: number;
  schedulerid: number;
}

class MasterProcess {
  private readonly clock = new SimulatedClock(Date.now());
  private coordinator: Coordinator | null = null;
  private stopInspector: () => void = () => {};
  private db: Connector | null = null;
  private master: SimMaster | null = null;
  private farm: Farm | null = null;

  constructor(private readonly say: (text: string) => void) {}

  async handle(message: ToMaster): Promise<unknown> {
    switch (message.type) {
      case 'open':
        return this.open(message.location, message.name, message.seed, message.inspectUrl);
      case 'setup': {
        const db = this.connected();
        const changesourceid = await db.changesources.findChangeSourceId(CHANGE_SOURCE);
        const schedulerid = await db.state.getObjectId(...SCHEDULER);
        return { changesourceid, schedulerid } satisfies SetUp;
      }
      case 'takeSource': {
        const db = this.connected();
        await db.changesources.setChangeSourceMaster(message.changesourceid, db.masterid);
        return null;
      }
      case 'start': {
        const db = this.connected();
        this.clock.moveTo(message.simStart);
        await db.masters.setMasterState(db.masterid, true);
        this.farm = new Farm([this.master!], null, message.changesourceid, message.schedulerid, this.clock, this.random, this.say);
        return null;
      }
      case 'tick':
        return this.tick(message.janitor);
      case 'stop':
        return this.stop();
    }
  }

  private random: () => number = Math.random;

  private async open(location: string, name: string, seed: number, inspectUrl: string | undefined): Promise<Opened> {
    this.random = seededRandom(seed);
    let inspect;
    if (inspectUrl !== undefined) {
      const { createWebSocketInspector } = await import('@statelyai/inspect');
      const inspector = createWebSocketInspector({ url: inspectUrl });
      inspect = inspector.inspect;
      this.stopInspector = () => inspector.stop();
    }
    this.coordinator = await openCoordinator({ location, now: this.clock.now, ...(inspect ? { inspect } : {}) });
    const db = await this.coordinator.connect(name);
    this.db = db;
    this.master = { name, db, alive: true, running: new Map(), won: 0, lost: 0, tookOver: 0, built: 0, buildNumber: 0 };
    return { masterid: db.masterid };
  }

  private async tick(janitor: boolean): Promise<TickReport> {
    const farm = this.farm;
    const m = this.master;
    if (farm === null || m === null) throw new Error('not started');
    const before = new Set(m.running.keys());
    await farm.step({ janitor });
    const held = [...m.running.keys()];
    return { held, won: held.filter((brid) => !before.has(brid)), built: m.built, wonRaces: m.won, lostRaces: m.lost, counts: { ...farm.counts } };
  }

  async stop(): Promise<FarmCounts | null> {
    const counts = this.farm ? { ...this.farm.counts } : null;
    const coordinator = this.coordinator;
    this.coordinator = null;
    await coordinator?.close();
    this.stopInspector();
    return counts;
  }

  private connected(): Connector {
    if (this.db === null) throw new Error('not open');
    return this.db;
  }
}

/** Serves the demo's requests, one at a time, in order, until `stop` or until the demo goes away. */
function serveParent(): void {
  const send = (message: FromMaster) => new Promise<void>((resolve) => process.send!(message, undefined, {}, () => resolve()));
  const master = new MasterProcess((text) => void send({ type: 'say', text }));
  let turn: Promise<void> = Promise.resolve();
  // Ctrl-C reaches the whole process group: the demo decides, and tells this process to stop.
  process.on('SIGINT', () => {});
  process.on('message', (message: ToMaster) => {
    turn = turn.then(async () => {
      try {
        const result = await master.handle(message);
        await send({ id: message.id, ok: true, result });
        if (message.type === 'stop') process.disconnect();
      } catch (error) {
        const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        await send({ id: message.id, ok: false, message: maskLocation(text) });
      }
    });
  });
  // The demo is gone (it died, or it is done with this master): close the store and end.
  process.on('disconnect', () => {
    void turn.then(() => master.stop()).finally(() => process.exit(0));
  });
}

if (process.send !== undefined && process.argv[1] !== undefined && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  serveParent();
}
