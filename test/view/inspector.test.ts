// The README's inspector example, end to end: @statelyai/inspect's local inspector
// server, a WebSocket inspector given to the coordinator, and a WebSocket receiver
// standing in for the Stately inspector page.
import { createWebSocketInspector, createWebSocketReceiver } from '@statelyai/inspect';
import type { StatelyInspectionEvent } from '@statelyai/inspect';
import { createInspectorServer } from '@statelyai/inspect/server';
import { describe, expect, it } from 'vitest';
import { openCoordinator } from '../../src/api.ts';
import { freePort } from '../support/ports.ts';

describe('the Stately inspector', () => {
  it('a WebSocket receiver gets the snapshots of a request that was claimed and completed', async () => {
    const port = await freePort();
    const server = createInspectorServer({ port, autoOpen: false });
    const inspector = createWebSocketInspector({ url: `ws://localhost:${port}` });
    const receiver = createWebSocketReceiver({ server: `ws://localhost:${port}` });

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
          if (statesOf(actor).includes('complete')) (clearTimeout(timer), resolve());
        };
        check();
      });
      expect(statesOf(actor)).toEqual(['unclaimed', 'claimed', 'complete']);
    } finally {
      subscription.unsubscribe();
      await coordinator.close();
      inspector.stop();
      server.stop();
    }
  });
});
