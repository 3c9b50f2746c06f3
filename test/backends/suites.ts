import type { Harness, Suite } from '../conformance/harness.ts';

/** Runs every conformance suite in test/conformance against one backend. */
export function runAllSuites(harness: Harness): void {
  const modules = import.meta.glob<{ default: Suite }>('../conformance/*.suite.ts', { eager: true });
  for (const path of Object.keys(modules).sort()) modules[path]!.default(harness);
}
