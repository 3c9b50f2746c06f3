/**
 * The child process of the fault suites: it takes one case a line on stdin
 * (open a damaged store and check it, or verify it) and answers one JSON
 * line. LevelDB can abort the process on a damaged table (SIGABRT, which
 * JavaScript cannot catch); out here, an abort is a failed case, not a lost
 * test run.
 */
import { createInterface } from 'node:readline';
import { CoordinatorError, openCoordinator, verify } from '../../src/api.ts';
import type { Facts } from './farm.ts';
import { missingFacts } from './farm.ts';

export type ProbeCase = { op: 'open'; location: string; facts: Facts } | { op: 'verify'; location: string };

export type ProbeResult =
  | { outcome: 'opened'; missing: string[]; verifyProblems: string[] }
  | { outcome: 'refused'; name: string; code: string; typed: boolean; message: string }
  | { outcome: 'report'; ok: boolean; problems: string[] };

async function run(probe: ProbeCase): Promise<ProbeResult> {
  try {
    if (probe.op === 'verify') {
      const report = await verify(probe.location);
      return { outcome: 'report', ok: report.ok, problems: report.problems.map((p) => `${p.key}: ${p.problem}`) };
    }
    const coordinator = await openCoordinator({ location: probe.location });
    let missing: string[];
    try {
      missing = await missingFacts(await coordinator.connect('m1'), probe.facts);
    } finally {
      await coordinator.close();
    }
    const report = await verify(probe.location);
    return { outcome: 'opened', missing, verifyProblems: report.problems.map((p) => `${p.key}: ${p.problem}`) };
  } catch (error) {
    const e = error as Error & { code?: string };
    return { outcome: 'refused', name: e.name, code: String(e.code), typed: error instanceof CoordinatorError, message: e.message };
  }
}

for await (const line of createInterface({ input: process.stdin })) {
  process.stdout.write(`${JSON.stringify(await run(JSON.parse(line) as ProbeCase))}\n`);
}
