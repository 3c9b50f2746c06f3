import { assign, setup } from 'xstate';

/**
 * A build request's life, as Buildbot 0.8.8's buildrequests and
 * buildrequest_claims tables give it: unclaimed -> claimed -> complete.
 * Pure: no clock, no I/O. Every instant arrives in the event, so replaying
 * an event on a live actor gives exactly the snapshot that was committed.
 *
 * A complete request keeps its claim fields (0.8.8 never deletes the claim
 * row on completion); its owner may still unclaim or reclaim it.
 */

export interface BuildRequestContext {
  brid: number;
  buildsetid: number;
  buildername: string;
  priority: number;
  submittedAt: number; // epoch ms
  claimedBy: number | null; // masterid
  claimedAt: number | null; // epoch ms
  completeAt: number | null; // epoch ms
  results: number; // -1 until complete
}

export type BuildRequestInput = Pick<BuildRequestContext, 'brid' | 'buildsetid' | 'buildername' | 'priority' | 'submittedAt'>;

export type BuildRequestEvent =
  | { type: 'request.claim'; masterid: number; at: number }
  | { type: 'request.reclaim'; masterid: number; at: number }
  | { type: 'request.unclaim'; masterid: number }
  | { type: 'request.complete'; results: number; at: number }
  | { type: 'request.expire'; claimedBefore: number }
  | { type: 'master.deactivated'; masterid: number };

export type BuildRequestState = 'unclaimed' | 'claimed' | 'complete';

/** The state a request ends in: nothing but its owner's unclaim or reclaim moves it on. */
export const COMPLETE: BuildRequestState = 'complete';

/** Whether a request's state (a snapshot's `value`) is final, so its actor need not stay live. */
export const isSettled = (value: unknown): boolean => value === COMPLETE;

const releaseClaim = { claimedBy: null, claimedAt: null } as const;

export const buildRequestMachine = setup({
  types: {} as { context: BuildRequestContext; events: BuildRequestEvent; input: BuildRequestInput },
  guards: {
    claimedByCaller: ({ context, event }) => 'masterid' in event && context.claimedBy !== null && context.claimedBy === event.masterid,
    claimedBefore: ({ context, event }) => event.type === 'request.expire' && context.claimedAt !== null && context.claimedAt < event.claimedBefore,
  },
  actions: {
    takeClaim: assign(({ event }) => {
      const { masterid, at } = event as { masterid: number; at: number };
      return { claimedBy: masterid, claimedAt: at };
    }),
    renewClaim: assign(({ event }) => ({ claimedAt: (event as { at: number }).at })),
    releaseClaim: assign(releaseClaim),
    recordCompletion: assign(({ event }) => {
      const { results, at } = event as { results: number; at: number };
      return { results, completeAt: at };
    }),
  },
}).createMachine({
  id: 'buildRequest',
  initial: 'unclaimed',
  context: ({ input }) => ({ ...input, ...releaseClaim, completeAt: null, results: -1 }),
  states: {
    unclaimed: {
      on: {
        'request.claim': { target: 'claimed', actions: 'takeClaim' },
        'request.complete': { target: 'complete', actions: 'recordCompletion' },
      },
    },
    claimed: {
      on: {
        'request.reclaim': { guard: 'claimedByCaller', actions: 'renewClaim' },
        'request.unclaim': { guard: 'claimedByCaller', target: 'unclaimed', actions: 'releaseClaim' },
        'request.expire': { guard: 'claimedBefore', target: 'unclaimed', actions: 'releaseClaim' },
        'master.deactivated': { guard: 'claimedByCaller', target: 'unclaimed', actions: 'releaseClaim' },
        'request.complete': { target: 'complete', actions: 'recordCompletion' },
      },
    },
    complete: {
      on: {
        'request.reclaim': { guard: 'claimedByCaller', actions: 'renewClaim' },
        'request.unclaim': { guard: 'claimedByCaller', actions: 'releaseClaim' },
      },
    },
  },
});
