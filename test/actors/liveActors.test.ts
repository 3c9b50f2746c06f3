import { describe, expect, it } from 'vitest';
import { LiveActors } from '../../src/actors/liveActors.ts';
import { Hosted } from '../../src/actors/hosted.ts';
import { buildRequests, changeSources } from '../../src/connector/model.ts';

describe('LiveActors', () => {
  it('finds actors by kind and id, and by record key', () => {
    const live = new LiveActors();
    const br = new Hosted(buildRequests, 7);
    const cs = new Hosted(changeSources, 7);
    live.add(br);
    live.add(cs);
    expect(live.get('br', 7)).toBe(br);
    expect(live.get('cs', 7)).toBe(cs);
    expect(live.atKey(br.key)).toBe(br);
    expect(live.atKey(cs.key)).toBe(cs);
    expect(live.atKey('i/br.claim/0000000000000007')).toBeUndefined();
    live.remove(new Hosted(buildRequests, 7)); // not the live one: nothing happens
    expect(live.size).toBe(2);
    live.remove(br);
    expect(live.get('br', 7)).toBeUndefined();
    expect(live.size).toBe(1);
  });

  it('offers the oldest first, and a used actor only after the rest (a second chance)', () => {
    const live = new LiveActors();
    const [a, b, c, d] = [1, 2, 3, 4].map((id) => new Hosted(buildRequests, id)) as [Hosted, Hosted, Hosted, Hosted];
    for (const hosted of [a, b, c, d]) live.add(hosted);
    live.use('br', 1);
    live.use('br', 3);
    expect([...live.oldestFirst()].map((h) => h.id)).toEqual([2, 4, 1, 3]);
    expect(a.used).toBe(false);
    // Passivation stops some as it walks: removal during the walk is safe, and the order of the rest stays.
    for (const hosted of live.oldestFirst()) if (hosted.id % 2 === 0) live.remove(hosted);
    expect([...live.values()].map((h) => h.id)).toEqual([1, 3]);
  });
});
