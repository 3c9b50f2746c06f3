// The command line on a PostgreSQL store shared with masters in other processes; a URL's password never shows.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openCoordinator } from '../../src/api.ts';
import type { Connector, Coordinator } from '../../src/api.ts';
import { verify } from '../../src/verify.ts';
import type { Summary, Transition } from '../../src/view/index.ts';
import { describePg, freshSchema } from '../support/postgres.ts';
import type { FreshSchema } from '../support/postgres.ts';
import { cli, ran, start, waitForOutput } from './run.ts';
import type { Ran } from './run.ts';

const PASSWORD = 'Pw-d0-not-show-9f3a';

/** The URL with a password for its user (the test server trusts every local connection, so any password works). */
function withPassword(url: string, password = PASSWORD): string {
  const match = /^(postgres(?:ql)?:\/\/)(?:([^:@/?]*)(?::[^@/?]*)?@)?(.*)$/i.exec(url);
  if (!match) throw new Error(`not a PostgreSQL URL: ${url}`);
  return `${match[1]}${match[2] || 'postgres'}:${encodeURIComponent(password)}@${match[3]}`;
}

/** The URL pointing at a port nobody listens on (a unix socket's `port=` parameter, or the host's port). */
function wrongPort(url: string): string {
  if (/[?&]port=\d+/.test(url)) return url.replace(/([?&]port=)\d+/, '$11');
  return url.replace(/^(postgres(?:ql)?:\/\/[^/?]*?)(:\d+)?([/?]|$)/i, '$1:1$3');
}

function expectMasked(what: string, ...outputs: string[]): void {
  for (const output of outputs) {
    expect(output, what).not.toContain(PASSWORD);
    expect(output, what).not.toContain(encodeURIComponent(PASSWORD));
  }
}

describePg('the command line on a PostgreSQL store', (server) => {
  let schema: FreshSchema;
  let url: string;
  let coordinator: Coordinator;
  let m1: Connector;
  let m2: Connector;
  const dropped: FreshSchema[] = [];

  beforeAll(async () => {
    schema = await freshSchema(server);
    dropped.push(schema);
    url = withPassword(schema.url);
    coordinator = await openCoordinator({ location: url });
    [m1, m2] = [await coordinator.connect('m1'), await coordinator.connect('m2')];
    const sss = await m1.sourcestampsets.addSourceStampSet();
    const [, brids] = await m1.buildsets.addBuildset({ sourcestampsetid: sss, reason: 'r', properties: {}, builderNames: ['linux', 'macos', 'docs', 'arm64'] });
    await m1.buildrequests.claimBuildRequests([brids.linux!]);
    await m2.buildrequests.claimBuildRequests([brids.macos!]);
    await m2.buildrequests.completeBuildRequests([brids.macos!], 0);
    const cs = await m1.changesources.findChangeSourceId('git-poller');
    await m1.changesources.setChangeSourceMaster(cs, m2.masterid);
  }, 60_000);

  afterAll(async () => {
    await coordinator?.close();
    for (const s of dropped) await s.drop();
  });

  it('stats and verify read the store while another process writes it, every count from one snapshot', async () => {
    // This process is the other: a master adding, claiming and completing requests as fast as it can.
    let writing = true;
    let written = 0;
    const writer = (async () => {
      while (writing) {
        const sss = await m1.sourcestampsets.addSourceStampSet();
        const [, brids] = await m1.buildsets.addBuildset({ sourcestampsetid: sss, reason: 'busy', properties: {}, builderNames: ['busy-a', 'busy-b'] });
        await m1.buildrequests.claimBuildRequests([brids['busy-a']!]);
        await m2.buildrequests.claimBuildRequests([brids['busy-b']!]);
        await m1.buildrequests.completeBuildRequests([brids['busy-a']!], 0);
        written++;
      }
    })();
    try {
      const runs: Ran[] = [];
      for (let i = 0; i < 3; i++) {
        const [stats, verified] = await Promise.all([cli(['stats', url, '--json']), cli(['verify', url])]);
        runs.push(stats, verified);
        expect(stats.stderr).toBe('');
        expect(stats.code).toBe(0);
        const json = JSON.parse(stats.stdout);
        const r = json.requests;
        expect(r.unclaimed + r.claimed + r.complete).toBe(r.total);
        // One snapshot: the builders' and masters' counts add up to the same requests.
        const builders = Object.values(json.byBuilder as Record<string, { unclaimed: number; claimed: number; complete: number }>);
        expect(builders.reduce((n, b) => n + b.unclaimed + b.claimed + b.complete, 0)).toBe(r.total);
        expect(json.byMaster.reduce((n: number, m: { claimed: number }) => n + m.claimed, 0)).toBe(r.claimed);
        expect(json.location).toContain('***');
        expect(verified.stderr).toBe('');
        expect(verified.code).toBe(0);
        expect(verified.stdout).toMatch(/: \d+ records, \d+ index entries, no problems$/m);
      }
      expect(written).toBeGreaterThan(0); // they did run while masters wrote
      expectMasked('stats and verify', ...runs.flatMap((r) => [r.stdout, r.stderr]));
    } finally {
      writing = false;
      await writer;
    }
    expect((await verify(url)).ok).toBe(true);
  }, 120_000);

  it('stats shows the store masked, and the counts by state, builder and master', async () => {
    const { code, stdout, stderr } = await cli(['stats', url]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^store: postgres(ql)?:\/\/[^:]*:\*\*\*@/m);
    expect(stdout).toMatch(/^docs\s+1\s+0\s+0$/m);
    expect(stdout).toMatch(/^git-poller\s+1\s+m2$/m);
    expectMasked('stats', stdout, stderr);
  });

  it('never shows the password: refusals, a server it cannot reach, a store that is not there, a bad schema name', async () => {
    const unreachable = wrongPort(url);
    expect(unreachable).not.toBe(url);
    const outputs: string[] = [];
    for (const command of ['stats', 'verify', 'serve']) {
      const down = await cli([command, unreachable]);
      outputs.push(down.stdout, down.stderr);
      expect([command, down.code]).toEqual([command, 3]);
      expect(down.stderr).toMatch(/cannot open the store at postgres(ql)?:\/\/[^:]*:\*\*\*@/);

      const missing = await cli([command, url.replace(/([?&]schema=)[^&]*/, '$1bc_no_such_schema')]);
      outputs.push(missing.stdout, missing.stderr);
      expect([command, missing.code]).toEqual([command, 3]);
      expect(missing.stderr).toContain('no store at');
      expect(missing.stderr).toContain('***');
    }
    const salvaged = await cli(['salvage', url]);
    outputs.push(salvaged.stdout, salvaged.stderr);
    expect(salvaged.code).toBe(3);
    expect(salvaged.stderr).toMatch(/salvage mends LevelDB stores only/);

    const badSchema = await cli(['stats', url.replace(/([?&]schema=)[^&]*/, '$1not-a-name')]);
    outputs.push(badSchema.stdout, badSchema.stderr);
    expect(badSchema.code).toBe(2);
    expect(badSchema.stderr).toContain('not a plain identifier');

    const demoDown = await cli(['demo', '--duration', '1', '--location', unreachable]);
    outputs.push(demoDown.stdout, demoDown.stderr);
    expect(demoDown.code).toBe(3);

    // A password given as a parameter is masked as well.
    const asParameter = `${schema.url}&password=${encodeURIComponent(PASSWORD)}`;
    const parameterStats = await cli(['stats', asParameter]);
    outputs.push(parameterStats.stdout, parameterStats.stderr);
    expect(parameterStats.code).toBe(0);
    expect(parameterStats.stdout).toContain('password=***');
    const parameterDown = await cli(['verify', wrongPort(asParameter)]);
    outputs.push(parameterDown.stdout, parameterDown.stderr);
    expect(parameterDown.code).toBe(3);

    expectMasked('errors', ...outputs);
  }, 120_000);

  it('serve shows the whole store, and the transitions another process makes, with the password masked', async () => {
    const child = start(['serve', url, '--port', '0']);
    const result = ran(child);
    try {
      const [line, viewUrl] = await waitForOutput(child, /live view of .*: (http:\/\/127\.0\.0\.1:\d+\/)/);
      expectMasked('serve', line);
      const page = await (await fetch(viewUrl!)).text();
      expectMasked('the page', page);
      expect(page).toContain('***');

      // Another process (this one) makes a request, claims it, and completes it.
      const sss = await m1.sourcestampsets.addSourceStampSet();
      const [, brids] = await m1.buildsets.addBuildset({ sourcestampsetid: sss, reason: 'watched', properties: {}, builderNames: ['watched'] });
      const brid = brids.watched!;
      await until(async () => (await transitions(viewUrl!)).some((t) => t.actor === `br:${brid}`));
      await m2.buildrequests.claimBuildRequests([brid]);
      await until(async () => (await transitions(viewUrl!)).some((t) => t.actor === `br:${brid}` && t.event === 'request.claim'));
      await m2.buildrequests.completeBuildRequests([brid], 0);
      await until(async () => (await transitions(viewUrl!)).some((t) => t.actor === `br:${brid}` && t.to === 'complete'));

      const seen = (await transitions(viewUrl!)).filter((t) => t.actor === `br:${brid}`);
      expect(seen.map((t) => `${t.from ?? '·'} -> ${t.to} (${t.event})`)).toEqual([
        '· -> unclaimed (new)',
        'unclaimed -> claimed (request.claim)',
        'claimed -> complete (request.complete)',
      ]);
      expect(seen.every((t) => t.source === 'store' && t.label === 'watched')).toBe(true);
      expect(seen[1]!.masterid).toBe(m2.masterid);

      const summary = (await (await fetch(`${viewUrl}api/summary`)).json()) as Summary;
      expect(summary.masters.map((m) => m.name)).toEqual(['m1', 'm2']);
      expect(summary.requests.byBuilder.find((b) => b.buildername === 'watched')).toEqual({ buildername: 'watched', unclaimed: 0, claimed: 0, complete: 1 });
      expectMasked('serve', JSON.stringify(summary));
    } finally {
      child.kill('SIGINT');
    }
    const { code, stdout, stderr } = await result;
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expectMasked('serve', stdout, stderr);
  }, 120_000);

  it('demo --location URL runs each master in a process of its own, the parent serving the whole store, and ends cleanly', async () => {
    const demoSchema = await freshSchema(server);
    dropped.push(demoSchema);
    const location = withPassword(demoSchema.url);
    const child = start(['demo', '--duration', '2', '--location', location]);
    const result = ran(child);
    const [, viewUrl] = await waitForOutput(child, /^live view: (http:\/\/127\.0\.0\.1:\d+\/)$/m, 60_000);
    // The parent hosts no master, yet its view shows every master's claims.
    const claimers = new Set<number>();
    await until(async () => {
      for (const t of await transitions(viewUrl!).catch(() => [])) if (t.event === 'request.claim' && t.masterid !== null) claimers.add(t.masterid);
      return claimers.size >= 2;
    }, 60_000);
    const { code, stdout, stderr } = await result;
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const pids = /each in a process of its own \(pids (\d+), (\d+), (\d+)\)/.exec(stdout);
    expect(pids).not.toBeNull();
    const children = pids!.slice(1).map(Number);
    expect(new Set([...children, child.pid])).toHaveProperty('size', 4);
    for (const pid of children) expect(alive(pid), `master process ${pid} has ended`).toBe(false);
    expect(stdout).toMatch(/master-c dies holding \d+ claim/);
    expect(stdout).toMatch(/claim\(s\) older than 120 s expired/);
    expect(stdout).toMatch(/master-c silent for over 300 s, marked inactive/);
    expect(stdout).toMatch(/takes over change source git-poller/);
    expect(stdout).toMatch(/[1-9]\d* taken over from master-c/);
    expect(stdout).toContain('requests won twice: 0');
    expectMasked('demo', stdout, stderr);

    const verified = await cli(['verify', location]);
    expect(verified.code).toBe(0);
    const stats = JSON.parse((await cli(['stats', location, '--json'])).stdout);
    expect(stats.requests.total).toBeGreaterThan(0);
    // The masters' processes connect at once, so their ids come in any order.
    const masters = stats.byMaster.map((m: { name: string; active: boolean }) => [m.name, m.active]).sort();
    expect(masters).toEqual([
      ['master-a', true],
      ['master-b', true],
      ['master-c', false],
    ]);
  }, 180_000);
});

async function transitions(viewUrl: string): Promise<Transition[]> {
  return (await (await fetch(`${viewUrl}api/transitions`)).json()) as Transition[];
}

async function until(check: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('not within the time');
    await new Promise((r) => setTimeout(r, 100));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
