import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { openCoordinator } from '../../src/api.ts';
import type { Connector, Coordinator } from '../../src/api.ts';
import { createLiveFeed, startLiveView } from '../../src/view/index.ts';
import type { LiveView, Summary, Transition } from '../../src/view/index.ts';
import { openEventStream } from './sse.ts';

const T0 = new Date('2024-05-01T12:00:00Z');
let open: { coordinator: Coordinator; view: LiveView }[] = [];
afterEach(async () => {
  for (const { coordinator, view } of open) {
    await view.close();
    await coordinator.close();
  }
  open = [];
});

/** Two masters, a change source owned by the first, a buildset of three requests: one claimed, one complete. */
async function farm(): Promise<{ a: Connector; b: Connector; brids: Record<string, number>; view: LiveView }> {
  const feed = createLiveFeed({ now: () => T0 });
  const coordinator = await openCoordinator({ inspect: feed.inspect, now: () => T0 });
  const [a, b] = [await coordinator.connect('master-a'), await coordinator.connect('master-b')];
  const cs = await a.changesources.findChangeSourceId('git-poller');
  await a.changesources.setChangeSourceMaster(cs, a.masterid);
  const sss = await a.sourcestampsets.addSourceStampSet();
  const [, brids] = await a.buildsets.addBuildset({ sourcestampsetid: sss, reason: 'r', properties: {}, builderNames: ['linux', 'macos', 'docs'] });
  await a.buildrequests.claimBuildRequests([brids.linux!]);
  await b.buildrequests.claimBuildRequests([brids.docs!]);
  await b.buildrequests.completeBuildRequests([brids.docs!], 0);
  const view = await startLiveView(a, { port: 0, feed, now: () => T0 });
  open.push({ coordinator, view });
  return { a, b, brids, view };
}

function get(url: string, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    request(url, { headers: { host } }, (res) => {
      res.resume();
      resolve(res.statusCode!);
    })
      .on('error', reject)
      .end();
  });
}

describe('startLiveView', () => {
  it('listens on 127.0.0.1 at an ephemeral port and serves a page that loads nothing from elsewhere', async () => {
    const { view } = await farm();
    expect(view.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(view.port).toBeGreaterThan(0);
    const response = await fetch(view.url);
    expect(response.headers.get('content-type')).toMatch(/text\/html/);
    const html = await response.text();
    expect(html).toContain('<script>');
    expect(html).not.toMatch(/(src|href)=["']?(https?:)?\/\//); // no CDN, no remote font
    expect(html).not.toMatch(/@import|url\(/);
  });

  it('answers the counts by state and builder, the masters and the change sources', async () => {
    const { view } = await farm();
    const summary = (await (await fetch(`${view.url}api/summary`)).json()) as Summary;
    expect(summary.requests).toEqual({
      total: 3,
      unclaimed: 1,
      claimed: 1,
      complete: 1,
      byBuilder: [
        { buildername: 'docs', unclaimed: 0, claimed: 0, complete: 1 },
        { buildername: 'linux', unclaimed: 0, claimed: 1, complete: 0 },
        { buildername: 'macos', unclaimed: 1, claimed: 0, complete: 0 },
      ],
    });
    expect(summary.masters.map((m) => [m.name, m.active, m.last_active])).toEqual([
      ['master-a', true, T0.toISOString()],
      ['master-b', true, T0.toISOString()],
    ]);
    expect(summary.changeSources).toEqual([{ id: 1, name: 'git-poller', masterid: 1, master: 'master-a' }]);
    expect(summary.at).toBe(T0.toISOString());
  });

  it('streams the backlog, then each transition and the counts after it', async () => {
    const { b, brids, view } = await farm();
    const stream = await openEventStream(`${view.url}events`);
    const backlog = await stream.next((e) => e.event === 'transitions');
    expect((backlog.data as Transition[]).map((t) => t.event)).toEqual([
      'new',
      'changesource.setMaster',
      'new',
      'new',
      'new',
      'request.claim',
      'request.claim',
      'request.complete',
    ]);
    await stream.next((e) => e.event === 'summary');

    await b.buildrequests.claimBuildRequests([brids.macos!]);
    const claim = await stream.next((e) => e.event === 'transition' && (e.data as Transition).actor === `br:${brids.macos}`);
    expect(claim.data).toMatchObject({ event: 'request.claim', from: 'unclaimed', to: 'claimed', masterid: b.masterid, label: 'macos' });
    const after = await stream.next((e) => e.event === 'summary' && (e.data as Summary).requests.claimed === 2);
    expect((after.data as Summary).requests).toMatchObject({ unclaimed: 0, claimed: 2, complete: 1 });
    stream.close();
  });

  it('refuses requests that name another host (DNS rebinding)', async () => {
    const { view } = await farm();
    expect(await get(`${view.url}api/summary`, 'evil.example')).toBe(403);
    expect(await get(`${view.url}api/summary`, `evil.example:${view.port}`)).toBe(403);
    expect(await get(`${view.url}api/summary`, `localhost:${view.port}`)).toBe(200);
  });

  it('close() ends open streams and stops listening', async () => {
    const { view } = await farm();
    const stream = await openEventStream(`${view.url}events`);
    await stream.next((e) => e.event === 'transitions');
    await view.close();
    await stream.ended;
    await expect(fetch(view.url)).rejects.toThrow();
  });
});
