import { openCoordinator } from '../../src/api.ts';
import type { Harness } from '../conformance/harness.ts';
import { runAllSuites } from './suites.ts';

const harness: Harness = {
  name: 'memory',
  capabilities: { permanence: false, durableSync: false },
  open: (options = {}) => openCoordinator(options),
  reopen: () => {
    throw new Error('the in-memory backend is not permanent');
  },
};

runAllSuites(harness);
