import { createActor } from 'xstate';
import type { AnyActorScope, AnyMachineSnapshot, AnyStateMachine, EventObject } from 'xstate';

/**
 * XState's pure `transition()` and `initialTransition()`, minus the
 * throwaway actor they build per call (three quarters of their cost on the
 * claim path). Our machines only assign: they spawn nothing and run no side
 * effects, so one inert scope per machine serves every call.
 */
const scopes = new WeakMap<AnyStateMachine, AnyActorScope>();

function scopeOf(machine: AnyStateMachine): AnyActorScope {
  let scope = scopes.get(machine);
  if (scope === undefined) {
    const self = createActor(machine);
    const ignore = () => {};
    scope = { self, system: self.system, id: '', sessionId: '', logger: ignore, defer: ignore, emit: ignore, stopChild: ignore, actionExecutor: ignore } as unknown as AnyActorScope;
    scopes.set(machine, scope);
  }
  return scope;
}

/** The snapshot after `event`; the same object if the machine takes no transition. */
export function nextSnapshot(machine: AnyStateMachine, snapshot: AnyMachineSnapshot, event: EventObject): AnyMachineSnapshot {
  return machine.transition(snapshot, event, scopeOf(machine)) as AnyMachineSnapshot;
}

export function firstSnapshot(machine: AnyStateMachine, input: unknown): AnyMachineSnapshot {
  return machine.getInitialSnapshot(scopeOf(machine), input) as AnyMachineSnapshot;
}
