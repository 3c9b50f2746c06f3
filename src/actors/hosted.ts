import type { Actor, AnyMachineSnapshot, AnyStateMachine } from 'xstate';
import { recordKey } from '../persistence/keys.ts';
import type { RecordKind } from '../persistence/records.ts';
import type { Version } from '../persistence/shared/contract.ts';

/** What is stored for an actor: XState's persisted snapshot. */
export interface PersistedActor<TContext = unknown> {
  status: string;
  value: string;
  context: TContext;
  [key: string]: unknown;
}

/** A kind of hosted actor: a machine whose snapshots are records with indexes. */
// biome-ignore lint/suspicious/noExplicitAny: a kind of any context; `unknown` would not accept a concrete kind where any kind goes
export interface ActorKind<TContext = any> extends RecordKind<PersistedActor<TContext>> {
  readonly machine: AnyStateMachine;
  /** Whether a state (a snapshot's `value`) is final, as the machine defines it: a settled actor is passivated once idle. */
  settled(value: unknown): boolean;
}

/**
 * One hosted actor. `actor` is the live XState actor, at the last durable
 * state; `pending` is the state decided by commands whose write is not yet
 * durable. `pins` counts the commands and commits that hold it in memory.
 */
export class Hosted {
  actor: Actor<AnyStateMachine> | null = null;
  /** What the store holds for it: the record of its actor's (durable) snapshot. */
  record: PersistedActor | null = null;
  pending: AnyMachineSnapshot | null = null;
  /** On a shared store: the version of the stored record, and the version `pending` will be written at. */
  version: Version | null = null;
  pendingVersion: Version | null = null;
  pins = 0;
  /** Looked up since passivation last passed it (see LiveActors). */
  used = false;
  /** The snapshot last recorded for it, and its index entries: the next transition need not make them again. */
  indexedSnapshot: AnyMachineSnapshot | null = null;
  indexKeys: readonly string[] = [];
  /** Its record's key in the store. */
  readonly key: string;
  /** Its actor id, as the inspector shows it: `kind:id`. */
  readonly name: string;
  constructor(
    readonly kind: ActorKind,
    readonly id: number,
    /** For an actor not yet started: the input it starts from. */
    public input?: unknown,
  ) {
    this.key = recordKey(kind.name, id);
    this.name = `${kind.name}:${id}`;
  }

  /** The newest decided state: pending if any, else the durable one. */
  current(): AnyMachineSnapshot {
    return this.pending ?? (this.actor!.getSnapshot() as AnyMachineSnapshot);
  }
}

/** A committed transition to replay on its live actor; `event` null starts a new one. */
export interface Effect {
  hosted: Hosted;
  event: { type: string } | null;
  /** The snapshot the command decided it leads to, and the record written for it. */
  next: AnyMachineSnapshot;
  record: PersistedActor;
  /** On a shared store: the version the record is written at. */
  version?: Version;
}
