import { afterAll } from 'vitest';
import { openCoordinator } from '../../src/api.ts';
import type { Coordinator } from '../../src/api.ts';
import type { Harness } from '../conformance/harness.ts';
import { describePg, freshSchema } from '../support/postgres.ts';
import type { FreshSchema } from '../support/postgres.ts';
import { runAllSuites } from './suites.ts';

// Every conformance suite on the PostgreSQL store, each master on a
// coordinator (and connections) of its own where a suite has several.
// Suites expect an empty store whose ids start at 1 (missing ids such as 99
// or 9999 must stay missing), so every open gets a new schema: cheap, and its
// sequences are new too.
describePg('conformance on PostgreSQL', (server) => {
  const schemas: FreshSchema[] = [];
  const urls = new WeakMap<Coordinator, string>();
  const opened = (coordinator: Coordinator, url: string) => {
    urls.set(coordinator, url);
    return coordinator;
  };

  const harness: Harness = {
    name: 'postgresql',
    // Suites open with the default durability, 'sync': commits with synchronous_commit on (and the backend refuses fsync=off).
    capabilities: { permanence: true, durableSync: true },
    async open(options = {}) {
      const schema = await freshSchema(server);
      schemas.push(schema);
      return opened(await openCoordinator({ ...options, location: schema.url }), schema.url);
    },
    async reopen(coordinator, options = {}) {
      const url = urls.get(coordinator)!;
      await coordinator.close();
      return opened(await openCoordinator({ ...options, location: url }), url);
    },
    async peer(coordinator, options = {}) {
      const url = urls.get(coordinator)!;
      return opened(await openCoordinator({ ...options, location: url }), url);
    },
  };

  // Every coordinator is closed after its test, so nothing holds these schemas now.
  // A few drops at a time: each takes a connection of its own.
  afterAll(async () => {
    const drop = async () => {
      for (let schema = schemas.pop(); schema !== undefined; schema = schemas.pop()) await schema.drop();
    };
    await Promise.all(Array.from({ length: 4 }, drop));
  });

  runAllSuites(harness);
});
