import { describe, expect, it } from 'vitest';
import { createActor, initialTransition, transition } from 'xstate';
import type { AnyMachineSnapshot, AnyStateMachine } from 'xstate';
import { adopt, adoptingLogic } from '../../src/actors/adopt.ts';
import { firstSnapshot, nextSnapshot, persistedSnapshot } from '../../src/actors/step.ts';
import { encode } from '../../src/persistence/codec.ts';
import { buildRequestMachine } from '../../src/machines/buildRequest.ts';
import type { BuildRequestEvent } from '../../src/machines/buildRequest.ts';
import { changeSourceMachine } from '../../src/machines/changeSource.ts';
import type { ChangeSourceEvent } from '../../src/machines/changeSource.ts';

const input = { brid: 1, buildsetid: 1, buildername: 'b', priority: 0, submittedAt: 0 };
const events: BuildRequestEvent[] = [
  { type: 'request.reclaim', masterid: 1, at: 1 },
  { type: 'request.claim', masterid: 1, at: 2 },
  { type: 'request.claim', masterid: 2, at: 3 },
  { type: 'request.reclaim', masterid: 1, at: 4 },
  { type: 'request.expire', claimedBefore: 4 },
  { type: 'request.expire', claimedBefore: 5 },
  { type: 'request.claim', masterid: 2, at: 6 },
  { type: 'master.deactivated', masterid: 1 },
  { type: 'request.complete', results: 3, at: 7 },
  { type: 'request.unclaim', masterid: 2 },
  { type: 'request.complete', results: 0, at: 8 },
];

describe('step', () => {
  it("agrees with XState's transition() on every event, refusals included", () => {
    let ours = firstSnapshot(buildRequestMachine, input);
    let theirs = initialTransition(buildRequestMachine, input)[0] as AnyMachineSnapshot;
    expect(ours.value).toEqual(theirs.value);
    for (const event of events) {
      const next = nextSnapshot(buildRequestMachine, ours, event);
      const [expected] = transition(buildRequestMachine, theirs, event);
      expect(next === ours).toBe(expected === theirs); // refused by both, or by neither
      expect([next.value, next.context]).toEqual([expected.value, expected.context]);
      [ours, theirs] = [next, expected as AnyMachineSnapshot];
    }
  });

  it("persistedSnapshot stores exactly what XState's getPersistedSnapshot would, byte for byte", () => {
    const machines: { machine: AnyStateMachine; input: unknown; events: { type: string }[] }[] = [
      { machine: buildRequestMachine, input, events: events as { type: string }[] },
      {
        machine: changeSourceMachine,
        input: { id: 1, name: 'poller' },
        events: [
          { type: 'changesource.setMaster', masterid: 1, ownerActive: false },
          { type: 'changesource.setMaster', masterid: 2, ownerActive: true },
          { type: 'master.deactivated', masterid: 1 },
          { type: 'changesource.setMaster', masterid: null, ownerActive: false },
        ] as ChangeSourceEvent[],
      },
    ];
    let compared = 0;
    for (const { machine, input: start, events: sequence } of machines) {
      let snapshot = firstSnapshot(machine, start);
      for (const event of [null, ...sequence]) {
        if (event !== null) snapshot = nextSnapshot(machine, snapshot, event);
        const theirs = machine.getPersistedSnapshot(snapshot);
        expect(persistedSnapshot(machine, snapshot)).toStrictEqual(theirs);
        expect(Buffer.from(encode(persistedSnapshot(machine, snapshot))).equals(Buffer.from(encode(theirs)))).toBe(true);
        compared++;
      }
    }
    expect(compared).toBe(events.length + 1 + 5);
  });
});

describe('adopt', () => {
  const claim: BuildRequestEvent = { type: 'request.claim', masterid: 1, at: 2 };

  it('a live actor takes the decided snapshot instead of computing it again', () => {
    const actor = createActor(adoptingLogic(buildRequestMachine), { input }).start();
    const decided = nextSnapshot(buildRequestMachine, actor.getSnapshot(), claim);
    const seen: unknown[] = [];
    actor.subscribe((snapshot) => seen.push(snapshot));
    adopt(claim, decided, () => actor.send(claim));
    expect(actor.getSnapshot()).toBe(decided);
    expect(seen).toEqual([decided]); // observers still hear of it
    actor.stop();
  });

  it('without a handoff (or for another event) the actor runs its machine as usual', () => {
    const actor = createActor(adoptingLogic(buildRequestMachine), { input }).start();
    const unrelated = nextSnapshot(buildRequestMachine, actor.getSnapshot(), { type: 'request.complete', results: 0, at: 1 } as BuildRequestEvent);
    adopt({ ...claim }, unrelated, () => actor.send(claim)); // a different event object: not adopted
    expect(actor.getSnapshot().value).toBe('claimed');
    actor.send({ type: 'request.complete', results: 2, at: 3 });
    expect(actor.getSnapshot().value).toBe('complete');
    expect(actor.getSnapshot().context.results).toBe(2);
    actor.stop();
  });

  it('a started actor adopts the decided first snapshot for its input', () => {
    const first = firstSnapshot(buildRequestMachine, input);
    const actor = adopt(input, first, () => createActor(adoptingLogic(buildRequestMachine), { input }).start());
    expect(actor.getSnapshot()).toBe(first);
    actor.stop();
  });
});
