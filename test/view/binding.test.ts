// Where the live view and the inspector server listen: 127.0.0.1 unless given
// a host. "Refused on the machine's own non-loopback address" is the proof that
// a server is not on every interface; a machine without such an address can
// only be asked through the socket's address() (the `host` both report), which
// every test checks as well.
import { createServer } from 'node:net';
import type { Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { openCoordinator } from '../../src/api.ts';
import type { Connector, Coordinator } from '../../src/api.ts';
import { startInspectorServer, startLiveView } from '../../src/view/index.ts';
import type { InspectorServer, LiveView } from '../../src/view/index.ts';
import { accepts, externalIPv4, statusWithHost } from './net.ts';

const external = externalIPv4();
/** An address of no machine here (TEST-NET-3): listening there fails, and nothing is ever sent to it. */
const ELSEWHERE = '203.0.113.7';

let closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.reverse()) await close();
  closers = [];
});

async function connector(): Promise<Connector> {
  const coordinator: Coordinator = await openCoordinator();
  closers.push(() => coordinator.close());
  return coordinator.connect('master-a');
}

async function liveView(host?: string): Promise<LiveView> {
  const view = await startLiveView(await connector(), host === undefined ? {} : { host });
  closers.push(() => view.close());
  return view;
}

async function inspectorServer(host?: string): Promise<InspectorServer> {
  const server = await startInspectorServer(host === undefined ? { port: 0 } : { host, port: 0 });
  closers.push(() => server.close());
  return server;
}

const servers = [
  ['the live view', liveView],
  ['the inspector server', inspectorServer],
] as const;

describe.each(servers)('%s', (_, start) => {
  it('listens on 127.0.0.1 only by default', async () => {
    const server = await start();
    expect(server.host).toBe('127.0.0.1');
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/`);
    expect(await accepts('127.0.0.1', server.port)).toBe(true);
    // Without a non-loopback address, the socket's own address above is all there is to go by.
    if (external) expect(await accepts(external, server.port)).toBe(false);
  });

  it("listens on every interface with host 0.0.0.0, and answers to this machine's addresses", async () => {
    const server = await start('0.0.0.0');
    expect(server.host).toBe('0.0.0.0');
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/`);
    expect(await accepts('127.0.0.1', server.port)).toBe(true);
    if (external) {
      expect(await accepts(external, server.port)).toBe(true);
      expect(await statusWithHost(`http://${external}:${server.port}/`, `${external}:${server.port}`)).toBe(200);
    }
    // Still not to another name (DNS rebinding).
    expect(await statusWithHost(server.url, `evil.example:${server.port}`)).toBe(403);
  });

  it.runIf(external)("listens on one interface's address only when given it", async () => {
    const server = await start(external);
    expect(server.host).toBe(external);
    expect(server.url).toBe(`http://${external}:${server.port}/`);
    expect(await accepts(external!, server.port)).toBe(true);
    expect(await accepts('127.0.0.1', server.port)).toBe(false);
    expect((await fetch(server.url)).status).toBe(200);
  });

  it("rejects an address that is not this machine's", async () => {
    await expect(start(ELSEWHERE)).rejects.toMatchObject({ code: 'EADDRNOTAVAIL' });
  });
});

describe('the inspector server', () => {
  it('rejects a port in use instead of failing later (createInspectorServer cannot tell)', async () => {
    const taken: Server = await new Promise((resolve) => {
      const s = createServer();
      s.listen(0, '127.0.0.1', () => resolve(s));
    });
    try {
      const { port } = taken.address() as { port: number };
      await expect(startInspectorServer({ port })).rejects.toMatchObject({ code: 'EADDRINUSE' });
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });
});
