/**
 * How many build requests per second can masters claim and complete through
 * buildcoord, and how does that compare with what they would otherwise use?
 * Runs the built package (dist/) against better-sqlite3, raw classic-level
 * writing the same batches, and buildcoord on its in-memory backend, in one
 * run, on the same data.
 *
 *   npm run bench                  # everything; the published figures (docs/bench)
 *   npm run bench -- --quick       # a smoke run, under a minute
 *   npm run bench -- --scenario claim --durability sync --concurrency 64 --profile
 *   npm run bench -- --scenario pg --store postgresql://user@host/db
 *                                  # the shared store against Buildbot's schema on PostgreSQL
 *   npm run bench -- --help
 *
 * A full run includes the pg scenario when a server is given (--store, or
 * BUILDCOORD_BENCH_PG) and says that it skipped it otherwise.
 *
 * Exits 1 if any request was won twice or the store disagrees with what the
 * claimers saw; speed never fails it.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { throughputChart } from './chart.ts';
import { Harness, Progress } from './harness.ts';
import { maskLocation } from '../src/persistence/postgres/location.ts';
import { isDefaultFullRun, parseOptions, PG_VARIABLE, plan, shownOptions, UsageError, USAGE } from './plan.ts';
import type { Options } from './plan.ts';
import { renderPg } from './pg/report.ts';
import { runPgScenario } from './pg/run.ts';
import type { PgScenarioOptions, PgScenarioResult } from './pg/run.ts';
import { goals } from './goals.ts';
import { document, machine, renderTable, summarize } from './report.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

function newest(path: string): number {
  const stat = statSync(path);
  return stat.isDirectory() ? Math.max(0, ...readdirSync(path).map((name) => newest(join(path, name)))) : stat.mtimeMs;
}

/** dist/ is what gets measured: say so if src/ has changed since it was built. */
function checkBuild(): void {
  let built: number;
  try {
    built = statSync(join(ROOT, 'dist', 'api.js')).mtimeMs;
  } catch {
    console.error('bench: dist/api.js is missing; run "npm run build" first (npm run bench does)');
    process.exit(2);
  }
  if (newest(join(ROOT, 'src')) > built) console.error('bench: warning: src/ is newer than dist/, which is what gets measured; "npm run bench" rebuilds first');
}

/**
 * A copy of dist/ for this run (inside the checkout, so its imports still find
 * node_modules): every sample runs the same build even if dist/ is rebuilt
 * meanwhile. Also what it was built from, for the JSON.
 */
function snapshotBuild() {
  const dir = join(ROOT, '.bench', `build-${process.pid}`);
  cpSync(join(ROOT, 'dist'), dir, { recursive: true });
  const git = (...args: string[]) => {
    try {
      return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trimEnd();
    } catch {
      return null;
    }
  };
  const changed = git('status', '--porcelain', '--', 'src');
  return {
    dir,
    api: pathToFileURL(join(dir, 'api.js')).href,
    info: {
      commit: git('rev-parse', 'HEAD'),
      uncommittedSrc:
        changed === null
          ? null
          : changed
              .split('\n')
              .filter(Boolean)
              .map((line) => line.slice(3)),
    },
  };
}

async function main(argv: string[]): Promise<number> {
  let options: Options;
  try {
    options = parseOptions(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`bench: ${error.message}\n\n${USAGE}`);
    return 2;
  }
  if (options.help) {
    console.log(USAGE);
    return 0;
  }
  checkBuild();
  const out = resolve(options.out ?? join(ROOT, isDefaultFullRun(argv) ? 'docs/bench' : '.bench'));
  const profileDir = options.profile ? join(out, 'profiles') : null;
  mkdirSync(profileDir ?? out, { recursive: true });

  const jobs = plan(options);
  const build = snapshotBuild();
  const atStart = machine();
  const started = performance.now();
  const progress = new Progress();
  const harness = new Harness({ masters: options.masters, builders: options.builders, samples: options.samples, profileDir, api: build.api }, progress);
  const cleanup = () => {
    progress.clear();
    harness.cleanup();
    rmSync(build.dir, { recursive: true, force: true });
  };
  const stop = () => {
    cleanup();
    process.exit(130);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  let samples;
  let pgResult: PgScenarioResult | null = null;
  const pgOptions: PgScenarioOptions | null = options.pg
    ? {
        url: options.store!,
        processes: options.pgProcesses,
        inFlight: options.pgInFlight,
        requests: options.pgRequests,
        warmup: options.pgWarmup,
        masters: options.masters,
        builders: options.builders,
        connections: options.pgConnections,
        samples: options.samples,
        api: build.api,
        execArgv: process.execArgv,
        profileDir,
        progress: (text) => progress.update(text),
      }
    : null;
  try {
    samples = await harness.run(jobs);
    if (pgOptions) pgResult = await runPgScenario(pgOptions);
  } finally {
    cleanup();
  }

  const rows = jobs.map((job, i) => summarize(job, samples[i]!));
  const met = jobs.length > 0 ? goals(rows, options) : [];
  if (jobs.length > 0) console.log(renderTable(rows, met, options));
  const pg = pgResult && pgOptions ? renderPg(pgResult, pgOptions, maskLocation(options.store!)) : null;
  if (pg) {
    console.log(`${jobs.length > 0 ? '\n' : ''}${pg.text}\n\ngoals (shared store):`);
    for (const g of pg.goals) console.log(`  ${g.met === null ? 'n/a ' : g.met ? 'MET ' : 'MISS'}  ${g.goal}: ${g.value}`);
  }
  if (options.pgSkipped) console.log(`\npg: SKIPPED the PostgreSQL scenario: no server given (--store URL, or ${PG_VARIABLE})`);

  const seconds = (performance.now() - started) / 1000;
  const json = join(out, 'latest.json');
  const svg = join(out, 'throughput.svg');
  const shownArgv = argv.map(maskLocation);
  const written = {
    ...document(rows, met, shownOptions(options), { argv: shownArgv, seconds, machineAtStart: atStart, build: build.info }),
    pg:
      pg && pgResult
        ? { settings: pgResult.settings, goals: pg.goals, comparisons: pg.compared, rows: pg.rows, samples: pgResult.samples.flat() }
        : { skipped: options.pgSkipped ? `no server given (--store URL, or ${PG_VARIABLE})` : 'not chosen' },
  };
  writeFileSync(json, `${JSON.stringify(written, null, 2)}\n`);
  const caption = `buildcoord claim benchmark, claim scenario: ${options.masters} masters, ${options.requests.toLocaleString('en')} requests per run; ${atStart.cpus} cpus, node ${atStart.node}`;
  // The chart is of the claim scenario's sweep; without it there is nothing to draw.
  const drawn = rows.some((r) => r.group === 'sweep' && r.scenario === 'claim');
  if (drawn) writeFileSync(svg, `${throughputChart(rows, caption)}\n`);
  const where = [
    `figures in ${relative(process.cwd(), json)}`,
    ...(drawn ? [`chart in ${relative(process.cwd(), svg)}`] : []),
    ...(profileDir ? [`CPU profiles in ${relative(process.cwd(), profileDir)}`] : []),
  ];
  console.log(`\n${Math.round(seconds)} s; ${where.join(', ')}`);

  const bad = [
    ...rows.filter((r) => r.doubleWins.length > 0 || r.problems.length > 0),
    ...(pg?.rows ?? []).filter((r) => r.doubleWins.length > 0 || r.problems.length > 0).map((r) => ({ ...r, key: `pg ${r.side} x${r.processes}` })),
  ];
  for (const r of bad) {
    console.error(`bench: ${r.key}: ${r.doubleWins.length} request(s) won twice${r.doubleWins.length > 0 ? ` (${r.doubleWins.slice(0, 10).join(', ')})` : ''}`);
    for (const p of r.problems) console.error(`  ${p}`);
  }
  return bad.length > 0 ? 1 : 0;
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  // A PostgreSQL URL may be in the message: never show its password.
  console.error(maskLocation(`bench: ${(error as Error)?.stack ?? String(error)}`));
  process.exitCode = 1;
}
