// LevelDB only: the commit mark is a file beside the store.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CommitMark } from '../../../src/persistence/leveldb/commitMark.ts';
import { decode } from '../../../src/persistence/codec.ts';
import { LevelDBBackend, levelDBBackend } from '../../../src/persistence/leveldb/backend.ts';
import type { WriteBatch } from '../../../src/persistence/backend.ts';

/** A LevelDB backend whose store writes wait for `release()`, so a test can look at the mark meanwhile. */
class GatedLevelDB extends LevelDBBackend {
  private gate: Promise<void> | null = null;
  release: () => void = () => {};

  hold(): void {
    this.gate = new Promise((resolve) => {
      this.release = () => {
        this.gate = null;
        resolve();
      };
    });
  }

  protected override chained(batch: WriteBatch) {
    const chained = super.chained(batch);
    if (chained instanceof Promise) throw new Error('the gate takes small batches only');
    const gate = this.gate;
    const gated = {
      put: (key: string, value: Uint8Array) => {
        chained.put(key, value);
        return gated;
      },
      write: async (options: object) => {
        await gate;
        return chained.write(options);
      },
    };
    return gated as unknown as typeof chained;
  }
}

const root = mkdtempSync(join(tmpdir(), 'buildcoord-mark-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let stores = 0;

const markOf = async (location: string) => {
  const mark = await CommitMark.read(location);
  if (mark.state !== 'ok') throw new Error(`mark ${mark.state}`);
  return mark.sequence;
};
const sequenceOf = async (backend: LevelDBBackend) => decode<number>((await backend.get('m/commit'))!);
const idle = () => new Promise((resolve) => setTimeout(resolve, 20));

async function opened(): Promise<{ backend: LevelDBBackend; location: string }> {
  const location = join(root, `store-${++stores}`);
  const backend = levelDBBackend(location);
  await backend.open();
  return { backend, location };
}

describe('the commit mark [leveldb]', () => {
  it('never names a write before it is durable, and trails the store by at most one write', async () => {
    const location = join(root, `store-${++stores}`);
    const backend = new GatedLevelDB(location);
    await backend.open();
    for (let i = 1; i <= 20; i++) {
      backend.hold();
      const write = backend.write(new Map([[`k/${i}`, new Uint8Array([i])]]), { sync: true });
      await idle(); // time for any mark write to land while the store write waits
      expect(await markOf(location)).toBeLessThan(i); // not this write: it is not durable yet
      backend.release();
      await write;
      expect(await sequenceOf(backend)).toBe(i);
      expect(await markOf(location)).toBeGreaterThanOrEqual(i - 1);
    }
    await backend.close();
  });

  it('catches up with the store once writes stop, and at close', async () => {
    const { backend, location } = await opened();
    await backend.write(new Map([['a', new Uint8Array([1])]]), { sync: true });
    await backend.write(new Map([['b', new Uint8Array([2])]]), { sync: true });
    await idle();
    expect(await markOf(location)).toBe(2);
    await backend.write(new Map([['c', new Uint8Array([3])]]), { sync: true });
    await backend.close();
    expect(await markOf(location)).toBe(3);
  });

  it("each write carries its sequence number without touching the caller's batch", async () => {
    const { backend } = await opened();
    const batch = new Map([['a', new Uint8Array([1])]]);
    await backend.write(batch, { sync: true });
    expect([...batch.keys()]).toEqual(['a']);
    expect(backend.lastStamp()[0]).toBe('m/commit');
    expect(decode<number>(backend.lastStamp()[1])).toBe(1);
    await backend.close();
  });
});

describe('the commit mark file [leveldb]', () => {
  it('carries a checksum: a garbled, cut or foreign mark reads as damaged, not as a number', async () => {
    const location = join(root, `mark-${++stores}`);
    mkdirSync(location);
    await CommitMark.create(location, 41);
    expect(await CommitMark.read(location)).toEqual({ state: 'ok', sequence: 41, legacy: false });
    const text = readFileSync(join(location, CommitMark.FILE), 'latin1');
    const damaged = [text.replace('41', '42'), text.slice(0, 20), '', 'x'.repeat(48), text.replace(/ [0-9a-f]{8}\n$/, ' 00000000\n')];
    for (const garbled of damaged) {
      writeFileSync(join(location, CommitMark.FILE), garbled);
      expect((await CommitMark.read(location)).state, JSON.stringify(garbled)).toBe('damaged');
    }
    rmSync(join(location, CommitMark.FILE));
    expect(await CommitMark.read(location)).toEqual({ state: 'missing' });
  });

  it('a mark in the old format (bare digits) is read, and rewritten with a checksum on open', async () => {
    const { backend, location } = await opened();
    await backend.write(new Map([['a', new Uint8Array([1])]]), { sync: true });
    await backend.close();
    writeFileSync(join(location, CommitMark.FILE), '00000000000000000001');
    expect(await CommitMark.read(location)).toEqual({ state: 'ok', sequence: 1, legacy: true });
    const reopened = levelDBBackend(location);
    await reopened.open();
    await reopened.close();
    expect(await CommitMark.read(location)).toEqual({ state: 'ok', sequence: 1, legacy: false });
  });

  it('a store with commits and no mark is refused; so is a mark with no store', async () => {
    const { backend, location } = await opened();
    await backend.write(new Map([['a', new Uint8Array([1])]]), { sync: true });
    await backend.close();
    const mark = readFileSync(join(location, CommitMark.FILE));
    rmSync(join(location, CommitMark.FILE));
    await expect(levelDBBackend(location).open()).rejects.toThrow(/BUILDCOORD-COMMIT: missing/);
    const empty = join(root, `bare-${++stores}`);
    mkdirSync(empty);
    writeFileSync(join(empty, CommitMark.FILE), mark);
    await expect(levelDBBackend(empty).open()).rejects.toThrow(/files are gone, but its commit mark says 1 writes/);
  });
});
