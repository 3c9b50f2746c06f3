import { openCoordinator } from '../../src/api.ts';
import type { Coordinator } from '../../src/api.ts';
import { SharedMemoryStore } from '../../src/persistence/shared/memory.ts';
import type { Harness } from '../conformance/harness.ts';
import { runAllSuites } from './suites.ts';

// The shared store's commit path (versioned reads, checked at commit) on the in-memory stand-in.
const stores = new WeakMap<Coordinator, SharedMemoryStore>();

const harness: Harness = {
  name: 'shared in memory',
  capabilities: { permanence: true, durableSync: false },
  async open(options = {}) {
    const store = new SharedMemoryStore();
    const coordinator = await openCoordinator({ ...options, backend: store.connect() });
    stores.set(coordinator, store);
    return coordinator;
  },
  async reopen(coordinator, options = {}) {
    const store = stores.get(coordinator)!;
    await coordinator.close();
    const reopened = await openCoordinator({ ...options, backend: store.connect() });
    stores.set(reopened, store);
    return reopened;
  },
  // Each store.connect() is another coordinator's own connection, as another process's would be.
  async peer(coordinator, options = {}) {
    const store = stores.get(coordinator)!;
    const other = await openCoordinator({ ...options, backend: store.connect() });
    stores.set(other, store);
    return other;
  },
};

runAllSuites(harness);
