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
