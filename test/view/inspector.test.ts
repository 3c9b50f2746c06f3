// The README's inspector example, end to end: the local inspector server
// (startInspectorServer, @statelyai/inspect's server on 127.0.0.1), a WebSocket
// inspector given to the coordinator, and a WebSocket receiver standing in for
// the Stately inspector page. Then what the server lets in.
import { createWebSocketInspector, createWebSocketReceiver } from '@statelyai/inspect';
import type { StatelyInspectionEvent } from '@statelyai/inspect';
import { describe, expect, it } from 'vitest';
import { openCoordinator } from '../../src/api.ts';
import { startInspectorServer } from '../../src/view/index.ts';
import { accepts, statusWithHost, upgradeStatus } from './net.ts';

describe('the Stately inspector', () => {
  it('a WebSocket receiver gets the snapshots of a request that was claimed and completed', async () => {
    const server = await startInspectorServer({ port: 0 });
    expect(server.wsUrl).toBe(`ws://127.0.0.1:${server.port}`);
    const inspector = createWebSocketInspector({ url: server.wsUrl });
    const receiver = createWebSocketReceiver({ server: server.wsUrl });

    // Actors are named by their systemId (br:<brid>); snapshots name the actor's session.
    const names = new Map<string, string>();
    const values = new Map<string, string[]>();
    let check = () => {};
    const subscription = receiver.subscribe((event: StatelyInspectionEvent) => {
      if (event.type === '@xstate.actor') names.set(event.sessionId, event.name);
      if (event.type === '@xstate.snapshot') {
        const snapshot = event.snapshot as { value?: string; status?: string };
        if (snapshot.status === 'active') values.set(event.sessionId, [...(values.get(event.sessionId) ?? []), snapshot.value!]);
      }
      check();
    });
    const statesOf = (actor: string) => [...values].filter(([session]) => names.get(session) === actor).flatMap(([, v]) => v);

    const coordinator = await openCoordinator({ inspect: inspector.inspect });
    const db = await coordinator.connect('master-1');
    const sss = await db.sourcestampsets.addSourceStampSet();
    const [, brids] = await db.buildsets.addBuildset({ sourcestampsetid: sss, reason: 'push', properties: {}, builderNames: ['linux'] });
    await db.buildrequests.claimBuildRequests([brids.linux!]);
    await db.buildrequests.completeBuildRequests([brids.linux!], 0);
    const actor = `br:${brids.linux}`;

    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`snapshots of ${actor} so far: ${JSON.stringify(statesOf(actor))}`)), 15_000);
        check = () => {
          if (statesOf(actor).includes('complete')) {
            clearTimeout(timer);
            resolve();
          }
        };
        check();
      });
      expect(statesOf(actor)).toEqual(['unclaimed', 'claimed', 'complete']);
    } finally {
      subscription.unsubscribe();
      await coordinator.close();
      inspector.stop();
      await server.close();
    }
  });

  it('serves the page that frames stately.ai and connects back to the address it came from', async () => {
    const server = await startInspectorServer({ port: 0 });
    try {
      const response = await fetch(server.url);
      expect(response.status).toBe(200);
      const html = await response.text();
      expect(html).toContain('<iframe id="inspector" src="https://stately.ai/inspect">');
      expect(html).toContain("new WebSocket('ws://' + location.host)");
      expect(await statusWithHost(server.url, `evil.example:${server.port}`)).toBe(403);
      expect(await statusWithHost(server.url, `localhost:${server.port}`)).toBe(200);
    } finally {
      await server.close();
    }
  });

  it('takes WebSocket connections from its own page and from Node, not from other sites or names', async () => {
    const server = await startInspectorServer({ port: 0 });
    try {
      expect(await upgradeStatus(server.port)).toBe(101); // Node's clients send no Origin
      expect(await upgradeStatus(server.port, { origin: `http://127.0.0.1:${server.port}` })).toBe(101);
      expect(await upgradeStatus(server.port, { origin: `http://localhost:${server.port}` })).toBe(101);
      expect(await upgradeStatus(server.port, { origin: 'https://evil.example' })).toBe(403);
      expect(await upgradeStatus(server.port, { host: `evil.example:${server.port}` })).toBe(403);
    } finally {
      await server.close();
    }
  });

  it('close() drops the connected clients and stops listening', async () => {
    const server = await startInspectorServer({ port: 0 });
    const receiver = createWebSocketReceiver({ server: server.wsUrl });
    const inspector = createWebSocketInspector({ url: server.wsUrl });
    // One relayed event shows both are connected.
    const got = new Promise<void>((resolve) => receiver.subscribe(() => resolve()));
    const coordinator = await openCoordinator({ inspect: inspector.inspect });
    const db = await coordinator.connect('master-1');
    const sss = await db.sourcestampsets.addSourceStampSet();
    await db.buildsets.addBuildset({ sourcestampsetid: sss, reason: 'push', properties: {}, builderNames: ['linux'] });
    await got;
    await server.close(); // would not resolve while a client held its connection
    inspector.stop();
    await coordinator.close();
    expect(await accepts('127.0.0.1', server.port)).toBe(false);
  });
});
