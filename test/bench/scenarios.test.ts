import { describe, expect, it } from 'vitest';
import { runScenario } from '../../bench/scenarios.ts';
import { farm } from '../../bench/workload.ts';

describe('bench scenarios (bookkeeping, not speed)', () => {
  it('claim: every request won once, none lost, every win completed', async () => {
    const f = await farm({ store: 'memory', durability: 'sync', masters: 4, requests: 200, builders: 8 });
    const r = await runScenario(f, 'claim', 16);
    expect([r.wins, r.losses, r.doubleWins]).toEqual([200, 0, []]);
    expect(r.claims.calls).toBe(200);
    expect(r.completes.calls).toBe(200);
    expect(await f.masters[0]!.buildrequests.getBuildRequests({ complete: false })).toEqual([]);
    await f.close();
  });

  it('contended: four masters race for every request; each is won once and lost three times', async () => {
    const f = await farm({ store: 'memory', durability: 'sync', masters: 4, requests: 200, builders: 8 });
    const r = await runScenario(f, 'contended', 16);
    expect([r.wins, r.losses, r.doubleWins]).toEqual([200, 600, []]);
    await f.close();
  });

  it('poll: claimers find all the work through getBuildRequests and win each request once', async () => {
    const f = await farm({ store: 'memory', durability: 'sync', masters: 4, requests: 96, builders: 8 });
    const r = await runScenario(f, 'poll', 8);
    expect(r.wins).toBe(96);
    expect(r.doubleWins).toEqual([]);
    expect(await f.masters[0]!.buildrequests.getBuildRequests({ claimed: false })).toEqual([]);
    await f.close();
  });
});
