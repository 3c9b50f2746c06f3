// LevelDB only: salvage works on a damaged store's files.
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCoordinator, salvage, StoreDamagedError } from '../../src/api.ts';
import { CommitMark } from '../../src/persistence/leveldb/commitMark.ts';
import { addBuildsets, emptyFacts } from './farm.ts';
import { fingerprint } from './prober.ts';

const root = mkdtempSync(join(tmpdir(), 'buildcoord-salvage-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let template: string;
let copies = 0;

beforeAll(async () => {
  template = join(root, 'template');
  const coordinator = await openCoordinator({ location: template });
  await addBuildsets(await coordinator.connect('m1'), emptyFacts(), 80, 500);
  await coordinator.close();
});

function copy(): string {
  const location = join(root, `case-${++copies}`);
  cpSync(template, location, { recursive: true });
  return location;
}

const logOf = (location: string) => join(location, readdirSync(location).find((name) => name.endsWith('.log'))!);

describe('salvage [leveldb]', () => {
  it('accepts the loss of a damaged log: keeps the evidence, opens with what was readable, says what the loss left', async () => {
    const location = copy();
    const log = logOf(location);
    const bytes = readFileSync(log);
    bytes[Math.floor(bytes.length / 2)]! ^= 0xff;
    writeFileSync(log, bytes);
    const damaged = fingerprint(location);
    await expect(openCoordinator({ location })).rejects.toThrow(StoreDamagedError);

    const result = await salvage(location, new Date('2026-11-27T12:00:00Z'));
    expect(fingerprint(result.evidence)).toEqual(damaged); // the store as it was, kept
    expect(result.sequence).toBeGreaterThan(0);
    const coordinator = await openCoordinator({ location });
    const db = await coordinator.connect('m1');
    const kept = (await db.buildrequests.getBuildRequests()).length;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(160); // the damaged block's writes are gone
    await coordinator.close();
  });

  it('resets a garbled commit mark', async () => {
    const location = copy();
    writeFileSync(join(location, CommitMark.FILE), 'garbage');
    await expect(openCoordinator({ location })).rejects.toThrow(StoreDamagedError);
    const result = await salvage(location);
    expect(result.report.ok).toBe(true);
    const coordinator = await openCoordinator({ location });
    expect(await (await coordinator.connect('m1')).buildrequests.getBuildRequests()).toHaveLength(160);
    await coordinator.close();
  });

  it('refuses a damaged table, CURRENT or MANIFEST, and changes nothing', async () => {
    const location = copy();
    writeFileSync(join(location, 'CURRENT'), 'nonsense\n');
    const before = fingerprint(location);
    await expect(salvage(location)).rejects.toThrow(/restore this store from a backup/);
    expect(fingerprint(location)).toEqual(before);
    expect(readdirSync(root).filter((name) => name.startsWith(`case-${copies}.damaged`))).toEqual([]);
  });

  it('refuses a directory that holds no store', async () => {
    await expect(salvage(join(root, 'nothing-here'))).rejects.toThrow(/no store/);
    expect(existsSync(join(root, 'nothing-here'))).toBe(false);
    expect(statSync(template).isDirectory()).toBe(true);
  });
});
