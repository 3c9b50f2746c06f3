/**
 * A commit whose first pipelined statements fail while the group's checks
 * are already in flight. Found by the PostgreSQL torture run (processes
 * dying of an unhandled rejection, 25P02, after a serialization failure of
 * the writer mark); forced here with a trigger so it happens every time.
 * In a child process: an unhandled rejection ends the process.
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describePg, freshSchema } from '../support/postgres.ts';
import type { FreshSchema } from '../support/postgres.ts';

const CHILD = join(dirname(fileURLToPath(import.meta.url)), 'markFailure.ts');

describePg('a server error on the writer mark of a commit', (server) => {
  let schema: FreshSchema;
  beforeAll(async () => {
    schema = await freshSchema(server);
  });
  afterAll(async () => {
    await schema?.drop();
  });

  // When the pipelined BEGIN or writer mark fails, `work`'s statements (already sent) fail too (25P02):
  // the call must end in StorageError, never in an unhandled rejection that kills the process.
  it('fails the call with StorageError; the process lives on', () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', CHILD, schema.url], { encoding: 'utf8', timeout: 60_000 });
    expect(run.stderr).not.toMatch(/25P02|triggerUncaughtException|Unhandled/);
    expect(run.status).toBe(0);
    const answered = (JSON.parse(run.stdout.trim().split('\n').pop() ?? '{}') as { answered?: string }).answered ?? '';
    expect(answered).toMatch(/^StorageError: .*mark refused \(test\)/);
  });
});
