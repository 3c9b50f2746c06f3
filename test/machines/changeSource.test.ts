import { describe, expect, it } from 'vitest';
import { initialTransition, transition } from 'xstate';
import type { AnyMachineSnapshot } from 'xstate';
import { changeSourceMachine } from '../../src/machines/changeSource.ts';
import type { ChangeSourceEvent } from '../../src/machines/changeSource.ts';

const fresh = () => initialTransition(changeSourceMachine, { id: 3, name: 'poller' })[0] as AnyMachineSnapshot;

function run(snapshot: AnyMachineSnapshot, ...events: ChangeSourceEvent[]): AnyMachineSnapshot | null {
  for (const event of events) {
    const [next] = transition(changeSourceMachine, snapshot, event);
    if (next === snapshot) return null;
    snapshot = next as AnyMachineSnapshot;
  }
  return snapshot;
}
const linked = (masterid = 1) => run(fresh(), { type: 'changesource.setMaster', masterid, ownerActive: false })!;

describe('change source machine', () => {
  it('starts unclaimed with no master', () => {
    expect(fresh().value).toBe('unclaimed');
    expect(fresh().context).toEqual({ id: 3, name: 'poller', masterid: null });
  });

  it('setMaster(m) on unclaimed links it to m', () => {
    expect(linked(1).value).toBe('claimed');
    expect(linked(1).context.masterid).toBe(1);
  });

  it('setMaster(null) on unclaimed takes no transition', () => {
    expect(run(fresh(), { type: 'changesource.setMaster', masterid: null, ownerActive: false })).toBeNull();
  });

  it('while the owner is active, setMaster is refused, for another master, the same one, or null', () => {
    for (const masterid of [2, 1, null]) {
      expect(run(linked(1), { type: 'changesource.setMaster', masterid, ownerActive: true })).toBeNull();
    }
  });

  it('when the owner is inactive, setMaster(m) takes it over and setMaster(null) unlinks it', () => {
    expect(run(linked(1), { type: 'changesource.setMaster', masterid: 2, ownerActive: false })!.context.masterid).toBe(2);
    const unlinked = run(linked(1), { type: 'changesource.setMaster', masterid: null, ownerActive: false })!;
    expect(unlinked.value).toBe('unclaimed');
    expect(unlinked.context.masterid).toBeNull();
  });

  it('master.deactivated unlinks only from that master', () => {
    expect(run(linked(1), { type: 'master.deactivated', masterid: 1 })!.value).toBe('unclaimed');
    expect(run(linked(1), { type: 'master.deactivated', masterid: 2 })).toBeNull();
  });
});
