// --host of serve and demo: the live view and the inspector server listen on
// 127.0.0.1 unless told otherwise, on the host given when told, and a host this
// machine cannot listen on is a usage error (exit 2) said in one line. Only
// addresses of this machine are ever connected to; without a non-loopback
// address the tests that need one are skipped (test/view/binding.test.ts then
// still checks where the servers' sockets are bound).
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import type { Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCoordinator } from '../../src/api.ts';
import type { Summary } from '../../src/view/index.ts';
import { freePort } from '../support/ports.ts';
import { accepts, externalIPv4 } from '../view/net.ts';
import { cli, ran, start, waitForOutput } from './run.ts';

const external = externalIPv4();
/** An address of no machine here (TEST-NET-3): listening there fails, and nothing is ever sent to it. */
const ELSEWHERE = '203.0.113.7';

const root = mkdtempSync(join(tmpdir(), 'buildcoord-host-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A store with one master and two requests. */
const store = join(root, 'store');
beforeAll(async () => {
  const coordinator = await openCoordinator({ location: store });
  const db = await coordinator.connect('m1');
  const sss = await db.sourcestampsets.addSourceStampSet();
  await db.buildsets.addBuildset({ sourcestampsetid: sss, reason: 'r', properties: {}, builderNames: ['linux', 'macos'] });
  await coordinator.close();
});

const portOf = (url: string) => Number(new URL(url).port);

describe('--host', () => {
  it('serve listens on 127.0.0.1 only by default', async () => {
    const child = start(['serve', store, '--port', '0']);
    const result = ran(child);
    try {
      const [, url] = await waitForOutput(child, /live view of .*: (http:\/\/127\.0\.0\.1:\d+\/)\n/);
      expect(await accepts('127.0.0.1', portOf(url!))).toBe(true);
      if (external) expect(await accepts(external, portOf(url!))).toBe(false);
    } finally {
      child.kill('SIGINT');
    }
    expect((await result).code).toBe(0);
  });

  it.runIf(external)("serve --host 0.0.0.0 serves the store on this machine's other addresses too", async () => {
    const child = start(['serve', store, '--port', '0', '--host', '0.0.0.0']);
    const result = ran(child);
    try {
      const [, url] = await waitForOutput(child, /live view of .*: (http:\/\/127\.0\.0\.1:\d+\/) \(listening on 0\.0\.0\.0: every interface\)/);
      const summary = (await (await fetch(`http://${external}:${portOf(url!)}/api/summary`)).json()) as Summary;
      expect(summary.requests.total).toBe(2);
    } finally {
      child.kill('SIGINT');
    }
    expect((await result).code).toBe(0);
  });

  it.runIf(external)("serve --host <one interface's address> listens there and not on 127.0.0.1", async () => {
    const child = start(['serve', store, '--port', '0', '--host', external!]);
    const result = ran(child);
    try {
      const [, url] = await waitForOutput(child, /live view of .*: (http:\/\/\S+\/)\n/);
      expect(url).toMatch(new RegExp(`^http://${external!.replaceAll('.', '\\.')}:\\d+/$`));
      expect((await fetch(`${url}api/summary`)).status).toBe(200);
      expect(await accepts('127.0.0.1', portOf(url!))).toBe(false);
    } finally {
      child.kill('SIGINT');
    }
    expect((await result).code).toBe(0);
  });

  it('demo: the live view and the inspector server listen on 127.0.0.1 only by default', async () => {
    const inspectPort = await freePort();
    const child = start(['demo', '--duration', '0.5', '--location', join(root, 'demo-default'), '--inspect', '--inspect-port', String(inspectPort), '--hold']);
    const result = ran(child);
    try {
      const [, url] = await waitForOutput(child, /serving the live view at (http:\/\/127\.0\.0\.1:\d+\/) until Ctrl-C/);
      for (const port of [portOf(url!), inspectPort]) {
        expect([port, await accepts('127.0.0.1', port)]).toEqual([port, true]);
        if (external) expect([port, await accepts(external, port)]).toEqual([port, false]);
      }
    } finally {
      child.kill('SIGINT');
    }
    expect((await result).code).toBe(0);
  });

  it.runIf(external)('demo --host 0.0.0.0 puts the live view and the inspector server on every interface', async () => {
    const inspectPort = await freePort();
    const child = start([
      'demo',
      '--duration',
      '0.5',
      '--location',
      join(root, 'demo-everywhere'),
      '--host',
      '0.0.0.0',
      '--inspect',
      '--inspect-port',
      String(inspectPort),
      '--hold',
    ]);
    const result = ran(child);
    try {
      const [, url] = await waitForOutput(child, /serving the live view at (http:\/\/127\.0\.0\.1:\d+\/) until Ctrl-C/);
      for (const port of [portOf(url!), inspectPort]) expect([port, await accepts(external!, port)]).toEqual([port, true]);
      expect((await fetch(`http://${external}:${inspectPort}/`)).status).toBe(200); // the inspector page, by this address
    } finally {
      child.kill('SIGINT');
    }
    const { code, stdout } = await result;
    expect(code).toBe(0);
    expect(stdout).toMatch(/^live view: http:\/\/127\.0\.0\.1:\d+\/ \(listening on 0\.0\.0\.0: every interface\)$/m);
    expect(stdout).toContain(`Stately inspector: http://127.0.0.1:${inspectPort}/ (listening on 0.0.0.0: every interface)`);
  });

  it.each([
    [['serve', 'STORE', '--host', ''], /^error: option '--host <host>' argument '' is invalid\. give an address or host name/],
    [['demo', '--host', '127.0.0.1:8010'], /^error: option '--host <host>' argument '127\.0\.0\.1:8010' is invalid\. .*no scheme, port or path/],
    [['serve', 'STORE', '--host', 'http://localhost'], /^error: option '--host <host>' argument 'http:\/\/localhost' is invalid/],
  ])('a malformed host %j is a usage error (exit 2)', async (args, why) => {
    const { code, stdout, stderr } = await cli((args as string[]).map((a) => (a === 'STORE' ? store : a)));
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(why);
  });

  it.each([
    ['serve', store],
    ['demo', '--location', join(root, 'demo-elsewhere'), '--inspect'],
  ])('%s with a host this machine has not is a usage error (exit 2) in one line, before anything starts', async (...args) => {
    const { code, stdout, stderr } = await cli([...args, '--host', ELSEWHERE]);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toBe(`buildcoord: cannot listen on --host ${ELSEWHERE}: not an address of this machine\n`);
    expect(existsSync(join(root, 'demo-elsewhere'))).toBe(false); // the demo's store was not created
  });

  it('demo --inspect-port in use on the host is a usage error (exit 2) in one line', async () => {
    const taken: Server = await new Promise((resolve) => {
      const s = createServer();
      s.listen(0, '127.0.0.1', () => resolve(s));
    });
    try {
      const { port } = taken.address() as { port: number };
      const { code, stderr } = await cli(['demo', '--location', join(root, 'demo-taken'), '--inspect', '--inspect-port', String(port)]);
      expect(code).toBe(2);
      expect(stderr).toBe(`buildcoord: port ${port} on 127.0.0.1 is in use; give another with --inspect-port\n`);
      expect(existsSync(join(root, 'demo-taken'))).toBe(false);
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });
});
