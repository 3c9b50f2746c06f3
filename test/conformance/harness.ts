import { afterEach } from 'vitest';
import type { Connector, Coordinator, CoordinatorOptions } from '../../src/api.ts';
import type { BackendCapabilities } from '../../src/persistence/backend.ts';

/**
 * What a conformance suite is given: a way to open a fresh coordinator on
 * the backend under test, and (where the store is permanent) to reopen it.
 */
export interface Harness {
  readonly name: string;
  readonly capabilities: BackendCapabilities;
  /** A coordinator over a new, empty store. */
  open(options?: OpenOptions): Promise<Coordinator>;
  /** Closes `coordinator` and opens its store again (permanent backends only). */
  reopen(coordinator: Coordinator, options?: OpenOptions): Promise<Coordinator>;
  /**
   * Another coordinator on `coordinator`'s store, as another process would
   * open it (shared stores only; absent elsewhere). The caller closes it.
   */
  peer?(coordinator: Coordinator, options?: OpenOptions): Promise<Coordinator>;
}

export type OpenOptions = Omit<CoordinatorOptions, 'location' | 'backend'>;

/** A suite: registers its tests against the harness. */
export type Suite = (harness: Harness) => void;

/**
 * The setup most suites share, for the describe block it is called in: a
 * coordinator on the harness's backend with master 'm1' connected, closed
 * after each test. `open` and `reopen` resolve to m1's connector.
 */
export function oneMaster(h: Harness) {
  let coordinator: Coordinator | undefined;
  afterEach(() => coordinator?.close());
  return {
    async open(options?: OpenOptions): Promise<Connector> {
      coordinator = await h.open(options);
      return coordinator.connect('m1');
    },
    /** Closes the store and opens it again (permanent backends only). */
    async reopen(options?: OpenOptions): Promise<Connector> {
      coordinator = await h.reopen(coordinator!, options);
      return coordinator.connect('m1');
    },
  };
}

/**
 * The setup of suites where several masters interact, for the describe block
 * it is called in. `open` makes a new store and connects the masters named,
 * in order: where the harness has `peer`, each master on a coordinator of its
 * own (as masters in separate processes share one database), otherwise all
 * on one coordinator as before. Every coordinator is closed after each test.
 */
export function severalMasters(h: Harness) {
  let coordinators: Coordinator[] = [];
  const home = new WeakMap<Connector, Coordinator>();
  afterEach(async () => {
    const open = coordinators;
    coordinators = [];
    await Promise.all(open.map((c) => c.close()));
  });
  const connect = async (coordinator: Coordinator, name: string) => {
    const db = await coordinator.connect(name);
    home.set(db, coordinator);
    return db;
  };
  const connectAll = async (first: Coordinator, names: readonly string[], options?: OpenOptions) => {
    const masters: Connector[] = [];
    for (const [i, name] of names.entries()) {
      let coordinator = first;
      if (i > 0 && h.peer) coordinators.push((coordinator = await h.peer(first, options)));
      masters.push(await connect(coordinator, name));
    }
    return masters;
  };
  return {
    /** Whether the masters are on coordinators of their own. */
    separate: h.peer !== undefined,
    /** A new store with the masters `names` connected; their connectors, in order. */
    async open(names: readonly string[], options?: OpenOptions): Promise<Connector[]> {
      const first = await h.open(options);
      coordinators.push(first);
      return connectAll(first, names, options);
    },
    /** Closes every coordinator, reopens the store and connects `names` again (permanent backends only). */
    async reopen(names: readonly string[], options?: OpenOptions): Promise<Connector[]> {
      const [first, ...rest] = coordinators;
      coordinators = [];
      await Promise.all(rest.map((c) => c.close()));
      const reopened = await h.reopen(first!, options);
      coordinators.push(reopened);
      return connectAll(reopened, names, options);
    },
    /** The coordinator `db` was connected on. */
    coordinatorOf(db: Connector): Coordinator {
      return home.get(db)!;
    },
    /** Connects `name` on the coordinator `db` is on (another master in its process, or itself reconnecting). */
    connectBeside(db: Connector, name: string): Promise<Connector> {
      return connect(home.get(db)!, name);
    },
    /**
     * Closes the coordinator `db` is on and connects `name` on a new one on
     * the same store: a master's process restarting (harnesses with `peer` only).
     */
    async restart(db: Connector, name: string, options?: OpenOptions): Promise<Connector> {
      const old = home.get(db)!;
      await old.close();
      const fresh = await h.peer!(old, options);
      coordinators.push(fresh);
      return connect(fresh, name);
    },
  };
}

export type SeveralMasters = ReturnType<typeof severalMasters>;

/** A clock tests move by hand; it never reads the real time. */
export class TestClock {
  private ms: number;
  constructor(start: Date) {
    this.ms = start.getTime();
  }
  readonly now = (): Date => new Date(this.ms);
  advance(seconds: number): void {
    this.ms += seconds * 1000;
  }
  set(at: Date): void {
    this.ms = at.getTime();
  }
}

// Fixed instants, in both forms, as Buildbot's tests name them.
export const SUBMITTED_AT_EPOCH = 1_300_000_000;
export const SUBMITTED_AT = new Date(SUBMITTED_AT_EPOCH * 1000);
export const CLAIMED_AT_EPOCH = 1_300_000_300;
export const CLAIMED_AT = new Date(CLAIMED_AT_EPOCH * 1000);
export const COMPLETE_AT_EPOCH = 1_300_000_600;
export const COMPLETE_AT = new Date(COMPLETE_AT_EPOCH * 1000);
