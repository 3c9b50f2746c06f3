import type { AnyMachineSnapshot, AnyStateMachine, EventObject } from 'xstate';

/**
 * The logic a live actor runs: its machine, except that it adopts a
 * transition the commit queue already decided. A command decides purely
 * (step.ts); once its write is durable the event is replayed on the live
 * actor, which takes the decided snapshot instead of computing it again.
 * Observers and the inspector see the same event and snapshot either way.
 */
let handoffEvent: unknown = null;
let handoffSnapshot: AnyMachineSnapshot | null = null;

const logics = new WeakMap<AnyStateMachine, AnyStateMachine>();

export function adoptingLogic<M extends AnyStateMachine>(machine: M): M {
  let logic = logics.get(machine);
  if (logic === undefined) {
    logic = Object.create(machine, {
      transition: {
        value: (snapshot: AnyMachineSnapshot, event: EventObject, scope: unknown) =>
          handoffEvent === event ? handoffSnapshot! : machine.transition(snapshot, event, scope as never),
      },
      getInitialSnapshot: {
        value: (scope: unknown, input: unknown) => (handoffEvent === input && input !== null ? handoffSnapshot! : machine.getInitialSnapshot(scope as never, input)),
      },
    }) as AnyStateMachine;
    logics.set(machine, logic);
  }
  return logic as M;
}

/**
 * Runs `act` (a send of `event`, or a start from input `event`) with the
 * snapshot it will produce handed over. An actor busy with another event
 * queues this one and computes it itself later: same result, only slower.
 */
export function adopt<T>(event: unknown, snapshot: AnyMachineSnapshot, act: () => T): T {
  handoffEvent = event;
  handoffSnapshot = snapshot;
  try {
    return act();
  } finally {
    handoffEvent = null;
    handoffSnapshot = null;
  }
}
