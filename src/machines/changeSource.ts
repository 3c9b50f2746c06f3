import { and, assign, setup } from 'xstate';

/**
 * A change source is run by at most one master. It may be taken over only
 * when its master is unset or inactive; whether the owner is active is a
 * fact about the masters, so the command supplies it in the event.
 */

export interface ChangeSourceContext {
  id: number;
  name: string;
  masterid: number | null;
}

export type ChangeSourceInput = Pick<ChangeSourceContext, 'id' | 'name'>;

export type ChangeSourceEvent = { type: 'changesource.setMaster'; masterid: number | null; ownerActive: boolean } | { type: 'master.deactivated'; masterid: number };

export type ChangeSourceState = 'unclaimed' | 'claimed';

export const changeSourceMachine = setup({
  types: {} as { context: ChangeSourceContext; events: ChangeSourceEvent; input: ChangeSourceInput },
  guards: {
    ownerInactive: ({ event }) => event.type === 'changesource.setMaster' && !event.ownerActive,
    toMaster: ({ event }) => event.type === 'changesource.setMaster' && event.masterid !== null,
    ownedByDeactivated: ({ context, event }) => context.masterid === event.masterid,
  },
  actions: {
    link: assign({ masterid: ({ event }) => (event as { masterid: number }).masterid }),
    unlink: assign({ masterid: null }),
  },
}).createMachine({
  id: 'changeSource',
  initial: 'unclaimed',
  context: ({ input }) => ({ ...input, masterid: null }),
  states: {
    unclaimed: {
      on: {
        'changesource.setMaster': { guard: 'toMaster', target: 'claimed', actions: 'link' },
      },
    },
    claimed: {
      on: {
        'changesource.setMaster': [
          { guard: and(['ownerInactive', 'toMaster']), actions: 'link' },
          { guard: 'ownerInactive', target: 'unclaimed', actions: 'unlink' },
        ],
        'master.deactivated': { guard: 'ownedByDeactivated', target: 'unclaimed', actions: 'unlink' },
      },
    },
  },
});
