/**
 * Before and after, in one process: the claim scenario on two checkouts'
 * source (an older commit's, in a git worktree, and this one's), taking
 * turns, so the noise of a shared machine falls on both alike and the same
 * JIT compiles both. For a change to the claim path, the fairest same-run
 * comparison there is; the full benchmark measures one build per process.
 *
 *   git worktree add /tmp/before <commit> && ln -s "$PWD/node_modules" /tmp/before/
 *   node --expose-gc --import tsx bench/compare.ts /tmp/before [--store memory|leveldb] [--in-flight 64] [--rounds 8]
 *
 * Prints the median claims/s and completes/s of each side, and the
 * process's CPU per call (all threads: LevelDB's and the collector's too).
 */
import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { runScenario } from './scenarios.ts';
import type { BuildcoordApi } from './targets.ts';
import { openBuildcoord } from './targets.ts';
import { seedThrough, tempRoot } from './workload.ts';

const [before, ...rest] = process.argv.slice(2);
const flag = (name: string, fallback: string) => {
  const i = rest.indexOf(name);
  return i < 0 ? fallback : rest[i + 1]!;
};
if (before === undefined) {
  console.error('usage: node --expose-gc --import tsx bench/compare.ts BEFORE_CHECKOUT [--store memory|leveldb] [--in-flight N] [--rounds N]');
  process.exit(2);
}
const store = flag('--store', 'leveldb');
const inFlight = Number(flag('--in-flight', '64'));
const rounds = Number(flag('--rounds', '8'));
const REQUESTS = 8000;
const WARMUP = 2000;
const MASTERS = 4;
const BUILDERS = 16;

const sides: [string, BuildcoordApi][] = [
  ['before', (await import(pathToFileURL(join(resolve(before), 'src/api.ts')).href)) as BuildcoordApi],
  ['after', (await import(new URL('../src/api.ts', import.meta.url).href)) as BuildcoordApi],
];

/** One run, as a bench sample does it: seed, warm up, collect, then the timed claim and complete phases. */
async function run(api: BuildcoordApi): Promise<{ claimed: number; completes: number; cpuPerCall: number }> {
  const dir = tempRoot();
  const backend = store === 'memory' ? api.memoryBackend() : api.levelDBBackend(join(dir, 'store'));
  const { dbs, target } = await openBuildcoord(api, backend, { durability: 'sync', masters: MASTERS });
  await seedThrough(dbs[0]!, REQUESTS, BUILDERS);
  const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
  await runScenario(target, 'claim', inFlight, { brids: range(1, WARMUP), masters: MASTERS, builders: BUILDERS });
  (globalThis as { gc?: () => void }).gc?.();
  const cpu = process.cpuUsage();
  const result = await runScenario(target, 'claim', inFlight, { brids: range(WARMUP + 1, REQUESTS), masters: MASTERS, builders: BUILDERS });
  const used = process.cpuUsage(cpu);
  await target.close();
  rmSync(dir, { recursive: true, force: true });
  return {
    claimed: result.wins.length / result.claimSeconds,
    completes: result.completeCalls / result.completeSeconds,
    cpuPerCall: (used.user + used.system) / (result.claimCalls + result.completeCalls),
  };
}

const results = new Map<string, Awaited<ReturnType<typeof run>>[]>(sides.map(([name]) => [name, []]));
for (let round = 0; round < rounds; round++) {
  for (const [name, api] of round % 2 === 0 ? sides : [...sides].reverse()) results.get(name)!.push(await run(api));
}
const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
console.log(`claim scenario, ${store}, sync, ${inFlight} in flight over ${MASTERS} masters, ${REQUESTS - WARMUP} timed requests; median of ${rounds} rounds:`);
for (const [name, runs] of results) {
  const claimed = median(runs.map((r) => r.claimed));
  const completes = median(runs.map((r) => r.completes));
  const cpu = median(runs.map((r) => r.cpuPerCall));
  console.log(
    `  ${name.padEnd(6)} ${Math.round(claimed).toLocaleString('en').padStart(7)} claims/s  ${Math.round(completes).toLocaleString('en').padStart(7)} completes/s  ${cpu.toFixed(1)} us CPU per call`,
  );
}
