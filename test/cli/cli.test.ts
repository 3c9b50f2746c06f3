// The `buildcoord` command line as a user runs it: a child process, its output and exit code.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createWebSocketReceiver } from '@statelyai/inspect';
import type { StatelyInspectionEvent } from '@statelyai/inspect';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCoordinator } from '../../src/api.ts';
import type { Summary } from '../../src/view/index.ts';
import { freePort } from '../support/ports.ts';
import { ROOT, cli, ran, start, waitForOutput } from './run.ts';

const root = mkdtempSync(join(tmpdir(), 'buildcoord-cli-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A store with two masters and four requests: linux claimed by m1, macos complete by m2, docs and arm64 unclaimed. */
const store = join(root, 'store');
beforeAll(async () => {
  const coordinator = await openCoordinator({ location: store });
  const [m1, m2] = [await coordinator.connect('m1'), await coordinator.connect('m2')];
  const sss = await m1.sourcestampsets.addSourceStampSet();
  const [, brids] = await m1.buildsets.addBuildset({ sourcestampsetid: sss, reason: 'r', properties: {}, builderNames: ['linux', 'macos', 'docs', 'arm64'] });
  await m1.buildrequests.claimBuildRequests([brids.linux!]);
  await m2.buildrequests.claimBuildRequests([brids.macos!]);
  await m2.buildrequests.completeBuildRequests([brids.macos!], 0);
  const cs = await m1.changesources.findChangeSourceId('git-poller');
  await m1.changesources.setChangeSourceMaster(cs, m2.masterid);
  await coordinator.close();
});

describe('buildcoord', () => {
  it('--help lists every command and the exit codes', async () => {
    const { code, stdout } = await cli(['--help']);
    expect(code).toBe(0);
    for (const command of ['demo', 'serve', 'stats', 'verify', 'bench']) expect(stdout).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
    expect(stdout).toContain('Exit codes:');
  });

  it.each(['demo', 'serve', 'stats', 'verify'])('%s --help explains the command', async (command) => {
    const { code, stdout } = await cli([command, '--help']);
    expect(code).toBe(0);
    expect(stdout).toMatch(new RegExp(`^Usage: buildcoord ${command}`, 'm'));
  });

  it('bench --help shows its own help and the benchmark options', async () => {
    const { code, stdout } = await cli(['bench', '--help']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^Usage: buildcoord bench/m);
    expect(stdout).toContain('--quick');
  });

  it.each([
    [['frobnicate'], /unknown command 'frobnicate'/],
    [['stats'], /missing required argument 'dir'/],
    [['serve', 'STORE', '--port', '70000'], /a port is a whole number/],
    [['demo', '--duration', 'soon'], /positive number of seconds/],
    [['stats', 'STORE', '--colour'], /unknown option '--colour'/],
  ])('bad arguments %j exit 2 and say why', async (args, why) => {
    const { code, stderr } = await cli((args as string[]).map((a) => (a === 'STORE' ? store : a)));
    expect(code).toBe(2);
    expect(stderr).toMatch(why);
  });

  it('no command prints the help and exits 2', async () => {
    const { code, stderr } = await cli([]);
    expect(code).toBe(2);
    expect(stderr).toContain('Usage: buildcoord');
  });

  it('stats counts requests by state, builder and master', async () => {
    const { code, stdout } = await cli(['stats', store]);
    expect(code).toBe(0);
    expect(stdout).toContain('build requests: 4 (unclaimed 2, claimed 1, complete 1)');
    expect(stdout).toMatch(/^linux\s+0\s+1\s+0$/m);
    expect(stdout).toMatch(/^m1\s+1\s+active\s+\S+\s+1\s+0$/m);
    expect(stdout).toMatch(/^git-poller\s+1\s+m2$/m);

    const json = JSON.parse((await cli(['stats', store, '--json'])).stdout);
    expect(json.byBuilder.macos).toEqual({ unclaimed: 0, claimed: 0, complete: 1 });
    expect(json.byMaster.map((m: { name: string; claimed: number; completed: number }) => [m.name, m.claimed, m.completed])).toEqual([
      ['m1', 1, 0],
      ['m2', 0, 1],
    ]);
  });

  it('stats writes nothing: the store verifies and has the same masters afterwards', async () => {
    await cli(['stats', store]);
    const { code, stdout } = await cli(['verify', store]);
    expect(code).toBe(0);
    expect(stdout).toContain('no problems');
    const json = JSON.parse((await cli(['stats', store, '--json'])).stdout);
    expect(json.byMaster).toHaveLength(2);
  });

  it('a missing store exits 3; a store another process holds exits 4', async () => {
    for (const command of ['stats', 'verify', 'serve']) {
      const missing = await cli([command, join(root, 'nowhere')]);
      expect([command, missing.code]).toEqual([command, 3]);
      expect(missing.stderr).toContain('no store at');
      expect(existsSync(join(root, 'nowhere'))).toBe(false); // and nothing was created
    }
    const coordinator = await openCoordinator({ location: store });
    try {
      for (const command of ['stats', 'verify', 'serve']) {
        const held = await cli([command, store]);
        expect([command, held.code]).toEqual([command, 4]);
        expect(held.stderr).toMatch(/held by process \d+ /);
      }
    } finally {
      await coordinator.close();
    }
  });

  it('serve shows the store on 127.0.0.1 until interrupted, then exits 0', async () => {
    const child = start(['serve', store, '--port', '0']);
    const result = ran(child);
    const [, url] = await waitForOutput(child, /live view of .*: (http:\/\/127\.0\.0\.1:\d+\/)/);
    const summary = (await (await fetch(`${url}api/summary`)).json()) as Summary;
    expect(summary.requests).toMatchObject({ total: 4, unclaimed: 2, claimed: 1, complete: 1 });
    expect(summary.changeSources).toEqual([{ id: 1, name: 'git-poller', masterid: 2, master: 'm2' }]);
    child.kill('SIGINT');
    expect((await result).code).toBe(0);
  });

  it('demo runs a farm where a master dies and its claims are taken over, and leaves a sound store', async () => {
    const location = join(root, 'demo');
    const { code, stdout, stderr } = await cli(['demo', '--duration', '2', '--location', location]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^live view: http:\/\/127\.0\.0\.1:\d+\/$/m);
    expect(stdout).toMatch(/master-c dies holding \d+ claim/);
    expect(stdout).toMatch(/claim\(s\) older than 120 s expired/);
    expect(stdout).toMatch(/master-c silent for over 300 s, marked inactive/);
    expect(stdout).toMatch(/takes over change source git-poller/);
    expect(stdout).toMatch(/[1-9]\d* taken over from master-c/);
    expect(stdout).toContain('requests won twice: 0');

    const verified = await cli(['verify', location]);
    expect(verified.code).toBe(0);
    const stats = JSON.parse((await cli(['stats', location, '--json'])).stdout);
    expect(stats.requests.total).toBeGreaterThan(0);
    expect(stats.byMaster.map((m: { name: string; active: boolean }) => [m.name, m.active])).toEqual([
      ['master-a', true],
      ['master-b', true],
      ['master-c', false],
    ]);
  });

  it('demo stops cleanly on Ctrl-C, with its summary, and exits 130', async () => {
    const child = start(['demo', '--duration', '60', '--location', join(root, 'interrupted')]);
    const result = ran(child);
    await waitForOutput(child, /\[sim /);
    child.kill('SIGINT');
    const { code, stdout, stderr } = await result;
    expect(code).toBe(130);
    expect(stdout).toMatch(/^interrupted at tick \d+ of 200/m);
    expect(stderr).toContain('buildcoord: interrupted');
    expect((await cli(['verify', join(root, 'interrupted')])).code).toBe(0);
  });

  it('demo --hold keeps the live view up after the run until Ctrl-C, then exits 0', async () => {
    const child = start(['demo', '--duration', '1', '--location', join(root, 'held'), '--hold']);
    const result = ran(child);
    const [, url] = await waitForOutput(child, /serving the live view at (\S+) until Ctrl-C/);
    const summary = (await (await fetch(`${url}api/summary`)).json()) as Summary;
    expect(summary.masters.map((m) => m.name)).toEqual(['master-a', 'master-b', 'master-c']);
    child.kill('SIGINT');
    expect((await result).code).toBe(0);
  });

  it('demo --inspect reports every actor to the Stately inspector server', async () => {
    const port = await freePort();
    const child = start(['demo', '--duration', '2', '--location', join(root, 'inspected'), '--inspect', '--inspect-port', String(port)]);
    const result = ran(child);
    await waitForOutput(child, new RegExp(`Stately inspector: http://127\\.0\\.0\\.1:${port}/`));
    const receiver = createWebSocketReceiver({ server: `ws://127.0.0.1:${port}` });
    const names = new Map<string, string>();
    const values = new Map<string, string[]>();
    const done = new Promise<string>((resolve) => {
      receiver.subscribe((event: StatelyInspectionEvent) => {
        if (event.type === '@xstate.actor') names.set(event.sessionId, event.name);
        if (event.type !== '@xstate.snapshot') return;
        const list = [...(values.get(event.sessionId) ?? []), (event.snapshot as unknown as { value: string }).value];
        values.set(event.sessionId, list);
        const name = names.get(event.sessionId) ?? '';
        // A request seen claimed and then complete, under its systemId.
        if (/^br:\d+$/.test(name) && list.indexOf('claimed') >= 0 && list.lastIndexOf('complete') > list.indexOf('claimed')) resolve(name);
      });
    });
    expect(await done).toMatch(/^br:\d+$/);
    expect((await result).code).toBe(0);
  });

  it.runIf(existsSync(join(ROOT, 'dist/cli/main.js')))('bin/buildcoord.js runs the built command line', async () => {
    const { code, stdout } = await ran(start(['--help'], ['bin/buildcoord.js']));
    expect(code).toBe(0);
    expect(stdout).toContain('Usage: buildcoord');
  });
});
