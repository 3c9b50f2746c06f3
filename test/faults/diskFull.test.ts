// LevelDB only: a real file system fills up, a small tmpfs mounted here (this needs root; CI runs as root).
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { openCoordinator, StorageError, verify } from '../../src/api.ts';
import { fingerprint } from './prober.ts';
import type { DiskFullReport } from './diskFull.ts';

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'diskFull.ts');

function mountTmpfs(size: string): string {
  const mount = mkdtempSync(join(tmpdir(), 'buildcoord-full-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', mount], { stdio: 'pipe' });
  return mount;
}

function unmount(mount: string): void {
  execFileSync('umount', [mount], { stdio: 'pipe' });
  rmSync(mount, { recursive: true, force: true });
}

/** Whether this machine lets the test mount a tmpfs, and if not, why. */
const mountable: string | null = (() => {
  try {
    unmount(mountTmpfs('1m'));
    return null;
  } catch (error) {
    return `cannot mount a tmpfs here (${String((error as Error).message).split('\n')[0]}); mounting needs root`;
  }
})();
if (mountable !== null) {
  if (process.env.CI === 'true') throw new Error(`the full-disk suite must run in CI: ${mountable}`);
  console.log(`SKIPPED full-disk suite: ${mountable}`);
}

async function runFarm(mount: string, durability: string, phase: string): Promise<DiskFullReport> {
  const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT, mount, durability, phase], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const [code, signal] = await new Promise<[number | null, string | null]>((resolve) => child.once('exit', (c, s) => resolve([c, s])));
  expect({ code, signal, stderr: stderr.slice(-3000) }).toMatchObject({ code: 0, signal: null }); // no crash, no abort
  return JSON.parse(stdout.trim().split('\n').pop()!) as DiskFullReport;
}

describe.skipIf(mountable !== null)('a full disk, then freed [leveldb, tmpfs]', () => {
  const cases = [
    { phase: 'log', durability: 'sync', size: '4m', what: 'during a write-ahead log write', failing: /\.log: No space left/ },
    { phase: 'log', durability: 'buffered', size: '4m', what: 'during a write-ahead log write', failing: /\.log: No space left/ },
    // The fill leaves room for the log but not for the table a memtable flush writes: LevelDB's background error.
    { phase: 'flush', durability: 'sync', size: '12m', what: 'during a memtable flush', failing: /\.ldb: No space left/ },
    { phase: 'flush', durability: 'buffered', size: '12m', what: 'during a memtable flush', failing: /\.ldb: No space left/ },
  ];
  for (const { phase, durability, size, what, failing } of cases) {
    it(`${what}, at ${durability}: StorageError while full, writes again once freed (no restart), every acknowledged write on reopen`, async () => {
      const mount = mountTmpfs(size);
      try {
        const report = await runFarm(mount, durability, phase);
        expect(report.untyped).toEqual([]);
        expect(report.refused, 'the disk filled while the farm wrote').toBeGreaterThan(0);
        expect(report.firstRefusal).toMatch(failing);
        expect(report.recovered).toBe(true);
        expect(report.missingBeforeReopen).toEqual([]);
        expect(report.missing).toEqual([]);
        expect(report.verifyProblems).toEqual([]);
      } finally {
        unmount(mount);
      }
    }, 120_000);
  }
});

describe.skipIf(mountable !== null)('a read-only file system [leveldb, tmpfs]', () => {
  it('opening is a StorageError that names the reason; verify still reads it, through a copy elsewhere', async () => {
    const mount = mountTmpfs('4m');
    try {
      const location = join(mount, 'store');
      const coordinator = await openCoordinator({ location });
      const db = await coordinator.connect('m');
      const sss = await db.sourcestampsets.addSourceStampSet();
      await db.buildsets.addBuildset({ sourcestampsetid: sss, reason: 'r', properties: {}, builderNames: ['a', 'b'] });
      await coordinator.close();
      execFileSync('mount', ['-o', 'remount,ro', mount], { stdio: 'pipe' });
      const before = fingerprint(location);
      const refused = await openCoordinator({ location }).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(StorageError);
      expect((refused as Error).message).toMatch(/Read-only file system/);
      expect((refused as Error).message).not.toMatch(/^Database failed to open$/);
      const report = await verify(location);
      expect(report.problems).toEqual([]);
      expect(report.records).toBeGreaterThan(0);
      expect(fingerprint(location)).toEqual(before);
    } finally {
      unmount(mount);
    }
  });
});

describe.skipIf(mountable !== null)('a new store on a full disk [leveldb, tmpfs]', () => {
  it('is a StorageError that says the disk is full, not a raw Node error', async () => {
    const mount = mountTmpfs('1m');
    try {
      execFileSync('sh', ['-c', `dd if=/dev/zero of=${join(mount, 'filler')} bs=4k 2>/dev/null || true`]);
      const refused = await openCoordinator({ location: join(mount, 'store') }).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(StorageError);
      expect((refused as Error).message).toMatch(/no space left on device/i);
    } finally {
      unmount(mount);
    }
  });
});
