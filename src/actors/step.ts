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
    scope = {
      self,
      system: self.system,
      id: '',
      sessionId: '',
      logger: ignore,
      defer: ignore,
      emit: ignore,
      stopChild: ignore,
      actionExecutor: ignore,
    } as unknown as AnyActorScope;
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

/**
 * XState's getPersistedSnapshot(), built directly: the same fields in the
 * same order, so the same stored bytes, at a fraction of the cost (its
 * generic copy was 4% of the claim path). Our machines spawn no children
 * and keep no history or actor refs in context; a snapshot that had any
 * goes through XState's own.
 */
export function persistedSnapshot(machine: AnyStateMachine, snapshot: AnyMachineSnapshot): Record<string, unknown> {
  if (!isEmpty(snapshot.children) || !isEmpty(snapshot.historyValue)) return machine.getPersistedSnapshot(snapshot) as Record<string, unknown>;
  const { status, output, error, value, context } = snapshot;
  return { status, output, error, value, historyValue: {}, context, children: {} };
}

function isEmpty(object: object): boolean {
  for (const _ in object) return false;
  return true;
}
