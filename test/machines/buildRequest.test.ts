import { describe, expect, it } from 'vitest';
import { createActor, initialTransition, transition } from 'xstate';
import type { AnyMachineSnapshot } from 'xstate';
import { buildRequestMachine } from '../../src/machines/buildRequest.ts';
import type { BuildRequestEvent } from '../../src/machines/buildRequest.ts';
import { decode, encode } from '../../src/persistence/codec.ts';

const input = { brid: 42, buildsetid: 7, buildername: 'linux', priority: 0, submittedAt: 1_000 };
const M1 = 1;
const M2 = 2;
const fresh = () => initialTransition(buildRequestMachine, input)[0] as AnyMachineSnapshot;

/** Applies events in order; null where the machine refused one. */
function run(snapshot: AnyMachineSnapshot, ...events: BuildRequestEvent[]): AnyMachineSnapshot | null {
  for (const event of events) {
    const [next] = transition(buildRequestMachine, snapshot, event);
    if (next === snapshot) return null;
    snapshot = next as AnyMachineSnapshot;
  }
  return snapshot;
}
const claimed = (by = M1, at = 2_000) => run(fresh(), { type: 'request.claim', masterid: by, at })!;
const completed = () => run(claimed(), { type: 'request.complete', results: 0, at: 3_000 })!;

describe('build request machine', () => {
  it('starts unclaimed and incomplete, results -1', () => {
    expect(fresh().value).toBe('unclaimed');
    expect(fresh().context).toEqual({ ...input, claimedBy: null, claimedAt: null, completeAt: null, results: -1 });
  });

  it('request.claim on unclaimed -> claimed by that master at that time', () => {
    expect(claimed().value).toBe('claimed');
    expect(claimed().context).toMatchObject({ claimedBy: M1, claimedAt: 2_000 });
  });

  it('request.claim on claimed is refused, whoever asks', () => {
    expect(run(claimed(), { type: 'request.claim', masterid: M2, at: 5 })).toBeNull();
    expect(run(claimed(), { type: 'request.claim', masterid: M1, at: 5 })).toBeNull();
  });

  it('request.claim on complete is refused', () => {
    expect(run(completed(), { type: 'request.claim', masterid: M2, at: 5 })).toBeNull();
  });

  it('request.reclaim by the owner renews claimedAt; by another master or when unclaimed it is refused', () => {
    expect(run(claimed(), { type: 'request.reclaim', masterid: M1, at: 9_000 })!.context.claimedAt).toBe(9_000);
    expect(run(claimed(), { type: 'request.reclaim', masterid: M2, at: 9_000 })).toBeNull();
    expect(run(fresh(), { type: 'request.reclaim', masterid: M1, at: 9_000 })).toBeNull();
  });

  it('request.unclaim by the owner releases the claim; by another master it is refused', () => {
    const released = run(claimed(), { type: 'request.unclaim', masterid: M1 })!;
    expect(released.value).toBe('unclaimed');
    expect(released.context).toMatchObject({ claimedBy: null, claimedAt: null });
    expect(run(claimed(), { type: 'request.unclaim', masterid: M2 })).toBeNull();
    expect(run(fresh(), { type: 'request.unclaim', masterid: M1 })).toBeNull();
  });

  it('request.complete from unclaimed or claimed records results and time', () => {
    for (const start of [fresh(), claimed()]) {
      const done = run(start, { type: 'request.complete', results: 2, at: 3_000 })!;
      expect(done.value).toBe('complete');
      expect(done.context).toMatchObject({ results: 2, completeAt: 3_000 });
    }
  });

  it('request.complete on complete is refused', () => {
    expect(run(completed(), { type: 'request.complete', results: 0, at: 4_000 })).toBeNull();
  });

  it('a complete request keeps its claim; its owner may unclaim or reclaim it, nobody else', () => {
    expect(completed().context).toMatchObject({ claimedBy: M1, claimedAt: 2_000 });
    const unclaimed = run(completed(), { type: 'request.unclaim', masterid: M1 })!;
    expect(unclaimed.value).toBe('complete');
    expect(unclaimed.context).toMatchObject({ claimedBy: null, claimedAt: null, results: 0 });
    expect(run(completed(), { type: 'request.reclaim', masterid: M1, at: 8_000 })!.context.claimedAt).toBe(8_000);
    expect(run(completed(), { type: 'request.unclaim', masterid: M2 })).toBeNull();
  });

  it('request.expire releases claims strictly older than the bound, only on incomplete requests', () => {
    expect(run(claimed(M1, 2_000), { type: 'request.expire', claimedBefore: 2_001 })!.value).toBe('unclaimed');
    expect(run(claimed(M1, 2_000), { type: 'request.expire', claimedBefore: 2_000 })).toBeNull();
    expect(run(completed(), { type: 'request.expire', claimedBefore: 99_999 })).toBeNull();
    expect(run(fresh(), { type: 'request.expire', claimedBefore: 99_999 })).toBeNull();
  });

  it("master.deactivated releases only that master's claim on an incomplete request", () => {
    expect(run(claimed(M1), { type: 'master.deactivated', masterid: M1 })!.value).toBe('unclaimed');
    expect(run(claimed(M1), { type: 'master.deactivated', masterid: M2 })).toBeNull();
    expect(run(completed(), { type: 'master.deactivated', masterid: M1 })).toBeNull();
  });

  it('a persisted snapshot survives the store encoding and rehydrates into the same state', () => {
    const actor = createActor(buildRequestMachine, { input }).start();
    actor.send({ type: 'request.claim', masterid: M1, at: 2_000 });
    const stored = decode(encode(actor.getPersistedSnapshot()));
    const restored = createActor(buildRequestMachine, { snapshot: stored, input } as never).start();
    expect(restored.getSnapshot().value).toBe('claimed');
    expect(restored.getSnapshot().context).toEqual(actor.getSnapshot().context);
    restored.send({ type: 'request.complete', results: 0, at: 3_000 });
    expect(restored.getSnapshot().value).toBe('complete');
  });

  it('replaying an event on a live actor gives the snapshot the pure transition decided', () => {
    const actor = createActor(buildRequestMachine, { input }).start();
    const event: BuildRequestEvent = { type: 'request.claim', masterid: M2, at: 5_000 };
    const [decided] = transition(buildRequestMachine, actor.getSnapshot(), event);
    actor.send(event);
    expect(actor.getSnapshot().value).toBe(decided.value);
    expect(actor.getSnapshot().context).toEqual(decided.context);
  });
});
