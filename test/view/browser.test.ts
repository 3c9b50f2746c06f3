// The live view in a real browser: Debian's chromium, headless, driven by
// playwright-core (.ci/run installs it). Without chromium the test fails under
// CI=true and is skipped elsewhere. Leaves test-artifacts/live-view.png.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import type { BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCoordinator } from '../../src/api.ts';
import type { Connector, Coordinator } from '../../src/api.ts';
import { createLiveFeed, startLiveView } from '../../src/view/index.ts';
import type { LiveView } from '../../src/view/index.ts';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));
const present = existsSync(CHROMIUM);
const inCI = process.env.CI === 'true';

describe.runIf(present || inCI)('the live view in chromium', () => {
  let browser: BrowserContext;
  let profile: string;
  beforeAll(async () => {
    if (!present) throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium), as .ci/run does`);
    profile = mkdtempSync(join(tmpdir(), 'buildcoord-chromium-'));
    // A fresh profile (--user-data-dir) each run; playwright passes it itself.
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1280, height: 900 },
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });
  afterAll(async () => {
    await browser?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  it('renders masters, requests, builders, change sources and transitions, and updates after a claim', async () => {
    let now = new Date('2024-05-01T12:00:00Z').getTime();
    const clock = () => new Date(now);
    const feed = createLiveFeed({ now: clock });
    const coordinator: Coordinator = await openCoordinator({ inspect: feed.inspect, now: clock });
    const [a, b, c] = [await coordinator.connect('master-a'), await coordinator.connect('master-b'), await coordinator.connect('master-c')];
    const cs = await a.changesources.findChangeSourceId('git-poller');
    await a.changesources.setChangeSourceMaster(cs, c.masterid);
    const brids: number[] = [];
    for (let push = 0; push < 6; push++) {
      now += 30_000;
      const sss = await a.sourcestampsets.addSourceStampSet();
      const [, ids] = await a.buildsets.addBuildset({ sourcestampsetid: sss, reason: `push ${push}`, properties: {}, builderNames: ['linux', 'macos', 'windows', 'docs'] });
      brids.push(...Object.values(ids));
    }
    const masters: Connector[] = [a, b, c];
    for (let i = 0; i < 14; i++) {
      now += 10_000;
      const db = masters[i % 3]!;
      await db.buildrequests.claimBuildRequests([brids[i]!]);
      if (i < 9) await db.buildrequests.completeBuildRequests([brids[i]!], 0);
    }
    await a.masters.setMasterState(c.masterid, false); // master-c's claims and change source are released
    now += 60_000;
    const view: LiveView = await startLiveView(a, { port: 0, feed, now: clock, title: 'buildcoord live view' });
    const page = await browser.newPage();
    const elsewhere: string[] = [];
    page.on('request', (r) => void (r.url().startsWith(view.url) || elsewhere.push(r.url())));
    try {
      await page.goto(view.url);
      const text = (testid: string) => page.getByTestId(testid);
      // 24 requests: 9 complete; of the claims on 9..13, master-c's (11) was released with it.
      await expect.poll(() => text('count-total').textContent()).toBe('24');
      expect(await text('count-complete').textContent()).toBe('9');
      expect(await text('count-claimed').textContent()).toBe('4');
      expect(await text('count-unclaimed').textContent()).toBe('11');
      expect(await page.locator('[data-testid=masters] tr').count()).toBe(3);
      expect(await page.locator('[data-testid=masters] tr[data-name=master-c]').getAttribute('data-active')).toBe('false');
      expect(await page.locator('[data-testid=builders] tr').count()).toBe(4);
      expect(await page.locator('[data-testid=changesources] tr[data-name=git-poller]').textContent()).toContain('none');
      const released = page.locator('[data-testid=feed] li[data-event="master.deactivated"]');
      expect(await released.count()).toBe(2); // its claim and its change source
      expect(await released.first().textContent()).toContain('master-c');
      expect(await page.getByTestId('status').getAttribute('data-state')).toBe('live');

      // A claim and a change-source takeover while the page watches.
      now += 10_000;
      const next = brids[20]!;
      await b.buildrequests.claimBuildRequests([next]);
      await b.changesources.setChangeSourceMaster(cs, b.masterid);
      await page.locator(`[data-testid=feed] li[data-actor="br:${next}"][data-event="request.claim"]`).waitFor();
      await expect.poll(() => text('count-claimed').textContent()).toBe('5');
      expect(await text('count-unclaimed').textContent()).toBe('10');
      await expect.poll(() => page.locator('[data-testid=changesources] tr[data-name=git-poller]').textContent()).toContain('master-b');

      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, 'live-view.png'), fullPage: true });
      expect(elsewhere).toEqual([]); // works offline: everything came from the view's own server
    } finally {
      await page.close();
      await view.close();
      await coordinator.close();
    }
  });
});
