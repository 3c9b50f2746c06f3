// LevelDB only: one store directory reached by several spellings of its path, in this process and another.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openCoordinator, StoreLockedError, verify } from '../../src/api.ts';
import { fingerprint } from './prober.ts';

const root = mkdtempSync(join(tmpdir(), 'buildcoord-alias-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let stores = 0;

/** A store directory and every other way to spell it. */
function spellings(): { location: string; aliases: string[] } {
  const location = join(root, `store-${++stores}`);
  mkdirSync(location);
  const link = join(root, `link-${stores}`);
  symlinkSync(location, link);
  const aliases = [`${location}/`, `${location}//`, link, `${link}/`, relative(process.cwd(), location), `${root}/x/../${basename(location)}`, `${root}/./${basename(location)}`];
  mkdirSync(join(root, 'x'), { recursive: true });
  return { location, aliases };
}

/** Opens the store in another process (by `location`) and holds it until released. */
async function holdInAnotherProcess(location: string) {
  const script = `
    const { openCoordinator } = await import(${JSON.stringify(join(process.cwd(), 'src/api.ts'))});
    const coordinator = await openCoordinator({ location: process.argv[1] });
    process.stdout.write(process.pid + '\\n');
    process.stdin.resume();
    process.stdin.on('end', async () => { await coordinator.close(); process.exit(0); });
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, location], { stdio: ['pipe', 'pipe', 'inherit'] });
  const pid = await new Promise<number>((resolve, reject) => {
    child.stdout!.once('data', (data) => resolve(Number(String(data).trim())));
    child.once('exit', (code) => reject(new Error(`holder exited with ${code}`)));
  });
  const release = () =>
    new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.stdin!.end();
    });
  return { pid, release };
}

describe('one store, one open, however it is spelled [leveldb]', () => {
  it('a second open in this process under any other spelling is refused, and says so', async () => {
    const { location, aliases } = spellings();
    const first = await openCoordinator({ location });
    for (const alias of [location, ...aliases]) {
      const refused = await openCoordinator({ location: alias }).catch((error: unknown) => error);
      expect(refused, alias).toBeInstanceOf(StoreLockedError);
      expect((refused as Error).message).toMatch(/already open in this process/);
    }
    await first.close();
    for (const alias of aliases) await (await openCoordinator({ location: alias })).close(); // each works alone
  });

  it('opened through a symlink first, the real path is refused too', async () => {
    const { location, aliases } = spellings();
    const first = await openCoordinator({ location: aliases[2]! });
    await expect(openCoordinator({ location })).rejects.toThrow(StoreLockedError);
    await first.close();
  });

  it('a store another process holds is refused under every spelling, naming that process', async () => {
    const { location, aliases } = spellings();
    const holder = await holdInAnotherProcess(aliases[2]!);
    try {
      for (const alias of [location, ...aliases]) {
        const refused = await openCoordinator({ location: alias }).catch((error: unknown) => error);
        expect(refused, alias).toBeInstanceOf(StoreLockedError);
        expect((refused as Error).message).toContain(`process ${holder.pid}`);
      }
      await expect(verify(location)).rejects.toThrow(StoreLockedError);
    } finally {
      await holder.release();
    }
  });

  it('verify refuses a store open in this process, and reads a closed one without changing a byte', async () => {
    const { location } = spellings();
    const coordinator = await openCoordinator({ location });
    const db = await coordinator.connect('m');
    const sss = await db.sourcestampsets.addSourceStampSet();
    await db.buildsets.addBuildset({ sourcestampsetid: sss, reason: 'r', properties: {}, builderNames: ['a'] });
    await expect(verify(`${location}/`)).rejects.toThrow(StoreLockedError);
    await coordinator.close();
    const before = fingerprint(location);
    expect((await verify(location)).ok).toBe(true);
    expect(fingerprint(location)).toEqual(before);
  });
});
