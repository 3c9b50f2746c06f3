// LevelDB only: the lock is held by another OS process, which the in-memory store has no notion of.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openCoordinator, StoreLockedError } from '../../../src/api.ts';

const root = mkdtempSync(join(tmpdir(), 'buildcoord-lock-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Starts a process that opens the store and holds it until its stdin closes. */
async function holdInAnotherProcess(location: string) {
  const script = `
    import { ClassicLevel } from 'classic-level';
    const db = new ClassicLevel(process.argv[1]);
    await db.open();
    process.stdout.write('open\\n');
    process.stdin.resume();
    process.stdin.on('end', async () => { await db.close(); process.exit(0); });
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script, location], { cwd: process.cwd(), stdio: ['pipe', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`holder exited with ${code}`)));
  });
  return {
    release: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.stdin!.end();
      }),
  };
}

describe('store lock [leveldb]', () => {
  it('opening a directory another process holds fails with StoreLockedError, and works once it is released', async () => {
    const location = join(root, 'held');
    const holder = await holdInAnotherProcess(location);
    const refused = await openCoordinator({ location }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(StoreLockedError);
    expect((refused as Error).message).toContain(location);
    await holder.release();
    const coordinator = await openCoordinator({ location });
    await coordinator.close();
  });

  it('a second coordinator on a directory this process holds is refused too', async () => {
    const location = join(root, 'twice');
    const first = await openCoordinator({ location });
    await expect(openCoordinator({ location })).rejects.toThrow(StoreLockedError);
    await first.close();
  });
});
