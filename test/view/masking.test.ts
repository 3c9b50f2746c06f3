// The live view never shows a store URL's password: not in its title, its answers, its problem events or any log line.
import { afterEach, expect, it, vi } from 'vitest';
import { openCoordinator, StorageError } from '../../src/api.ts';
import { startLiveView } from '../../src/view/index.ts';
import { openEventStream } from './sse.ts';

const SECRET = 'hunter2-not-shown';
const URL_WITH_PASSWORD = `postgresql://builder:${SECRET}@db.example.org:5432/buildbot?schema=farm`;

afterEach(() => vi.restoreAllMocks());

it('masks the password in the page title, a failed reading answered, the problem event, and logs nothing', async () => {
  const logged = vi.spyOn(console, 'error').mockImplementation(() => {});
  const coordinator = await openCoordinator();
  const db = await coordinator.connect('m');
  const view = await startLiveView(db, {
    port: 0,
    title: `buildcoord: ${URL_WITH_PASSWORD}`,
    reads: () => Promise.reject(new StorageError(`cannot reach ${URL_WITH_PASSWORD}: connection refused`)),
  });
  try {
    const page = await (await fetch(view.url)).text();
    expect(page).not.toContain(SECRET);
    expect(page).toContain('builder:***@db.example.org');

    const answer = await fetch(`${view.url}api/summary`);
    expect(answer.status).toBe(500);
    const body = await answer.text();
    expect(body).not.toContain(SECRET);
    expect(body).toContain('builder:***@');

    const stream = await openEventStream(`${view.url}events`);
    const problem = await stream.next((e) => e.event === 'problem');
    stream.close();
    expect(JSON.stringify(problem.data)).not.toContain(SECRET);
    expect((problem.data as { message: string }).message).toContain('cannot reach postgresql://builder:***@db.example.org');
    expect(logged).not.toHaveBeenCalled();
  } finally {
    await view.close();
    await coordinator.close();
  }
});
