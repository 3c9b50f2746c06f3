import { describe, expect, it } from 'vitest';
import { openCoordinator } from '../../src/api.ts';
import { seededRandom } from '../../src/cli/farm.ts';
import { buildRequestIndex } from '../../src/connector/model.ts';
import type { Backend, KeyRange, WriteBatch } from '../../src/persistence/backend.ts';
import { prefixRange } from '../../src/persistence/backend.ts';
import { idPart } from '../../src/persistence/keys.ts';
import { memoryBackend } from '../../src/persistence/memory/backend.ts';
import { ResidentIndex } from '../../src/persistence/residentIndex.ts';
import { BackendWrapper } from '../../src/persistence/wrapper.ts';
import { ControlledBackend } from '../support/controlledBackend.ts';

const PREFIX = buildRequestIndex.unclaimed();
const entry = (builder: number, id: number) => `${buildRequestIndex.unclaimed(`builder-${builder}`)}${idPart(id)}`;

/** A store whose range reads wait for the test, so writes can land while an index loads. */
class PausedReads extends BackendWrapper {
  private readonly waiting: (() => void)[] = [];
  /** How many more reads may pass before the next one waits (Infinity: all of them). */
  passing = 0;
  override async keys(range: KeyRange): Promise<string[]> {
    if (this.passing-- <= 0) await new Promise<void>((resume) => this.waiting.push(resume));
    return this.inner.keys(range);
  }
  /** Lets the waiting read through, and `more` after it. */
  resume(more = Infinity): void {
    this.passing = more;
    for (const resume of this.waiting.splice(0)) resume();
  }
  get held(): number {
    return this.waiting.length;
  }
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

const put = (key: string): [string, Uint8Array] => [key, new Uint8Array([1])];
const del = (key: string): [string, null] => [key, null];
const batch = (...entries: [string, Uint8Array | null][]): WriteBatch => new Map(entries);

/** Writes a batch to the store and tells the index it is durable, as the commit queue does. */
async function write(backend: Backend, index: ResidentIndex, batch: WriteBatch): Promise<void> {
  await backend.write(batch, { sync: true });
  index.written(batch);
}

/** Ranges a reader asks of the index: all of it, one builder, limited, reversed, and cut inside a builder. */
function ranges(random: () => number): KeyRange[] {
  const builder = Math.floor(random() * 5);
  const one = prefixRange(buildRequestIndex.unclaimed(`builder-${builder}`));
  return [
    prefixRange(PREFIX),
    one,
    { ...prefixRange(PREFIX), limit: 3 },
    { ...one, reverse: true, limit: 5 },
    { ...prefixRange(PREFIX), reverse: true },
    { gte: entry(builder, 500), lt: entry(builder + 1, 200) },
  ];
}

async function expectSameAsStore(index: ResidentIndex, backend: Backend, random: () => number): Promise<void> {
  for (const range of ranges(random)) expect(await index.keys(range)).toEqual(await backend.keys(range));
}

describe('ResidentIndex', () => {
  it('answers every range exactly as the store does, through thousands of puts and deletes', async () => {
    const random = seededRandom(11);
    const backend = memoryBackend();
    await backend.open();
    const index = new ResidentIndex(PREFIX, backend);
    await write(backend, index, batch(put(`i/br.builder/x\0${idPart(1)}`))); // outside the index: ignored
    // Loaded with one builder's entries: the others' groups appear later, in whatever order the writes bring them.
    await write(backend, index, batch(put(entry(3, 1))));
    expect(await index.keys(prefixRange(PREFIX))).toEqual([entry(3, 1)]);
    for (let step = 0; step < 300; step++) {
      const changes = Array.from({ length: 20 }, () => {
        const key = entry(Math.floor(random() * 5), 1 + Math.floor(random() * 1500));
        return random() < 0.6 ? put(key) : del(key);
      });
      await write(backend, index, batch(...changes));
      if (step % 25 === 0) await expectSameAsStore(index, backend, random);
    }
    expect((await backend.keys(prefixRange(PREFIX))).length).toBeGreaterThan(1024); // loaded in more than one read
    await expectSameAsStore(index, backend, random);
  });

  it('loads while writes land, and after forget() reads the store again', async () => {
    const random = seededRandom(12);
    const inner = memoryBackend();
    await inner.open();
    await inner.write(batch(...Array.from({ length: 3000 }, (_, i) => put(entry((i + 1) % 5, i + 1)))));
    const backend = new PausedReads(inner);
    const index = new ResidentIndex(PREFIX, backend);

    const first = index.keys(prefixRange(PREFIX)); // starts loading, held at its first read
    await turn();
    expect(backend.held).toBe(1);
    await write(backend, index, batch(del(entry(1, 1)), put(entry(2, 4000))));
    backend.resume(0); // the first read sees that write; the second (of three) waits
    await turn();
    expect(backend.held).toBe(1);
    // Some of these keys were read already (builder-0), some not yet: the replay covers the first.
    await write(backend, index, batch(del(entry(0, 5)), put(entry(0, 6000)), del(entry(2, 4000)), put(entry(3, 4001)), del(entry(4, 2999))));
    backend.resume();
    expect(await first).toEqual(await inner.keys(prefixRange(PREFIX)));
    await expectSameAsStore(index, inner, random);

    // A failed write may have landed: forget() and the next read loads what the store holds.
    await inner.write(batch(put(entry(0, 5000))));
    index.forget();
    expect(await index.keys(prefixRange(PREFIX))).toEqual(await inner.keys(prefixRange(PREFIX)));

    // forget() in the middle of a load voids it; the reader waiting on it still gets the store's keys.
    index.forget();
    backend.passing = 1;
    const during = index.keys(prefixRange(PREFIX));
    await turn();
    expect(backend.held).toBe(1);
    index.forget();
    await inner.write(batch(put(entry(0, 5001)))); // not told: only a reload sees it
    backend.resume();
    expect(await during).toEqual(await inner.keys(prefixRange(PREFIX)));
  });
});

describe('polling unclaimed requests from memory [coordinator]', () => {
  it('matches what the store holds through claims, unclaims, completions, expiry and failed writes that did or did not land', async () => {
    const random = seededRandom(13);
    const backend = new ControlledBackend();
    let clock = 1_000_000;
    const coordinator = await openCoordinator({ backend, now: () => new Date(clock) });
    const masters = [await coordinator.connect('m0'), await coordinator.connect('m1')];
    const db = masters[0]!;
    const sss = await db.sourcestampsets.addSourceStampSet();
    const brids: number[] = [];
    const builders = ['a', 'b', 'c'];
    const unclaimedInStore = async (buildername: string) => (await backend.keys(prefixRange(buildRequestIndex.unclaimed(buildername)))).map((key) => Number(key.slice(-16)));
    for (let step = 0; step < 400; step++) {
      clock += 1000;
      const master = masters[Math.floor(random() * 2)]!;
      const brid = brids[Math.floor(random() * brids.length)] ?? 0;
      const roll = random();
      if (roll < 0.02) backend.failWrites(1, { code: 'EIO', landed: random() < 0.5 });
      const act = async () => {
        if (roll < 0.15 || brids.length === 0) {
          const [, made] = await db.buildsets.addBuildset({ sourcestampsetid: sss, reason: 'r', properties: {}, builderNames: builders });
          brids.push(...Object.values(made));
        } else if (roll < 0.55) await master.buildrequests.claimBuildRequests([brid]);
        else if (roll < 0.7) await master.buildrequests.unclaimBuildRequests([brid]);
        else if (roll < 0.8) await master.buildrequests.completeBuildRequests([brid], 0);
        else if (roll < 0.85) await master.buildrequests.unclaimExpiredRequests(20);
        else await master.buildrequests.reclaimBuildRequests([brid]);
      };
      await act().catch(() => {}); // refusals and injected failures are part of the walk
      const buildername = builders[step % 3]!;
      const polled = (await master.buildrequests.getBuildRequests({ buildername, claimed: false })).map((br) => br.brid);
      expect(polled).toEqual(await unclaimedInStore(buildername));
    }
    await coordinator.close();
  });
});
