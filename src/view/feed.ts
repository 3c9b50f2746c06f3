import type { InspectionEvent, Observer } from 'xstate';

/** One step of a hosted actor, as the live view shows it. */
export interface Transition {
  /** Increasing per feed; the page uses it to drop duplicates. */
  seq: number;
  /** When it was observed, by the feed's clock (ISO 8601). */
  at: string;
  /** The actor's systemId: `br:<brid>` or `cs:<changesourceid>`. */
  actor: string;
  kind: 'buildrequest' | 'changesource';
  id: number;
  /** The event that caused it (`request.claim`, `master.deactivated`, …), or `new` for a new actor. */
  event: string;
  /** The state before; null for a new actor. */
  from: string | null;
  to: string;
  /**
   * The master the step concerns: a request's claimer or a change source's
   * owner after it, or, for a release (expiry, unclaim, a master going
   * inactive), the master that lost it.
   */
  masterid: number | null;
  /** A request's builder, or a change source's name. */
  label: string;
  /**
   * `'store'`: seen by reading a shared store (any process's actors, see
   * `createStoreFeed`), so `event` is inferred from the difference. Absent:
   * reported by one of this process's actors.
   */
  source?: 'store';
}

export interface LiveFeed {
  /** Pass to `openCoordinator({ inspect })`; or call it from your own observer. */
  readonly inspect: Observer<InspectionEvent>;
  /** The last transitions, oldest first. */
  recent(): Transition[];
  /** Calls `listener` on every transition, synchronously; returns the unsubscribe function. */
  subscribe(listener: (transition: Transition) => void): () => void;
}

export interface LiveFeedOptions {
  /** The clock for `at`; give the coordinator's own when it is injected. */
  now?: () => Date;
  /** How many transitions `recent()` keeps (default 200). */
  keep?: number;
}

/**
 * The transitions a feed keeps (the newest `keep`) and hands to its
 * subscribers as they come; a subscriber's failure is its own, never the
 * sender's (the coordinator's commit path, or a store reading).
 */
export class TransitionLog {
  private readonly kept: Transition[] = [];
  private readonly listeners = new Set<(transition: Transition) => void>();

  constructor(private readonly keep: number) {}

  add(transition: Transition): void {
    this.kept.push(transition);
    if (this.kept.length > this.keep) this.kept.shift();
    for (const listener of this.listeners) {
      try {
        listener(transition);
      } catch {
        // A listener's failure is its own.
      }
    }
  }

  readonly recent = (): Transition[] => [...this.kept];

  readonly subscribe = (listener: (transition: Transition) => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };
}

const ACTOR_ID = /^(br|cs):(\d+)$/;
/** Actors whose last state is remembered, to tell a step from a rehydration; the least recent are forgotten first. */
const REMEMBERED = 100_000;

/**
 * Turns the coordinator's inspection events into transitions of build
 * requests and change sources. XState reports an actor's snapshot when it
 * starts (new or rehydrated), on every event, and when it is stopped
 * (passivated); only real steps and new actors become transitions.
 *
 * @example
 * const feed = createLiveFeed();
 * const coordinator = await openCoordinator({ location: 'state', inspect: feed.inspect });
 * feed.subscribe((t) => console.log(`${t.actor} ${t.from} -> ${t.to} (${t.event})`));
 */
export function createLiveFeed(options: LiveFeedOptions = {}): LiveFeed {
  const now = options.now ?? (() => new Date());
  const log = new TransitionLog(options.keep ?? 200);
  const last = new Map<string, { value: string; masterid: number | null }>();
  let seq = 0;

  function observe(event: InspectionEvent): void {
    if (event.type !== '@xstate.snapshot') return;
    const actor = (event.actorRef as { id?: string }).id ?? '';
    const match = ACTOR_ID.exec(actor);
    if (!match) return;
    const snapshot = event.snapshot as unknown as { value?: unknown; status?: string; context?: Record<string, unknown> };
    if (typeof snapshot.value !== 'string' || snapshot.status === 'stopped') return;
    const cause = event.event.type;
    const kind = match[1] === 'br' ? 'buildrequest' : 'changesource';
    const context = snapshot.context ?? {};
    const holder = ((kind === 'buildrequest' ? context.claimedBy : context.masterid) as number | null | undefined) ?? null;
    const before = last.get(actor);
    last.delete(actor); // re-insert: Map order is the forgetting order
    last.set(actor, { value: snapshot.value, masterid: holder });
    if (last.size > REMEMBERED) last.delete(last.keys().next().value!);

    if (cause.startsWith('xstate.')) {
      // A start: new if this actor was never seen and looks untouched; otherwise a rehydration, not a step.
      const untouched = kind === 'buildrequest' ? context.claimedAt === null && context.completeAt === null : context.masterid === null;
      if (cause !== 'xstate.init' || before !== undefined || snapshot.value !== 'unclaimed' || !untouched) return;
    }
    const transition: Transition = {
      seq: ++seq,
      at: now().toISOString(),
      actor,
      kind,
      id: Number(match[2]),
      event: cause.startsWith('xstate.') ? 'new' : cause,
      from: cause.startsWith('xstate.') ? null : (before?.value ?? null),
      to: snapshot.value,
      masterid: holder ?? before?.masterid ?? null,
      label: String((kind === 'buildrequest' ? context.buildername : context.name) ?? ''),
    };
    log.add(transition);
  }

  return {
    inspect: {
      next: (event) => {
        try {
          observe(event);
        } catch {
          // Inspection is a side channel: never let it fail a commit.
        }
      },
    },
    recent: log.recent,
    subscribe: log.subscribe,
  };
}

/**
 * One observer that passes every inspection event to several, so the live
 * view and `@statelyai/inspect` can watch the same coordinator.
 */
export function fanOut(...observers: (Observer<InspectionEvent> | ((event: InspectionEvent) => void) | undefined)[]): Observer<InspectionEvent> {
  const targets = observers.filter((o) => o !== undefined);
  return {
    next(event) {
      for (const target of targets) {
        try {
          if (typeof target === 'function') target(event);
          else target.next?.(event);
        } catch {
          // One observer's failure must not starve the others, nor the commit path.
        }
      }
    },
  };
}
