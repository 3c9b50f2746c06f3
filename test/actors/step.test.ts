import { describe, expect, it } from 'vitest';
import { initialTransition, transition } from 'xstate';
import type { AnyMachineSnapshot } from 'xstate';
import { firstSnapshot, nextSnapshot } from '../../src/actors/step.ts';
import { buildRequestMachine } from '../../src/machines/buildRequest.ts';
import type { BuildRequestEvent } from '../../src/machines/buildRequest.ts';

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
  it('agrees with XState\'s transition() on every event, refusals included', () => {
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
});
