import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { openCoordinator } from '../../src/api.ts';
import type { Coordinator } from '../../src/api.ts';
import type { Harness } from '../conformance/harness.ts';
import { runAllSuites } from './suites.ts';

const root = mkdtempSync(join(tmpdir(), 'buildcoord-conformance-'));
const locations = new WeakMap<Coordinator, string>();
let stores = 0;

const harness: Harness = {
  name: 'leveldb',
  capabilities: { permanence: true, durableSync: true },
  async open(options = {}) {
    const location = join(root, `store-${++stores}`);
    const coordinator = await openCoordinator({ ...options, location });
    locations.set(coordinator, location);
    return coordinator;
  },
  async reopen(coordinator, options = {}) {
    const location = locations.get(coordinator)!;
    await coordinator.close();
    const reopened = await openCoordinator({ ...options, location });
    locations.set(reopened, location);
    return reopened;
  },
};

afterAll(() => rmSync(root, { recursive: true, force: true }));

runAllSuites(harness);
